"""The request journal: the newest exchanges, bounded in count and body size.

Entries are buffered per worker and written in batches (see :mod:`simulator.batching`).
A read is complete when it returns: it flushes this worker's buffer and, under
``insi-dmp-sim serve``, waits through a :class:`simulator.flush_barrier.FlushBarrier`
until every other worker has written what it had queued, so that every exchange
answered before the read is in it, whichever worker served it.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from simulator.batching import ProcessBatcher
from simulator.journal_query import JournalQuery
from simulator.ports.diagnostics import JournalStore

LOG = logging.getLogger(__name__)
_TRUNCATED = "…[truncated]".encode("utf-8")  # after a body cut to ``body_bytes``


class JournalIncomplete(RuntimeError):
    """A worker did not write its queued entries within the read timeout."""


class Journal:
    """Records each exchange in the store; keeps at most ``size`` entries."""

    def __init__(self, store: JournalStore, clock, size: int, body_bytes: int, flush_interval: float = 0.2,
                 batch: int = 64, pseudonymiser=None, read_timeout: float = 10.0,
                 replica: str | None = None):
        self.store = store
        self.replica = replica  # the simulator process answering (simulator/replicas.py)
        self.pseudonymiser = pseudonymiser  # None, or a callable applied to each body
        self.clock = clock
        self.size = size
        self.body_bytes = body_bytes
        self.read_timeout = read_timeout
        self._batcher = ProcessBatcher(lambda entries: store.append_journal(entries, size),
                                       flush_interval, batch)

    def share_across_processes(self, workers: int) -> None:
        """Make reads complete across ``workers`` forked worker processes (call in the
        parent, before the fork)."""
        self._batcher.share_across_processes(workers)

    def record(self, *, request_id: str, service: str, operation: str | None, environ: dict,
               reply, started: float, request_body: bytes, decision=None,
               facts=None) -> None:
        """Queue one exchange (bodies cut to ``body_bytes``); ``facts`` (the binding's
        :class:`RequestFacts`) gives the caller and patient the queries filter on."""
        self._batcher.add({
            "request_id": request_id,
            "at": (reply.at or self.clock.now()).isoformat(timespec="milliseconds"),
            # Real time, for "since" across a simulated clock that is frozen or jumps:
            # diagnostics, not domain time, so it does not come from the clock.
            "real_at": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            "service": service,
            "operation": operation,
            "http_method": environ.get("REQUEST_METHOD", ""),
            "path": environ.get("PATH_INFO", ""),
            "status": reply.status,
            "outcome": reply.outcome,
            "chaos": decision.describe() if decision is not None else None,
            "duration_ms": round((self.clock.monotonic() - started) * 1000, 3),
            "client": environ.get("REMOTE_ADDR"),
            "software": getattr(facts, "lps_name", None),
            "structure": getattr(facts, "structure", None),
            "professional": getattr(facts, "professional", None),
            # Pseudonymised tokens differ between workers (per-process secret): no
            # patient column then, rather than one that matches by chance.
            "patient": getattr(facts, "ins", None) if self.pseudonymiser is None else None,
            "replica": self.replica,
            "request_body": self._cut(request_body),
            "response_body": self._cut(reply.body),
        })

    def flush(self) -> None:
        """Write every queued entry to the store: this worker's now, the other workers'
        (with a barrier) before returning. Raises :class:`JournalIncomplete` when a
        worker did not answer within ``read_timeout`` seconds."""
        if not self._batcher.flush_everywhere(self.read_timeout, self.clock.sleep):
            raise JournalIncomplete(
                f"a worker did not write its journal entries within {self.read_timeout} s "
                "(SIM_JOURNAL_READ_TIMEOUT); the answer would have been incomplete")

    def query(self, query: JournalQuery) -> tuple[list[dict], int]:
        """(newest-first matching entries, at most ``query.limit``; how many match in
        all). Complete: see :meth:`flush`. Raises ``KeyError`` for a ``since`` request id
        the journal does not hold."""
        self.flush()
        return self.store.query_journal(query, keep=self.size)

    def entry(self, request_id: str) -> dict | None:
        """One exchange with its bodies, by request id (complete: see :meth:`flush`)."""
        self.flush()
        return self.store.journal_entry(request_id, keep=self.size)

    def entries(self, limit: int = 100, service: str | None = None,
                with_bodies: bool = True) -> list[dict]:
        """Newest-first entries."""
        return self.query(JournalQuery(service=service, limit=min(limit, self.size),
                                       bodies=with_bodies))[0]

    def clear(self) -> None:
        """Forget every entry, queued (in every worker) or stored.

        The other workers' queues are written first, then deleted: dropped only here,
        they would reach the store after the clear, and a test would find the previous
        test's exchanges in its journal."""
        if self._batcher.barrier is None:
            self._batcher.discard()
        else:
            try:
                self.flush()
            except JournalIncomplete as error:  # a reset must not fail on diagnostics
                LOG.warning("journal cleared without waiting for every worker: %s", error)
                self._batcher.discard()
        self.store.clear_journal()

    def close(self) -> None:
        """Stop this process's background writer, dropping what it still queues."""
        self._batcher.close()

    def _cut(self, body: bytes) -> bytes:
        """The first ``body_bytes`` of a body, marked when cut, kept as bytes: the stores
        decode them when read
        (:func:`simulator.ports.diagnostics.journal_body_text`), into the text decoding them
        here gave (a character cut in two becomes U+FFFD either way, the marker after it
        or not: checked on every 1-3 byte tail, tests/unit/test_journal.py)."""
        cut = body[: self.body_bytes]  # the body itself when it is short enough
        if self.pseudonymiser is not None:
            cut = self.pseudonymiser(cut.decode("utf-8", errors="replace")).encode("utf-8")
        return cut + _TRUNCATED if len(body) > self.body_bytes else cut
