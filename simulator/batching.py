"""Per-process buffers written to the store in batches by a background flusher.

Used for what every request produces (journal entries, metric increments): one SQLite
write per request would cost as much as the rest of the request. Items reach the store
when ``batch`` are waiting, every ``interval`` seconds, and whenever ``flush`` is
called (readers flush their own process first).
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Callable

from simulator.store.database import StorageFull

LOG = logging.getLogger(__name__)


class ProcessBatcher:
    """Collects items in this process; ``write(items)`` stores them."""

    def __init__(self, write: Callable[[list], None], interval: float = 0.2,
                 batch: int = 64):
        self.write = write
        self.interval = interval
        self.batch = batch
        self._buffer: _Buffer | None = None

    def add(self, item) -> None:
        """Queue one item; writes the batch when it is full (on a full disk the items
        wait in memory, bounded, and the request that brought them is not failed)."""
        if self._current().add(item) >= self.batch:
            try:
                self.flush()
            except StorageFull:
                pass

    def flush(self) -> None:
        """Write this process's queued items now."""
        buffer = self._current()
        # One writer at a time, so that batches reach the store in the order they
        # were taken (the journal's ids give its newest-first order).
        with buffer.writing:
            items = buffer.take()
            if items:
                try:
                    self.write(items)
                except StorageFull as error:
                    dropped = buffer.put_back(items, 16 * self.batch)
                    if not buffer.full or dropped:  # once per episode, and on each loss
                        LOG.warning("%s: %d items wait in memory for space, %d dropped",
                                    error, len(items) - dropped, dropped)
                    buffer.full = True
                    raise
                if buffer.full:
                    LOG.info("storage writable again: queued items written")
                    buffer.full = False

    def flush_for_reading(self) -> None:
        """Flush before a read: on a full disk, the read goes on with what is stored
        (the queued items are written when space comes back)."""
        try:
            self.flush()
        except StorageFull:
            pass

    def discard(self) -> None:
        """Drop this process's queued items."""
        self._current().take()

    def _current(self) -> "_Buffer":
        # Created after a fork (gunicorn preloads the app), so that the lock and the
        # flusher belong to the worker, after gevent has patched threading.
        if self._buffer is None or self._buffer.pid != os.getpid():
            self._buffer = _Buffer(self)
        return self._buffer


class _Buffer:
    """One process's queue and the daemon thread that flushes it."""

    def __init__(self, owner: ProcessBatcher):
        self.pid = os.getpid()
        self.full = False  # the last write found the storage full
        self.writing = threading.Lock()
        self._lock = threading.Lock()
        self._items: list = []
        threading.Thread(target=self._run, args=(owner,), daemon=True,
                         name="batch-flusher").start()

    def add(self, item) -> int:
        with self._lock:
            self._items.append(item)
            return len(self._items)

    def put_back(self, items: list, keep: int) -> int:
        """Queue ``items`` again before the newer ones, keeping at most ``keep`` (the
        newest); how many were dropped."""
        with self._lock:
            self._items = items + self._items
            dropped = max(0, len(self._items) - keep)
            del self._items[:dropped]
            return dropped

    def take(self) -> list:
        with self._lock:
            items, self._items = self._items, []
            return items

    def _run(self, owner: ProcessBatcher) -> None:
        stop = threading.Event()
        while not stop.wait(owner.interval):
            if owner._buffer is not self or self.pid != os.getpid():
                return
            try:
                owner.flush()
            except StorageFull:
                continue  # try again at the next interval: space may come back
            except Exception:  # noqa: BLE001 - the store may be gone at shutdown
                return
