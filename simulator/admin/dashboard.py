"""The HTML dashboard at ``/_admin/``: simulated date, calendar, scenario, migration
readiness (``?date=YYYY-MM-DD`` chooses the date "what breaks" is asked for), feeding
report and chart, journal.

Server-rendered (Jinja, autoescaped), no build step, refreshed by the browser every
few seconds.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request

from simulator import __version__
from simulator.admin import current_simulator
from simulator.admin.chaos_api import scenario_view
from simulator.admin.feeding_chart import feeding_charts
from simulator.admin.reports_api import feeding_view, parse_day, readiness_view

dashboard = Blueprint("dashboard", __name__, url_prefix="/_admin",
                      template_folder="templates")
SLOW_MS = 1000  # journal rows slower than this are highlighted


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
    entries = sim.journal.entries(50, with_bodies=False)
    for entry in entries:
        entry["kind"] = ("fault" if entry["status"] >= 400 else
                         "chaos" if entry["chaos"] else
                         "slow" if entry["duration_ms"] > SLOW_MS else "ok")
    try:
        on, date_error = parse_day(request.args.get("date"), today), None
    except ValueError as error:
        on, date_error = today, str(error)
    fed = feeding_view(sim)
    return render_template(
        "dashboard.html", version=__version__, now=sim.clock.now(),
        frozen=sim.clock.is_frozen(), rules=sim.calendar.as_list(today),
        scenario=scenario, entries=entries, services=sorted(sim.endpoints),
        identities=sim.store.count_identities(), slow_ms=SLOW_MS,
        readiness=readiness_view(sim, on), date_error=date_error,
        feeding=fed, charts=feeding_charts(fed["months"]))
