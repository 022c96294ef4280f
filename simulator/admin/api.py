"""The control plane under ``/_admin``: health, clock, reset, journal, identities.

JSON in and out; errors are JSON objects with an ``error`` message a person can act on.
"""
from __future__ import annotations

import json
import logging
import uuid
from dataclasses import replace

from flask import Blueprint, Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from simulator import __version__
from simulator.admin import current_simulator
from simulator.admin.chaos_api import chaos_admin
from simulator.admin.dashboard import dashboard
from simulator.admin.dmp_api import dmp_admin
from simulator.admin.journal_api import journal_admin
from simulator.admin.openapi import openapi_document
from simulator.journal import JournalIncomplete
from simulator.admin.reports_api import reports_admin
from simulator.admin.stats_api import stats_admin
from simulator.admin.tenants_api import metrics_text, tenants_admin
from simulator.identities.insc import insc_of
from simulator.identities.loader import IdentityFileError, identity_from_mapping
from simulator.settings import SettingsError, parse_datetime
from simulator.soap.errors import capped
from simulator.store.codec import identity_to_dict

admin = Blueprint("admin", __name__, url_prefix="/_admin")
LOG = logging.getLogger(__name__)
ERROR_LIMIT = 1000  # characters of an error message: refused values are quoted, not echoed


def create_admin_app(simulator, tenants=None, tenant: str | None = None) -> Flask:
    """The Flask application serving the control plane of ``simulator``: the default
    tenant's (with ``tenants``, which it manages) or tenant ``tenant``'s."""
    app = Flask("simulator.admin")
    app.config["SIMULATOR"] = simulator
    app.config["TENANTS"] = tenants
    app.config["TENANT"] = tenant
    app.json.sort_keys = False
    app.register_blueprint(admin)
    app.register_blueprint(chaos_admin)
    app.register_blueprint(dmp_admin)
    app.register_blueprint(journal_admin)
    app.register_blueprint(reports_admin)
    app.register_blueprint(stats_admin)
    app.register_blueprint(dashboard)
    app.register_blueprint(tenants_admin)
    app.add_url_rule("/metrics", "metrics", lambda: (
        metrics_text(simulator, tenants, tenant), 200,
        {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}))
    app.register_error_handler(404, lambda e: (jsonify(error=f"Not found: {request.path}"), 404))
    app.register_error_handler(JournalIncomplete, lambda e: (jsonify(error=str(e)), 503))
    app.register_error_handler(405, lambda e: (jsonify(error=f"{request.method} is not "
                                                          f"allowed on {request.path}"), 405))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.after_request(_cap_error)
    return app


def _http_error(error: HTTPException):
    """Every other HTTP error (413, 400...) as JSON, not werkzeug's HTML page."""
    return jsonify(error=f"{error.name}: {error.description}"), error.code


def _unexpected_error(error: Exception):
    """An unforeseen failure: logged with an id, answered in JSON (never Flask's HTML 500)."""
    error_id = uuid.uuid4().hex[:16]
    LOG.error("control plane %s %s (error %s): %r", request.method, request.path, error_id,
              error, exc_info=(type(error), error, error.__traceback__))
    return jsonify(error=f"internal error {error_id} ({type(error).__name__}), logged by the "
                         "simulator"), 500


def _cap_error(response):
    """An error message quoting what the client sent is cut to ERROR_LIMIT characters,
    so that a refused value is never echoed whole (issue 14: 200 MB in, 200 MB out)."""
    if response.status_code >= 400 and response.is_json and \
            response.content_length and response.content_length > ERROR_LIMIT:
        payload = response.get_json(silent=True)
        if isinstance(payload, dict) and isinstance(payload.get("error"), str):
            payload["error"] = capped(payload["error"], ERROR_LIMIT)
            response.set_data(json.dumps(payload))
    return response


def _clock_view(sim) -> dict:
    return {"now": sim.clock.now().isoformat(timespec="milliseconds"),
            "frozen": sim.clock.is_frozen()}


def _identity_view(identity) -> dict:
    """An identity as the API shows it: the stored fields and its INS-C."""
    return {**identity_to_dict(identity), "insc": insc_of(identity)}


def _bad_request(message: str):
    return jsonify(error=message), 400


@admin.get("/health")
def health():
    """Liveness and a summary of what is served."""
    sim = current_simulator()
    return jsonify(status="ok", version=__version__, services=sorted(sim.endpoints),
                   identities=sim.store.count_identities(), clock=_clock_view(sim))


@admin.get("/clock")
def get_clock():
    """The simulated time."""
    return jsonify(_clock_view(current_simulator()))


@admin.put("/clock")
def put_clock():
    """Move the simulated clock: ``{"now": ISO-8601, "frozen": bool}`` (both optional)."""
    sim, body = current_simulator(), request.get_json(silent=True)
    if not isinstance(body, dict) or not set(body) <= {"now", "frozen"} or not body:
        return _bad_request('expected a JSON object with "now" (ISO-8601) and/or '
                            '"frozen" (true/false)')
    if "frozen" in body and not isinstance(body["frozen"], bool):
        return _bad_request('"frozen" must be true or false')
    try:
        now = parse_datetime(body["now"]) if body.get("now") is not None else None
    except (SettingsError, AttributeError):
        return _bad_request(f'"now" must be an ISO-8601 date or date-time, got {body["now"]!r}')
    sim.clock.set(now, body.get("frozen"))
    return jsonify(_clock_view(sim))


@admin.get("/replicas")
def list_replicas():
    """The simulator processes sharing this store, with their last heartbeat
    (docs/storage.md, "Replicas"); the one answering is ``self``."""
    sim = current_simulator()
    return jsonify(replica=sim.replica.id, replicas=sim.replica.view())


@admin.post("/reset")
def reset():
    """Initial identities, empty journal, clock back to the configured start."""
    sim = current_simulator()
    sim.reset()
    return jsonify(status="reset", identities=sim.store.count_identities(),
                   clock=_clock_view(sim))


@admin.get("/identities")
def list_identities():
    """Search the registry (names, matricules, INS-C):
    ``?q=TEXT&source=cnda|generated|vendor&limit=&offset=``."""
    sim = current_simulator()
    try:
        limit = min(int(request.args.get("limit", 50)), 500)
        offset = int(request.args.get("offset", 0))
    except ValueError:
        return _bad_request("limit and offset must be whole numbers")
    total, page = sim.store.search_identities(request.args.get("q", ""),
                                              request.args.get("source"), limit, offset)
    return jsonify(total=total, identities=[_identity_view(i) for i in page])


@admin.get("/identities/<key>")
def get_identity(key: str):
    """One identity by registry key."""
    identity = current_simulator().store.get_identity(key)
    if identity is None:
        return jsonify(error=f"No identity with key {key!r}"), 404
    return jsonify(_identity_view(identity))


def _identity_from_body():
    """(identity, None) from the JSON body (file fields), or (None, 400 answer)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None, _bad_request("expected a JSON object with birth_name, first_names, "
                                  "sex, birth_date, birth_place, nir (see the README)")
    try:
        return identity_from_mapping(body, "request body"), None
    except IdentityFileError as exc:
        return None, _bad_request(str(exc))


@admin.put("/identities/<key>")
def update_identity(key: str):
    """Replace a person (any source) with the fields of the body, as in ``POST``; the
    key and source stay. Lasts until the next reset, restarts included."""
    sim = current_simulator()
    current = sim.store.get_identity(key)
    if current is None:
        return jsonify(error=f"No identity with key {key!r}"), 404
    identity, refusal = _identity_from_body()
    if refusal is not None:
        return refusal
    identity = replace(identity, key=key, source=current.source)
    holders = sim.store.identities_by_matricule(identity.active.number, ("active",))
    if any(holder.key != key for holder in holders):
        return jsonify(error=f"Another identity holds INS {identity.active.ins} "
                             f"({holders[0].key})"), 409
    if not sim.store.update_identity(identity):  # deleted meanwhile
        return jsonify(error=f"No identity with key {key!r}"), 404
    return jsonify(_identity_view(identity))


@admin.delete("/identities/<key>")
def delete_identity(key: str):
    """Remove a person (any source) until the next reset, restarts included."""
    if not current_simulator().store.delete_identity(key):
        return jsonify(error=f"No identity with key {key!r}"), 404
    return "", 204


@admin.post("/identities")
def add_identity():
    """Add a person; the body uses the fields of the CSV/YAML identity files."""
    identity, refusal = _identity_from_body()
    if refusal is not None:
        return refusal
    try:
        current_simulator().store.add_identity(identity)
    except KeyError:
        return jsonify(error=f"An identity with INS {identity.active.ins} exists already"), 409
    return jsonify(_identity_view(identity)), 201


@admin.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of the control plane."""
    return jsonify(openapi_document())


@admin.get("/calendar")
def calendar():
    """The dated rules and which are in force at the simulated date."""
    sim = current_simulator()
    return jsonify(today=sim.clock.today().isoformat(),
                   rules=sim.calendar.as_list(sim.clock.today()))
