"""Read-only aggregates the dashboard charts: ``GET /_admin/stats/latency`` (p50/p95/p99
per operation from the latency histogram) and ``GET /_admin/stats/injections`` (what
scenario rules injected per simulated day). See :mod:`simulator.admin.stats`."""
from __future__ import annotations

from flask import Blueprint, jsonify

from simulator.admin import current_simulator
from simulator.admin.stats import injections_view, latency_view

stats_admin = Blueprint("stats_admin", __name__, url_prefix="/_admin/stats")


@stats_admin.get("/latency")
def latency():
    """Requests, mean and p50/p95/p99 (ms) per service and operation, since start
    (the histogram's counters survive a reset, as Prometheus expects)."""
    return jsonify(operations=latency_view(current_simulator().metrics.rows()))


@stats_admin.get("/injections")
def injections():
    """Per simulated day: requests altered by scenario rules, by action, and the
    latency they injected (kept across resets, like the metrics)."""
    return jsonify(days=injections_view(current_simulator().metrics.rows()))
