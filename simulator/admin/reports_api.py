"""The timeline's reports and the v1/TD0.0 grace under ``/_admin``.

- ``GET /_admin/reports/readiness?date=YYYY-MM-DD``: migration readiness per calling
  software and structure, and what breaks on the date (default: the simulated today).
- ``GET /_admin/reports/feeding``: documents fed per structure and month, qualified vs
  non-qualified vs INS-C (the SUN-ES indicator).
- ``GET|POST /_admin/dmp/grace``: who keeps API v1 / TD0.0 during the grace.

INSi and DMP calls (and DMP feeds) are counted in batches per process; every reader here
writes every worker's queue first (the flush barrier under ``insi-dmp-sim serve``), so the
reports see every call answered before they were asked for.
"""
from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, jsonify, request

from simulator.admin import current_simulator
from simulator.services.dmp.timeline import API_V1, TD00
from simulator.timeline_reports import (
    REGIONAL_LIST_SOURCE, REGIONAL_MIGRATION_LIST, feeding, feeding_totals, readiness)

reports_admin = Blueprint("reports_admin", __name__, url_prefix="/_admin")
GRACE_APIS = (API_V1, TD00)
SUN_ES = ("SUN-ES counts only documents sent with a qualified INS: qualified_share is "
          "the indicator a structure can check (regional Q&A of 2022-12-08)")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def flush_usage(sim) -> None:
    """Write every worker's queued usage rows, so that reports see every call."""
    for recorder in sim.usage_recorders():
        recorder.flush(sim.settings.journal_read_timeout, sim.clock.sleep)


def parse_day(text: str | None, default: date) -> date:
    """``YYYY-MM-DD`` (or ``default`` when absent); ValueError with a message."""
    if text is None or not text.strip():
        return default
    if not _DAY.match(text.strip()):
        raise ValueError(f"date must be YYYY-MM-DD, got {text!r}")
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"date {text!r} is not a calendar date") from None


def readiness_view(sim, on: date) -> dict:
    """The readiness report on ``on`` with the rules it applies (JSON-ready)."""
    flush_usage(sim)
    timeline, calendar = sim.store.timeline, sim.calendar
    names = (calendar.legacy_rule(on, "v1").name, calendar.legacy_rule(on, "td00").name,
             "dmp-feeding-requires-qualified-ins", calendar.td15_rule(on).name)
    return {
        "date": on.isoformat(), "today": sim.clock.today().isoformat(),
        "stage": calendar.legacy_stage(on),
        "rules": [{**calendar.rule(n).as_dict(), "in_force": calendar.rule(n).in_force(on)}
                  for n in names],
        "regional_list": {"entries": list(REGIONAL_MIGRATION_LIST),
                          "source": REGIONAL_LIST_SOURCE},
        "software": readiness(timeline.usage(), timeline.registrations(), timeline.feeds(),
                              calendar, sim.settings, on)}


def feeding_view(sim) -> dict:
    """The feeding report (JSON-ready), every worker's queued feeds written first."""
    flush_usage(sim)
    months = feeding(sim.store.timeline.feeds())
    return {"indicator": SUN_ES, "months": months, "structures": feeding_totals(months)}


@reports_admin.get("/reports/readiness")
def get_readiness():
    """Migration readiness: ``?date=YYYY-MM-DD`` (default: the simulated today)."""
    sim = current_simulator()
    try:
        on = parse_day(request.args.get("date"), sim.clock.today())
    except ValueError as error:
        return jsonify(error=str(error)), 400
    return jsonify(readiness_view(sim, on))


@reports_admin.get("/reports/feeding")
def get_feeding():
    """Documents fed per structure and month, by INS kind."""
    return jsonify(feeding_view(current_simulator()))


@reports_admin.get("/dmp/grace")
def get_grace():
    """Registrations for the grace (earned by a flow in the flow month, or given by an
    admin) and the software named in ``SIM_DMP_GRACE_SOFTWARE``."""
    sim = current_simulator()
    first, last = sim.calendar.flow_month()
    return jsonify(stage=sim.calendar.legacy_stage(sim.clock.today()),
                   flow_month={"from": first.isoformat(), "to": last.isoformat()},
                   registrations=sim.store.timeline.registrations(),
                   settings=list(sim.settings.dmp_grace_software))


@reports_admin.post("/dmp/grace")
def post_grace():
    """Register ``{"software": "NAME-VERSION"}`` or ``{"structure": "ID"}`` for the grace
    of ``"api"`` (``dmp-v1`` or ``td00``; both when absent)."""
    sim = current_simulator()
    try:
        kind, name, apis = grace_request(request.get_json(silent=True))
    except ValueError as error:
        return jsonify(error=str(error)), 400
    timeline = sim.store.timeline
    for api in apis:
        timeline.register_grace(kind, name, api, "admin", sim.clock.now())
    mine = [r for r in timeline.registrations() if r["kind"] == kind and r["name"] == name]
    return jsonify(registered=mine), 201


def grace_request(body) -> tuple[str, str, tuple[str, ...]]:
    """(kind, name, apis) of a grace registration body; ValueError says what is wrong."""
    usage = ('expected {"software": "NAME-VERSION"} or {"structure": "ID"}, with '
             f'optionally "api": {" or ".join(repr(a) for a in GRACE_APIS)} (default both)')
    if not isinstance(body, dict):
        raise ValueError(usage)
    unknown = sorted(set(body) - {"software", "structure", "api"})
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; {usage}")
    kinds = [k for k in ("software", "structure") if k in body]
    if len(kinds) != 1:
        raise ValueError(f"give exactly one of software and structure; {usage}")
    kind, name = kinds[0], body[kinds[0]]
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{kind} must be a non-empty string; {usage}")
    name = name.strip()
    if kind == "software":
        product, _, version = name.rpartition("-")
        if not product or not version:
            raise ValueError(f"software must be LPS_Nom-LPS_Version as the VIHF gives "
                             f"them (e.g. MON-DPI-4.2), got {name!r}")
    api = body.get("api")
    if api is not None and api not in GRACE_APIS:
        raise ValueError(f"api must be {' or '.join(GRACE_APIS)}, got {api!r}")
    return kind, name, (api,) if api else GRACE_APIS
