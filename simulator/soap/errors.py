"""Typed errors of the SOAP layer and of the services.

    SimulatorError
    ├── ProtocolError     the request is not a usable SOAP 1.2 message
    │                     (kind: malformed | forbidden-dtd | too-large | media-type |
    │                      version-mismatch | not-soap | unknown-operation | method)
    └── ServiceFault      a fault from one service's catalogue (a spyne Fault, so spyne
                          passes it through ``process_request`` untouched)

Nothing else builds a fault: each service's dialect renders these two kinds, and any
other exception becomes the service's own technical-error fault.
"""
from __future__ import annotations

from spyne.model.fault import Fault


class SimulatorError(Exception):
    """Root of the simulator's typed errors."""


class ProtocolError(SimulatorError):
    """The HTTP/SOAP envelope itself is unusable; ``kind`` says how."""

    def __init__(self, kind: str, message: str, http_status: int = 500):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.http_status = http_status


class ServiceFault(Fault):
    """A catalogue fault: ``entry`` is the service's catalogue member, ``details``
    fill its message template."""

    def __init__(self, entry, **details):
        super().__init__(faultcode=getattr(entry, "code_value", "Receiver"),
                         faultstring=getattr(entry, "name", str(entry)))
        self.entry = entry
        self.details = details

    def __repr__(self) -> str:
        return f"ServiceFault({self.entry!r}, {self.details!r})"


MESSAGE_LIMIT = 1000
# Appended to the technical fault's text when the store found the disk full (issue 14).
STORAGE_FULL = (" (the simulator's storage is full: nothing of this request was stored; "
                "free space in its data directory)")


def capped(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """A fault message cut in the middle past ``limit`` characters: a fault quoting
    what the client sent must not grow with the request."""
    if len(message) <= limit:
        return message
    half = limit // 2
    return f"{message[:half]}...({len(message) - 2 * half} characters left out)..." \
           f"{message[-half:]}"
