"""Per-process buffers written to the store in batches by a background flusher.

Used for what every request produces (journal entries, metric increments): one SQLite
write per request would cost as much as the rest of the request. Items reach the store
when ``batch`` are waiting, every ``interval`` seconds, and whenever ``flush`` is
called (readers flush their own process first). With a
:class:`simulator.flush_barrier.FlushBarrier` (``barrier``), each process counts what it
queued and wrote in shared memory, and its flusher also wakes when a reader in another
process asks, so that a read can be complete across worker processes.
"""
from __future__ import annotations

import logging
import os
import select
import threading
import weakref
from typing import Callable

from simulator.flush_barrier import FlushBarrier
from simulator.ports.errors import StorageFull

LOG = logging.getLogger(__name__)


class _ProcessId:
    """This process's id, kept up to date across forks: ``os.getpid()`` is a system
    call (about 1 µs here), and every queued item used to make one."""

    def __init__(self):
        self.pid = os.getpid()
        # Makes this process's buffers one at a time (ProcessBatcher._current); a new one
        # in each child, so that a fork never inherits it held.
        self.creating = threading.Lock()
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self.pid = os.getpid()
        self.creating = threading.Lock()


_PROCESS = _ProcessId()


class ProcessBatcher:
    """Collects items in this process; ``write(items)`` stores them."""

    def __init__(self, write: Callable[[list], None], interval: float = 0.2,
                 batch: int = 64):
        self.write = write
        self.interval = interval
        self.batch = batch
        self.barrier = None  # a FlushBarrier shared with the other worker processes
        self._buffer: _Buffer | None = None

    def add(self, item) -> None:
        """Queue one item; writes the batch when it is full. On a full disk the batch is
        dropped (logged), and the request that brought the item is not failed."""
        buffer = self._current()
        if buffer.add(item) >= self.batch or buffer.slot is None and self.barrier is not None:
            try:
                self.flush()  # a process without a barrier slot writes through
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
                    if not buffer.full:  # once per episode, not every flush interval
                        LOG.warning("%s: queued items are dropped until space returns",
                                    error)
                    buffer.full = True
                    raise
                finally:  # written, or lost with the store: no reader waits for them
                    buffer.resolved(len(items))
                if buffer.full:
                    LOG.info("storage writable again")
                    buffer.full = False

    def flush_for_reading(self) -> None:
        """Flush before a read: on a full disk the read goes on with what is stored."""
        try:
            self.flush()
        except StorageFull:
            pass

    def flush_everywhere(self, timeout: float, pause: Callable[[float], None]) -> bool:
        """Write this process's queued items now and, with a barrier, wait until every
        other process has written what it had queued; False after ``timeout`` seconds.
        On a full disk, the queued items are dropped and the read goes on."""
        self.flush_for_reading()
        return self.barrier is None or self.barrier.wait_complete(timeout, pause)

    def share_across_processes(self, workers: int) -> None:
        """Give this batcher a barrier for ``workers`` forked processes (call in the
        parent, before the fork). Slots for twice as many: gunicorn replaces a worker
        that dies, and a dead worker's slot is reused only once its pid is gone."""
        self.barrier = FlushBarrier(max(workers, 1) * 2 + 2)

    def discard(self) -> None:
        """Drop this process's queued items, after a write in progress has ended: a
        batch taken just before would otherwise reach the store after the caller
        cleared it (seen on PostgreSQL, where no database-wide lock orders the two)."""
        buffer = self._current()
        with buffer.writing:
            buffer.resolved(len(buffer.take()))

    def close(self) -> None:
        """Drop this process's queued items and stop its flusher (its owner is going
        away: a deleted tenant, docs/tenants.md)."""
        if self._buffer is not None and self._buffer.pid == _PROCESS.pid:
            self._buffer.resolved(len(self._buffer.take()))
        self._buffer = None  # the flusher sees it is no longer current and ends

    def _current(self) -> "_Buffer":
        # Created after a fork (gunicorn preloads the app), so that the lock and the
        # flusher belong to the worker, after gevent has patched threading.
        buffer = self._buffer
        if buffer is None or buffer.pid != _PROCESS.pid:
            # One buffer per process. Two requests reaching a new worker together each
            # made one: the items queued in the one replaced were never written, and
            # every journal read of that worker then waited its whole timeout (seen in
            # the soak smoke test under load). Made and published under a lock, with
            # nothing in between that lets another greenlet run; the flusher started
            # after (starting a thread switches greenlets under gevent).
            with _PROCESS.creating:
                buffer = self._buffer
                made = buffer is None or buffer.pid != _PROCESS.pid
                if made:
                    buffer = self._buffer = _Buffer(self)
            if made:
                buffer.start_flusher(self)
        return buffer


class _Buffer:
    """One process's queue and the daemon thread that flushes it."""

    def __init__(self, owner: ProcessBatcher):
        self.pid = _PROCESS.pid
        self.full = False  # the last write found the storage full
        self.writing = threading.Lock()
        self._lock = threading.Lock()
        self._items: list = []
        self.barrier = owner.barrier
        self.slot = self.barrier.claim() if self.barrier is not None else None

    def start_flusher(self, owner: ProcessBatcher) -> None:
        """Start the daemon thread that writes this buffer every ``owner.interval``.

        The thread holds its owner weakly: a batcher let go without ``close`` (an app a
        test built and dropped) ends its flusher once collected, instead of being kept
        alive by it with everything it references. A test run had accumulated 1,400
        such threads, waking every 0.2 s, and took twice as long."""
        self.flusher = threading.Thread(target=self._run, args=(weakref.ref(owner),),
                                        daemon=True, name="batch-flusher")
        self.flusher.start()

    def add(self, item) -> int:
        with self._lock:
            self._items.append(item)
            if self.slot is not None:  # counted under this buffer's lock (see recorded)
                self.barrier.recorded(self.slot)
            return len(self._items)

    def take(self) -> list:
        with self._lock:
            items, self._items = self._items, []
            return items

    def resolved(self, count: int) -> None:
        """Tell the barrier that ``count`` taken items are written or dropped."""
        if self.slot is not None and count:
            self.barrier.resolved(self.slot, count)

    def _run(self, owner_ref: "weakref.ref[ProcessBatcher]") -> None:
        interval = self._turn(owner_ref, flush=False)
        while interval is not None:
            self._wait(interval)
            interval = self._turn(owner_ref)

    def _turn(self, owner_ref: "weakref.ref[ProcessBatcher]",
              flush: bool = True) -> float | None:
        """Flush for the owner, if it is still there and this is still its buffer; the
        wait before the next turn (read each time: it may change), or None to stop.
        The owner is held only while this runs, never across the wait."""
        owner = owner_ref()
        if owner is None or owner._buffer is not self or self.pid != _PROCESS.pid:
            return None
        if flush:
            try:
                owner.flush()
            except StorageFull:
                pass  # logged once by flush; space may come back
            except Exception:  # noqa: BLE001 - keep flushing: readers wait for this queue
                LOG.warning("batch flush failed; the items are dropped", exc_info=True)
        return owner.interval

    def _wait(self, interval: float) -> None:
        """Wait ``interval`` seconds, or less when a reader wakes this process's slot
        (``poll`` is cooperative under gevent: the worker keeps serving). Not ``select``,
        which refuses descriptors above 1023: a server holding a thousand connections
        when its barrier was made would lose its flusher."""
        if self.slot is None:
            threading.Event().wait(interval)
            return
        poller = select.poll()
        poller.register(self.barrier.wake_fd(self.slot), select.POLLIN)
        if poller.poll(interval * 1000):
            self.barrier.drain(self.slot)
