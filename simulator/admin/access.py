"""Who may use the control plane (``/_admin``, ``/metrics``).

With ``SIM_ADMIN_TOKEN`` set, every control-plane request must carry it
(``Authorization: Bearer <token>``, or ``?token=`` for a browser opening the
dashboard). Without a token, only loopback clients get in, so ``serve --host 0.0.0.0``
never lets someone on the network move the clock or wipe the data; containers whose
clients are not on loopback set a token. ``GET /_admin/health`` stays open for
orchestrators' probes.

Without a token, loopback alone does not stop a web page open in a browser on the same
machine (issue 14): a form POST reaches ``127.0.0.1``, and a page whose DNS name was
re-pointed at 127.0.0.1 (DNS rebinding) can even read the answers. So, unless a token
is set: the ``Host`` header must be a loopback name, ``SIM_HOST`` or one of
``SIM_ADMIN_HOSTS`` (a rebound page sends its own name); a state-changing call must not
come from another origin (``Origin`` header) nor carry a body type an HTML form or a
CORS "simple request" can send without asking first (form data, ``text/plain``), since
those are the only ones a foreign page can make a browser send (Fetch standard, CORS
safelisted request headers).
"""
from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import urlsplit

OPEN_PATHS = ("/_admin/health",)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# The body types a browser sends cross-site without a CORS preflight (Fetch standard,
# "CORS-safelisted request-header", Content-Type).
BROWSER_SIMPLE_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data",
                        "text/plain")


def is_loopback(address: str | None) -> bool:
    """Whether a client address is the local machine."""
    try:
        return ipaddress.ip_address((address or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def refusal(environ, token: str | None, hosts: tuple[str, ...] = ()
            ) -> tuple[int, str] | None:
    """(HTTP status, message) when the request may not use the control plane, else None.
    ``hosts``: the Host names accepted without a token besides loopback names."""
    if environ.get("PATH_INFO", "") in OPEN_PATHS and environ.get("REQUEST_METHOD") == "GET":
        return None
    if token:
        given = _bearer(environ.get("HTTP_AUTHORIZATION", "")) or _query_token(environ)
        if given is not None and hmac.compare_digest(given.encode(), token.encode()):
            return None
        return 401, ("the control plane needs the admin token: send the header "
                     "'Authorization: Bearer <SIM_ADMIN_TOKEN>'")
    address = environ.get("REMOTE_ADDR")
    if address is None:  # an in-process WSGI call, no network
        return None
    if is_loopback(address):
        return browser_refusal(environ, hosts)
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


def browser_refusal(environ, hosts: tuple[str, ...]) -> tuple[int, str] | None:
    """(status, message) when a tokenless loopback request may come from a web page:
    a foreign Host (DNS rebinding), a foreign Origin or a form/text body on a
    state-changing call (cross-site request forgery); else None."""
    host = environ.get("HTTP_HOST")
    if host is not None and not is_local_name(_host_name(host), hosts):
        return 403, (f"the control plane does not answer for the host name "
                     f"{_short(_host_name(host))} without a token (DNS rebinding guard); use "
                     "localhost or 127.0.0.1, add the name to SIM_ADMIN_HOSTS, or set "
                     "SIM_ADMIN_TOKEN")
    if environ.get("REQUEST_METHOD", "GET").upper() in SAFE_METHODS:
        return None
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and not is_local_name(urlsplit(origin).hostname or "", hosts):
        return 403, (f"the control plane refuses changes sent from the web page "
                     f"{_short(origin)} (cross-site request guard); call it from a script "
                     "or set SIM_ADMIN_TOKEN")
    content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type in BROWSER_SIMPLE_TYPES:
        return 415, (f"the control plane does not take {content_type} bodies without a "
                     "token: a web page can make a browser send them (cross-site request "
                     "guard); send application/json (scenarios: application/yaml)")
    return None


def is_local_name(name: str, hosts: tuple[str, ...]) -> bool:
    """Whether a host name (no port) is a loopback name or address, or one of ``hosts``."""
    name = name.strip().rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761 §6.3
        return True
    if name in (h.lower() for h in hosts):
        return True
    return is_loopback(name.strip("[]"))


def _host_name(host: str) -> str:
    """The name part of a Host header value (``[::1]:8080`` -> ``[::1]``)."""
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _short(value: str, limit: int = 80) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")
