"""The DMP's SOAP faults: what fails before a transaction's own error carrier applies.

Business errors travel in-band (HL7 acknowledgements, XDS ``RegistryResponse``, the
``status`` of DMP-specific answers; DMP brief §6.1). What cannot be answered that way
(an unusable envelope, missing WS-Addressing headers, a VIHF that fails its checks,
an unexpected server error) is a SOAP 1.2 Fault on HTTP 500, the path DRIMbox reads
(brief §1.2). The subcodes are the standard ones of WS-Addressing 1.0 (SOAP binding §6)
and WS-Security 1.1 (§12); the real DMP's own subcodes are not public.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from simulator.soap.namespaces import WSA, WSSE


@dataclass(frozen=True)
class FaultSpec:
    """Code (VersionMismatch | Sender | Receiver), subcode QName, HTTP status and message
    template."""

    code: str
    subcode: tuple[str, str] | None  # (namespace, local name)
    http_status: int
    message: str


class DmpFault(Enum):
    """Every SOAP fault a DMP endpoint answers."""

    VERSION_MISMATCH = FaultSpec("VersionMismatch", None, 500, "{detail}")  # SOAP 1.2 §5.4.6
    INVALID_REQUEST = FaultSpec("Sender", None, 500,
                                "The request is not a usable DMP message: {detail}")
    ADDRESSING_HEADER_REQUIRED = FaultSpec(
        "Sender", (WSA, "MessageAddressingHeaderRequired"), 500,
        "A required WS-Addressing header is missing: {detail}")
    INVALID_ADDRESSING_HEADER = FaultSpec(
        "Sender", (WSA, "InvalidAddressingHeader"), 500,
        "A WS-Addressing header is invalid: {detail}")
    ACTION_MISMATCH = FaultSpec("Sender", (WSA, "ActionMismatch"), 500,
                                "wsa:Action does not match the body: {detail}")
    ACTION_NOT_SUPPORTED = FaultSpec("Sender", (WSA, "ActionNotSupported"), 500,
                                     "This DMP service does not offer {detail}")
    INVALID_SECURITY = FaultSpec("Sender", (WSSE, "InvalidSecurity"), 500,
                                 "The VIHF (wsse:Security) is refused: {detail}")
    # WS-Security 1.1 (SOAP Message Security §12): "the signature or decryption was
    # invalid", and an algorithm the receiver does not support.
    FAILED_CHECK = FaultSpec("Sender", (WSSE, "FailedCheck"), 500,
                             "The VIHF signature is invalid: {detail}")
    UNSUPPORTED_ALGORITHM = FaultSpec("Sender", (WSSE, "UnsupportedAlgorithm"), 500,
                                      "The VIHF signature uses an unsupported algorithm: "
                                      "{detail}")
    FAILED_AUTHENTICATION = FaultSpec("Sender", (WSSE, "FailedAuthentication"), 500,
                                      "Authentication failed: {detail}")
    API_CLOSED = FaultSpec("Sender", None, 500,
                           "This DMP interface is closed to this software: {detail}")
    SERVICE_UNAVAILABLE = FaultSpec("Receiver", None, 503,
                                    "The DMP service is temporarily unavailable{detail}")
    TECHNICAL_ERROR = FaultSpec("Receiver", None, 500,
                                "Technical error of the DMP platform{detail}")

    @property
    def spec(self) -> FaultSpec:
        """The fault's wire shape."""
        return self.value

    def text(self, detail: str = "") -> str:
        """The fault reason with its detail filled in."""
        return self.spec.message.format(detail=detail)


# Scenario files name them in lower case, like the INSi faults (e.g. service_unavailable).
FAULT_NAMES = tuple(member.name.lower() for member in DmpFault)
