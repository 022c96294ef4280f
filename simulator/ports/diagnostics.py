"""The journal of exchanges and the metric counters, summed over every worker."""
from __future__ import annotations

from typing import Protocol

from simulator.journal_query import JournalQuery


class JournalStore(Protocol):
    """The journal (:class:`simulator.journal.Journal` batches the writes)."""

    def append_journal(self, entries: list[dict], keep: int) -> None:
        """Record exchanges (dicts of :data:`JOURNAL_COLUMNS`) and keep the newest ``keep``;
        a body is ``bytes`` (read back through :func:`journal_body_text`) or ``str``."""

    def query_journal(self, query: JournalQuery,
                      keep: int | None = None) -> tuple[list[dict], int]:
        """(newest-first entries matching ``query``, at most ``query.limit``; how many
        match in all), never older than the newest ``keep``; ``KeyError`` when
        ``query.since`` names a request id the journal does not hold."""

    def journal_entry(self, request_id: str, keep: int | None = None) -> dict | None:
        """One entry with its bodies, or None (also when older than the newest ``keep``)."""

    def clear_journal(self) -> None:
        """Forget every entry."""


class MetricsStore(Protocol):
    """Prometheus counters (:class:`simulator.metrics.Metrics` batches the increments)."""

    def add_metrics(self, increments: list[tuple[str, tuple, float]]) -> None:
        """Add ``(name, labels, value)`` increments; labels are ((name, value), ...)."""

    def read_metrics(self) -> list[tuple[str, tuple, float]]:
        """Every counter as ``(name, labels, value)``, sorted by name and labels."""


# The journal's columns, in the order every backend stores them (the bodies last);
# ``replica``: the simulator process that answered (simulator/replicas.py).
JOURNAL_COLUMNS = ("request_id", "at", "real_at", "service", "operation", "http_method",
                   "path", "status", "outcome", "chaos", "duration_ms", "client",
                   "software", "structure", "professional", "patient", "replica",
                   "request_body", "response_body")


def journal_body_text(body: bytes | memoryview | str | None) -> str | None:
    """A journal body as the journal's readers show it. The journal keeps the bytes it
    was given (:meth:`simulator.journal.Journal.record`): decoding them with replacement
    here gives the text that decoding them when recorded gave (issue 15: a TD3.2 answer's
    accented text cost 11 % of the request when decoded then, then encoded again by
    SQLite)."""
    if body is None or isinstance(body, str):
        return body
    return bytes(body).decode("utf-8", errors="replace")
