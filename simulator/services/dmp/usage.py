"""DMP calls and fed documents counted for the timeline reports, in per-worker batches.

Each DMP call is counted for the readiness report and each accepted feed for the
feeding report (SUN-ES). Written one by one, those counts cost every call a write
transaction of its own, and a feed two besides its registry transaction (issue 15:
the write lock was most of a feed's time). They are queued in this process and written
in batches (:mod:`simulator.batching`), as INSi's are (:mod:`simulator.services.insi.usage`):

- the reports flush every worker first (``flush`` with the clock's pause, through the
  flush barrier of ``insi-dmp-sim serve``), so they see every call answered before;
- a reset writes every worker's queue before the timeline is cleared (``discard``);
- ``TimelineStore.usage()`` and ``feeds()`` read after this process's queue is written
  (:meth:`TimelineStore.before_reading`), as they did when counts were written at once.
"""
from __future__ import annotations

import weakref
from datetime import datetime

from simulator.batching import ProcessBatcher

USAGE, FEED = "usage", "feed"


class DmpUsage:
    """Queues one usage row per DMP call and one feed count per accepted TD2.1."""

    def __init__(self, timeline, flush_interval: float = 0.2, batch: int = 64):
        # Weakly: the batcher's flusher thread lives as long as the process and holds
        # this recorder; it must not keep a discarded simulator's database open.
        self._timeline = weakref.ref(timeline)
        self._batcher = ProcessBatcher(self._write, flush_interval, batch)
        timeline.before_reading(self._batcher.flush_for_reading)

    def record_call(self, at: datetime, software: str, structure: str, api: str,
                    identifier: str, operation: str) -> None:
        """Queue one call for the readiness report."""
        self._batcher.add((USAGE, (at, software, structure, api, identifier, operation)))

    def record_feed(self, at: datetime, structure: str, software: str, kind: str,
                    documents: int) -> None:
        """Queue the documents of one accepted feed for the feeding report."""
        self._batcher.add((FEED, (at, structure, software, kind, documents)))

    def flush(self, timeout: float = 10.0, pause=None) -> bool:
        """Write this process's queue now and, under ``insi-dmp-sim serve`` (with
        ``pause``), wait until the other workers have written theirs (False after
        ``timeout`` seconds)."""
        if pause is None:
            self._batcher.flush_for_reading()
            return True
        return self._batcher.flush_everywhere(timeout, pause)

    def share_across_processes(self, workers: int) -> None:
        """Let :meth:`flush` reach the other forked workers (call before the fork)."""
        self._batcher.share_across_processes(workers)

    def discard(self, timeout: float = 10.0, pause=None) -> None:
        """Before a reset: drop this process's queue; under ``insi-dmp-sim serve``, write
        every worker's instead, so that none reaches the store after it is cleared."""
        if pause is None or self._batcher.barrier is None \
                or not self._batcher.flush_everywhere(timeout, pause):
            self._batcher.discard()

    def close(self) -> None:
        """Stop this process's background writer, dropping what it still queues (its
        simulator is going away: a deleted tenant, docs/tenants.md)."""
        self._batcher.close()

    def _write(self, items: list) -> None:
        timeline = self._timeline()
        if timeline is None:  # the simulator is gone: nobody reads these counts
            return
        usage = [row for kind, row in items if kind == USAGE]
        feeds = [row for kind, row in items if kind == FEED]
        timeline.record_counts(usage, feeds)
