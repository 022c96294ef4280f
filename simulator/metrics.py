"""Prometheus metrics, summed over every worker through the store.

Each worker counts in memory and adds its increments to the store in batches; ``/metrics``
renders the sums in the Prometheus text format: request counters, a latency histogram per
service and operation, and what scenario rules injected. Counters survive
``/_admin/reset`` (Prometheus expects counters to only grow).
"""
from __future__ import annotations

from bisect import bisect_left
from collections import Counter

from simulator.batching import ProcessBatcher
from simulator.ports.diagnostics import MetricsStore

PREFIX = "insi_dmp_sim_"
# Upper bounds of the latency buckets, in seconds (injected delays reach tens of seconds).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
FAMILIES = {  # name -> (type, help)
    "requests_total": ("counter", "SOAP requests answered, by service, operation, status "
                                  "and outcome"),
    "request_duration_seconds": ("histogram", "Time from request to answer, injected "
                                              "latency included"),
    "chaos_injections_total": ("counter", "Requests altered by a scenario rule"),
    "calendar_refusals_total": ("counter", "Requests refused by a regulatory calendar rule "
                                           "(API v1, TD0.0, qualified INS), by rule"),
    "chaos_delay_seconds_total": ("counter", "Latency injected by scenario rules"),
}
# Stored like the metrics but not exported (a label per simulated day would grow without
# bound in Prometheus): what scenario rules injected per simulated day, for the
# dashboard's chart of a replay (simulator.admin.stats).
INJECTED_BY_DAY = "dashboard_injections_by_day"
DELAY_BY_DAY = "dashboard_injected_delay_seconds_by_day"


class Metrics:
    """Counters and histograms with labels, aggregated across worker processes."""

    def __init__(self, store: MetricsStore, flush_interval: float = 0.2, batch: int = 64,
                 replica: str | None = None):
        self.store = store
        # Label of the simulator process answering (docs/storage.md, "Replicas").
        self._replica = (("replica", replica),) if replica else ()
        self._batcher = ProcessBatcher(self._write, flush_interval, batch)

    def count_request(self, service: str, operation: str | None, reply, seconds: float,
                      decision=None, at=None) -> None:
        """Count one answered request, its duration, and what a chaos rule did to it
        (also per simulated day of ``at``, the simulated time, when given).

        This is the hot path: the request is queued as one tuple, and its increments
        are made when a batch is written, summed over the batch (:meth:`_write`)."""
        self._batcher.add((service, operation or "unknown", reply.status, reply.outcome,
                           seconds, reply.rule, decision, at))

    def share_across_processes(self, workers: int) -> None:
        """Let :meth:`complete_rows` wait for ``workers`` forked worker processes (call
        in the parent, before the fork)."""
        self._batcher.share_across_processes(workers)

    def rows(self) -> list[tuple[str, tuple, float]]:
        """Every stored (name, labels, value), this worker's pending increments included
        (on a full disk, what is stored)."""
        self._batcher.flush_for_reading()
        return self.store.read_metrics()

    def complete_rows(self, timeout: float, pause) -> list[tuple[str, tuple, float]] | None:
        """Like :meth:`rows`, every worker's pending increments included (the
        dashboard's charts, a test's check); None when a worker did not write them
        within ``timeout`` seconds."""
        if not self._batcher.flush_everywhere(timeout, pause):
            return None
        return self.store.read_metrics()

    def render(self) -> str:
        """The Prometheus text exposition of every metric."""
        return render_rows(self.rows())

    def close(self) -> None:
        """Stop this process's background writer, dropping what it still queues."""
        self._batcher.close()

    def _write(self, requests: list[tuple]) -> None:
        totals = Counter()
        fits: dict = {}  # where -> requests by the index of the first bucket they fit under
        for service, operation, status, outcome, seconds, rule, decision, at in requests:
            where = (("service", service), ("operation", operation)) + self._replica
            totals[("requests_total", where + (("status", str(status)),
                                               ("outcome", outcome)))] += 1.0
            totals[("request_duration_seconds_sum", where)] += seconds
            totals[("request_duration_seconds_count", where)] += 1.0
            fits.setdefault(where, Counter())[bisect_left(BUCKETS, seconds)] += 1
            if rule:
                totals[("calendar_refusals_total", where + (("rule", rule),))] += 1.0
            if decision is not None:
                _count_injection(totals, where, decision, at)
        for where, first_bucket in fits.items():
            # Cumulative buckets: a request counts in every bucket it fits under.
            fitted = 0
            for index, bound in enumerate(BUCKETS):
                fitted += first_bucket.get(index, 0)
                if fitted:
                    totals[("request_duration_seconds_bucket",
                            where + (("le", _le(bound)),))] += float(fitted)
            totals[("request_duration_seconds_bucket", where + (("le", "+Inf"),))] += \
                float(sum(first_bucket.values()))
        self.store.add_metrics([(name, labels, value) for (name, labels), value in totals.items()])


def _count_injection(totals: Counter, where: tuple, decision, at) -> None:
    """What a scenario rule did to one request (and per simulated day of ``at``)."""
    labels = where + (("rule", decision.rule.name), ("action", decision.action.kind or "latency"))
    totals[("chaos_injections_total", labels)] += 1.0
    if decision.delay:
        totals[("chaos_delay_seconds_total", labels)] += decision.delay
    if at is not None:
        day = (("day", at.date().isoformat()), labels[-1])
        totals[(INJECTED_BY_DAY, day)] += 1.0
        if decision.delay:
            totals[(DELAY_BY_DAY, day)] += decision.delay


def render_rows(rows: list[tuple[str, tuple, float]]) -> str:
    """The Prometheus text exposition of stored ``(name, labels, value)`` rows (those of
    several tenants, each with its ``tenant`` label, render as one family each)."""
    lines = []
    for family, (kind, help_text) in sorted(FAMILIES.items()):
        mine = [r for r in rows if r[0] == family or r[0].startswith(family + "_")]
        if not mine:
            continue
        lines += [f"# HELP {PREFIX}{family} {help_text}", f"# TYPE {PREFIX}{family} {kind}"]
        for name, labels, value in sorted(mine, key=_order):
            rendered = ",".join(f'{key}="{_escape(val)}"' for key, val in labels)
            lines.append(f"{PREFIX}{name}{{{rendered}}} {value:g}")
    return "\n".join(lines) + "\n"


def _le(bound: float) -> str:
    return f"{bound:g}"


def _order(row):
    """Series by labels; within a histogram, buckets by bound, then sum and count."""
    name, labels, _ = row
    plain = tuple(pair for pair in labels if pair[0] != "le")
    le = dict(labels).get("le")
    bound = float("inf") if le == "+Inf" else float(le) if le is not None else float("inf")
    suffix = {"bucket": 0, "sum": 1, "count": 2}.get(name.rsplit("_", 1)[-1], 0)
    return plain, suffix, bound, name


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
