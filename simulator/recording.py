"""Recording every exchange: the journal entry and the metric counters."""
from __future__ import annotations


class Recorder:
    """Feeds one answered request to the journal and to the metrics."""

    def __init__(self, journal, metrics, clock):
        self.journal = journal
        self.metrics = metrics
        self.clock = clock

    def record(self, *, request_id: str, service: str, operation: str | None, environ: dict,
               reply, started: float, request_body: bytes, decision=None,
               facts=None) -> None:
        """Journal the exchange and count it."""
        self.journal.record(request_id=request_id, service=service, operation=operation,
                            environ=environ, reply=reply, started=started,
                            request_body=request_body, decision=decision, facts=facts)
        self.metrics.count_request(service, operation, reply,
                                   self.clock.monotonic() - started, decision,
                                   (reply.at or self.clock.now()) if decision is not None
                                   else None)
