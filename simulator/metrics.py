"""Prometheus counters, summed over every worker through the store.

Each worker counts in memory and adds its increments to the store in batches; ``/metrics``
renders the sums in the Prometheus text format. Counters survive ``/_admin/reset``
(Prometheus expects counters to only grow).
"""
from __future__ import annotations

from collections import Counter

from simulator.batching import ProcessBatcher

HELP = {
    "insi_dmp_sim_requests_total": "SOAP requests answered, by service, operation and outcome",
    "insi_dmp_sim_request_seconds_total": "Time spent answering, by service and operation",
    "insi_dmp_sim_chaos_injections_total": "Requests altered by a scenario rule",
    "insi_dmp_sim_chaos_delay_seconds_total": "Latency injected by scenario rules",
}


class Metrics:
    """Counters with labels, aggregated across worker processes."""

    def __init__(self, store, flush_interval: float = 0.2, batch: int = 64):
        self.store = store
        self._batcher = ProcessBatcher(self._write, flush_interval, batch)

    def count_request(self, service: str, operation: str | None, reply, seconds: float,
                      decision=None) -> None:
        """Count one answered request (and what a chaos rule did to it)."""
        operation = operation or "unknown"
        items = [("insi_dmp_sim_requests_total",
                  (("service", service), ("operation", operation),
                   ("status", str(reply.status)), ("outcome", reply.outcome)), 1.0),
                 ("insi_dmp_sim_request_seconds_total",
                  (("service", service), ("operation", operation)), seconds)]
        if decision is not None:
            labels = (("service", service), ("operation", operation),
                      ("rule", decision.rule.name),
                      ("action", decision.action.kind or "latency"))
            items.append(("insi_dmp_sim_chaos_injections_total", labels, 1.0))
            if decision.delay:
                items.append(("insi_dmp_sim_chaos_delay_seconds_total", labels, decision.delay))
        for item in items:
            self._batcher.add(item)

    def render(self) -> str:
        """The Prometheus text exposition of every counter."""
        self._batcher.flush()
        lines, current = [], None
        for name, labels, value in self.store.read_metrics():
            if name != current:
                current = name
                lines += [f"# HELP {name} {HELP.get(name, name)}", f"# TYPE {name} counter"]
            rendered = ",".join(f'{key}="{_escape(val)}"' for key, val in labels)
            lines.append(f"{name}{{{rendered}}} {value:g}")
        return "\n".join(lines) + "\n"

    def _write(self, items: list) -> None:
        totals = Counter()
        for name, labels, value in items:
            totals[(name, labels)] += value
        self.store.add_metrics([(name, labels, value) for (name, labels), value in totals.items()])


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
