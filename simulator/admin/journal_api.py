"""The journal under ``/_admin/journal``: queries, a count, one exchange's bodies.

Every read is complete when it returns (see :mod:`simulator.journal`): a test can ask
"did my software send X?" right after its call, without sleeping or retrying. A worker
that cannot write its queue in time makes the read answer 503 (the app's handler of
:class:`simulator.journal.JournalIncomplete`).
"""
from __future__ import annotations

import re

from flask import Blueprint, jsonify, request

from simulator.admin import current_simulator
from simulator.journal_query import JournalQuery
from simulator.settings import SettingsError, parse_datetime

journal_admin = Blueprint("journal_admin", __name__, url_prefix="/_admin")
FILTERS = ("service", "operation", "outcome", "software", "structure", "professional",
           "patient", "replica")
PARAMETERS = FILTERS + ("since", "limit", "bodies")
_REQUEST_ID = re.compile(r"^[0-9a-f]{16}$")
_OPEN_PARAMETERS = ("token",)  # the control plane's own (simulator.admin.access)


class QueryError(ValueError):
    """A query parameter that cannot be used; the message says why."""


@journal_admin.get("/journal")
def journal():
    """Newest-first exchanges matching the filters, and how many match in all."""
    sim = current_simulator()
    try:
        query = parse_query(request.args, sim.journal.size, sim.journal.pseudonymiser)
        entries, count = sim.journal.query(query)
    except QueryError as error:
        return jsonify(error=str(error)), 400
    except KeyError:
        return jsonify(error=f"since: no exchange with request id {query.since} in the "
                             "journal (it keeps the newest SIM_JOURNAL_SIZE entries)"), 400
    return jsonify(entries=entries, count=count, capacity=sim.journal.size)


@journal_admin.get("/journal/<request_id>")
def journal_entry(request_id: str):
    """One exchange, with its request and response bodies, by its request id (the
    ``X-Request-Id`` header of the answer)."""
    entry = current_simulator().journal.entry(request_id)
    if entry is None:
        return jsonify(error=f"no exchange with request id {request_id} in the journal "
                             "(it keeps the newest SIM_JOURNAL_SIZE entries)"), 404
    return jsonify(entry)


def parse_query(args, capacity: int, pseudonymised) -> JournalQuery:
    """A :class:`JournalQuery` from the query string; :class:`QueryError` on an unknown
    parameter (a misspelt filter must not silently match everything) or a bad value."""
    unknown = sorted(set(args) - set(PARAMETERS) - set(_OPEN_PARAMETERS))
    if unknown:
        raise QueryError(f"unknown parameter {unknown[0]!r}: the journal takes "
                         f"{', '.join(PARAMETERS)}")
    try:
        limit = int(args.get("limit", 100))
    except ValueError:
        raise QueryError("limit must be a whole number") from None
    if limit < 0:
        raise QueryError("limit must not be negative")
    if args.get("patient") and pseudonymised is not None:
        raise QueryError("patient: not available with SIM_JOURNAL_PSEUDONYMISE=true (the "
                         "journal keeps no identity data)")
    bodies = args.get("bodies", "1").lower()
    if bodies not in ("1", "true", "yes", "0", "false", "no"):
        raise QueryError("bodies must be true or false")
    return JournalQuery(**{name: args.get(name) or None for name in FILTERS},
                        since=_since(args.get("since")), limit=min(limit, capacity),
                        bodies=bodies in ("1", "true", "yes"))


def _since(text: str | None):
    """A request id, ``real:<ISO>`` (real time) or an ISO date-time (simulated time)."""
    if not text:
        return None
    if _REQUEST_ID.match(text):
        return text
    column, moment = ("real_at", text[5:]) if text.startswith("real:") else ("at", text)
    try:
        parsed = parse_datetime(moment)
    except SettingsError:
        raise QueryError(f"since: expected a request id (16 hex digits), an ISO-8601 "
                         f"simulated date-time, or real:<ISO-8601>, got {text!r}") from None
    # The journal's own formats, so that text order is time order.
    return column, parsed.isoformat(timespec="milliseconds" if column == "at"
                                    else "microseconds")
