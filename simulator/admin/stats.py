"""What the dashboard charts, computed from the stored metrics: latency quantiles per
operation, and what scenario rules injected per simulated day.

Quantiles are estimated from the cumulative histogram the way Prometheus'
``histogram_quantile`` does (linear interpolation inside the bucket the rank falls in;
the lowest bucket starts at 0; a rank in the ``+Inf`` bucket gives the highest finite
bound), so the dashboard and a Grafana panel over ``/metrics`` agree.
"""
from __future__ import annotations

from collections import defaultdict

from simulator.metrics import BUCKETS, DELAY_BY_DAY, INJECTED_BY_DAY

QUANTILES = (0.5, 0.95, 0.99)
_HISTOGRAM = "request_duration_seconds"


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """The ``q`` quantile (0..1) of a cumulative histogram given as ascending
    (upper bound, cumulative count) pairs, the last bound ``inf``; None when empty."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if bound == float("inf"):  # beyond the last finite bound: that bound
                return lower
            inside = cumulative - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, cumulative
    return lower


def latency_view(rows) -> list[dict]:
    """Per service and operation: requests, mean and the :data:`QUANTILES` in
    milliseconds, from the metric rows (name, labels, value)."""
    # Summed over the replicas (each series has its ``replica`` label).
    series = defaultdict(lambda: {"buckets": defaultdict(float), "sum": 0.0, "count": 0.0})
    for name, labels, value in rows:
        if not name.startswith(_HISTOGRAM + "_"):
            continue
        found = dict(labels)
        key = (found.get("service", ""), found.get("operation", ""))
        part = name[len(_HISTOGRAM) + 1:]
        if part == "bucket":
            le = found["le"]
            series[key]["buckets"][float("inf") if le == "+Inf" else float(le)] += value
        elif part in ("sum", "count"):
            series[key][part] += value
    view = []
    for (service, operation), data in sorted(series.items()):
        buckets = _cumulative(list(data["buckets"].items()))
        entry = {"service": service, "operation": operation, "count": int(data["count"]),
                 "mean_ms": _ms(data["sum"] / data["count"]) if data["count"] else None}
        for q in QUANTILES:
            entry[f"p{round(q * 100)}_ms"] = _ms(histogram_quantile(q, buckets))
        view.append(entry)
    return view


def _cumulative(buckets: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Every bound of :data:`simulator.metrics.BUCKETS` and ``inf``, ascending: the store
    keeps only buckets that were incremented, and a bound missing there had no request
    under it (interpolation needs the bound below the rank's bucket)."""
    stored = dict(buckets)
    return [(bound, stored.get(bound, 0.0)) for bound in (*BUCKETS, float("inf"))]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def injections_view(rows) -> list[dict]:
    """Per simulated day (ascending): the requests scenario rules altered, by action
    (``fault``, ``http_status``, ``latency`` for a delay alone, ...), and the seconds of
    latency they injected."""
    days = defaultdict(lambda: {"actions": {}, "injected": 0, "delay_seconds": 0.0})
    for name, labels, value in rows:
        if name not in (INJECTED_BY_DAY, DELAY_BY_DAY):
            continue
        found = dict(labels)
        day = days[found["day"]]
        if name == INJECTED_BY_DAY:
            day["actions"][found["action"]] = \
                day["actions"].get(found["action"], 0) + int(value)
            day["injected"] += int(value)
        else:
            day["delay_seconds"] = round(day["delay_seconds"] + value, 3)
    return [{"day": day, **data, "actions": dict(sorted(data["actions"].items()))}
            for day, data in sorted(days.items())]
