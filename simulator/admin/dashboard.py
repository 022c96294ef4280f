"""The HTML dashboard at ``/_admin/``: controls (clock, scenario, reset), the journal
with filters and each exchange's bodies, latency and injection charts, the replicas
sharing the store, then the reports (calendar, migration readiness on
``?date=YYYY-MM-DD``, feeding).

Rendered once by the server (Jinja, autoescaped); a small hand-written script then
calls the JSON control plane with ``fetch()`` every few seconds, asking the journal only
for what came after its newest row, and draws the charts as SVG. No external script,
no library: the page works offline, and a strict Content-Security-Policy (scripts by
nonce only, requests to this server only) keeps hostile journal bodies inert on top of
the script's own escaping (it only ever sets ``textContent``).
"""
from __future__ import annotations

import secrets

from flask import Blueprint, current_app, make_response, render_template, request

from simulator import __version__
from simulator.admin import current_simulator
from simulator.admin.chaos_api import scenario_view
from simulator.admin.feeding_chart import feeding_charts
from simulator.admin.journal_api import FILTERS
from simulator.admin.reports_api import feeding_view, parse_day, readiness_view
from simulator.chaos.loader import shipped_scenarios

dashboard = Blueprint("dashboard", __name__, url_prefix="/_admin",
                      template_folder="templates")
SLOW_MS = 1000  # journal rows slower than this are highlighted
JOURNAL_ROWS = 50  # rows rendered with the page (the script asks for newer ones)


@dashboard.get("/")
def page():
    """The dashboard page."""
    sim = current_simulator()
    today = sim.clock.today()
    active = sim.chaos.active()
    scenario = None
    if active is not None:
        activation, parsed = active
        scenario = scenario_view(parsed, sim.store.rule_counters(activation))
    entries = sim.journal.entries(JOURNAL_ROWS, with_bodies=False)
    for entry in entries:
        entry["kind"] = ("fault" if entry["status"] >= 400 else
                         "chaos" if entry["chaos"] else
                         "slow" if entry["duration_ms"] > SLOW_MS else "ok")
    try:
        on, date_error = parse_day(request.args.get("date"), today), None
    except ValueError as error:
        on, date_error = today, str(error)
    fed = feeding_view(sim)
    nonce = secrets.token_urlsafe(16)
    response = make_response(render_template(
        "dashboard.html", version=__version__, now=sim.clock.now(),
        api_root=request.script_root + "/_admin", tenant=current_app.config.get("TENANT"),
        frozen=sim.clock.is_frozen(), rules=sim.calendar.as_list(today),
        scenario=scenario, shipped=sorted(shipped_scenarios()), entries=entries,
        filters=FILTERS, services=sorted(sim.endpoints),
        identities=sim.store.count_identities(), slow_ms=SLOW_MS,
        readiness=readiness_view(sim, on), date_error=date_error,
        feeding=fed, charts=feeding_charts(fed["months"]), nonce=nonce,
        journal_rows=JOURNAL_ROWS, replica=sim.replica.id, replicas=sim.replica.view()))
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'")
    return response
