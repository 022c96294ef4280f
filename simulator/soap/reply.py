"""What goes back on the wire, and HTTP status lines."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SOAP12_CONTENT_TYPE = "application/soap+xml; charset=utf-8"

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large",
            415: "Unsupported Media Type", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}


@dataclass
class Reply:
    """An answer: status, body, content type, and a short label for the journal."""

    status: int
    body: bytes
    content_type: str = SOAP12_CONTENT_TYPE
    outcome: str = "ok"  # e.g. "CR 00" or "fault siram_40/insi_102"
    headers: tuple = ()  # further (name, value) HTTP headers
    rule: str | None = None  # the regulatory calendar rule that refused the request
    # The simulated instant the answer was made at, when the binding read the clock:
    # the journal and the metrics take it rather than read the clock again.
    at: datetime | None = None


def status_line(status: int) -> str:
    """``"503 Service Unavailable"``."""
    return f"{status} {_REASONS.get(status, 'Status')}"
