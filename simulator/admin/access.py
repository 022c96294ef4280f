"""Who may use the control plane (``/_admin``, ``/metrics``).

With ``SIM_ADMIN_TOKEN`` set, every control-plane request must carry it
(``Authorization: Bearer <token>``, or ``?token=`` for a browser opening the
dashboard). Without a token, only loopback clients get in, so ``serve --host 0.0.0.0``
never lets someone on the network move the clock or wipe the data; containers whose
clients are not on loopback set a token. ``GET /_admin/health`` stays open for
orchestrators' probes.
"""
from __future__ import annotations

import hmac
import ipaddress

OPEN_PATHS = ("/_admin/health",)


def is_loopback(address: str | None) -> bool:
    """Whether a client address is the local machine."""
    try:
        return ipaddress.ip_address((address or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def refusal(environ, token: str | None) -> tuple[int, str] | None:
    """(HTTP status, message) when the request may not use the control plane, else None."""
    if environ.get("PATH_INFO", "") in OPEN_PATHS and environ.get("REQUEST_METHOD") == "GET":
        return None
    if token:
        given = _bearer(environ.get("HTTP_AUTHORIZATION", "")) or _query_token(environ)
        if given is not None and hmac.compare_digest(given.encode(), token.encode()):
            return None
        return 401, ("the control plane needs the admin token: send the header "
                     "'Authorization: Bearer <SIM_ADMIN_TOKEN>'")
    address = environ.get("REMOTE_ADDR")
    if address is None or is_loopback(address):  # None: an in-process WSGI call, no network
        return None
    return 403, ("the control plane answers loopback clients only; to reach it from "
                 f"{environ.get('REMOTE_ADDR')}, start the simulator with SIM_ADMIN_TOKEN "
                 "and send 'Authorization: Bearer <token>'")


def _bearer(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _query_token(environ) -> str | None:
    from urllib.parse import parse_qs
    values = parse_qs(environ.get("QUERY_STRING", "")).get("token")
    return values[0] if values else None
