"""Read-only aggregates the dashboard charts: ``GET /_admin/stats/latency`` (p50/p95/p99
per operation from the latency histogram) and ``GET /_admin/stats/injections`` (what
scenario rules injected per simulated day). See :mod:`simulator.admin.stats`.

Complete when they answer, like the journal: every request answered before counts,
whichever worker served it (503 when a worker does not write its counters in time).
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from simulator.admin import current_simulator
from simulator.admin.stats import injections_view, latency_view

stats_admin = Blueprint("stats_admin", __name__, url_prefix="/_admin/stats")


def _rows():
    sim = current_simulator()
    return sim.metrics.complete_rows(sim.settings.journal_read_timeout, sim.clock.sleep)


def _incomplete():
    return jsonify(error="a worker did not write its counters within "
                         "SIM_JOURNAL_READ_TIMEOUT seconds; the answer would have been "
                         "incomplete"), 503


@stats_admin.get("/latency")
def latency():
    """Requests, mean and p50/p95/p99 (ms) per service and operation, since start
    (the histogram's counters survive a reset, as Prometheus expects)."""
    rows = _rows()
    return _incomplete() if rows is None else jsonify(operations=latency_view(rows))


@stats_admin.get("/injections")
def injections():
    """Per simulated day: requests altered by scenario rules, by action, and the
    latency they injected (kept across resets, like the metrics)."""
    rows = _rows()
    return _incomplete() if rows is None else jsonify(days=injections_view(rows))
