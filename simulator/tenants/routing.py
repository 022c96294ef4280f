"""``/t/<tenant>/...``: a request handed to its tenant's own app, with the prefix moved
from ``PATH_INFO`` to ``SCRIPT_NAME`` so that every absolute URL the tenant writes (WSDL
addresses, the dashboard's links) keeps it.

Refusals (docs/tenants.md, "Refusals"):
- an invalid name, or a path the simulator does not serve: 404 JSON, nothing created;
- a control-plane path: the root's access checks first (admin token, loopback), so that
  no client that may not use the control plane creates a tenant through it; then JSON
  errors (404 no such tenant, 409 too many tenants);
- a service path of a tenant that cannot be created (too many tenants, or
  SIM_TENANT_AUTO_CREATE off): the service's own technical-error fault, which SOAP
  clients handle, with the reason in the ``X-Simulator-Error`` header and the log.
"""
from __future__ import annotations

import json
import logging

from simulator.soap.reply import status_line
from simulator.ports.tenants import TenantLimit
from simulator.tenants.manager import TenantMissing
from simulator.tenants.names import PREFIX, TenantNameError, check_name, split_tenant

LOG = logging.getLogger(__name__)


def route_to_tenant(root, environ, start_response):
    """Serve ``environ`` (a ``/t/...`` path) with its tenant's app, created on first use;
    ``root`` is the default tenant's :class:`simulator.app.SimulatorApp`."""
    from simulator.app import is_control_plane  # app imports this module

    path = environ.get("PATH_INFO", "")
    written, rest = split_tenant(path)
    try:
        name = check_name(written)
    except TenantNameError as error:
        return _json(start_response, 404, {"error": f"No service at {_shown(path)}: {error}"})
    endpoint = None
    if rest == "/":  # nothing is served there: no tenant made for it
        return _json(start_response, 404, {"error": f"No service at {_shown(path)}"})
    if is_control_plane(rest):
        refused = root.refusal(environ)
        if refused is not None:
            return _json(start_response, refused[0], {"error": refused[1]})
    else:
        endpoint = root.simulator.endpoints.get(rest.rstrip("/") or "/")
        if endpoint is None:
            return _json(start_response, 404, {
                "error": f"No service at {_shown(path)}",
                "services": sorted(PREFIX + name + p for p in root.simulator.endpoints)})
    try:
        app = root.tenants.app(name)
    except (TenantMissing, TenantLimit, FileNotFoundError) as error:
        status = 404 if isinstance(error, TenantMissing) else 409
        if endpoint is None:
            return _json(start_response, status, {"error": str(error)})
        LOG.warning("tenant %s refused on %s: %s", name, rest, error)
        reply = endpoint.binding.render_error(RuntimeError(str(error)), None)
        start_response(status_line(reply.status), [
            ("Content-Type", reply.content_type), ("Content-Length", str(len(reply.body))),
            ("X-Simulator-Error", str(error))])
        return [reply.body]
    environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + PREFIX + name
    environ["PATH_INFO"] = rest
    return app(environ, start_response)


def _shown(path: str, limit: int = 200) -> str:
    return path if len(path) <= limit else path[:limit] + "…"


def _json(start_response, status: int, payload: dict):
    body = json.dumps(payload).encode()
    start_response(status_line(status), [("Content-Type", "application/json"),
                                         ("Content-Length", str(len(body)))])
    return [body]
