"""Flushes to run before a store reads counts that recorders may still hold in this
process: shared by the SQLite and PostgreSQL timelines (``before_reading`` of
:class:`simulator.ports.timeline.TimelineRecords`)."""
from __future__ import annotations

from typing import Callable


class FlushBeforeReading:
    """Keeps the flushes registered with :meth:`before_reading` and runs them."""

    def __init__(self) -> None:
        self._before_reading: list[Callable[[], None]] = []

    def before_reading(self, flush: Callable[[], None]) -> None:
        """Call ``flush`` before :meth:`usage` and :meth:`feeds` read: a recorder that
        queues counts in this process (simulator.services.dmp.usage) writes them first."""
        self._before_reading.append(flush)

    def _flush_pending(self) -> None:
        for flush in self._before_reading:
            flush()
