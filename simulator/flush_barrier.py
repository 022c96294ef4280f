"""Making a read of per-worker batches complete across gunicorn's worker processes.

The journal is buffered in each worker and written in batches (:mod:`simulator.batching`).
A reader in one worker can flush its own buffer, but not another worker's: without
more, an exchange answered by worker B a millisecond before the read is missing from
a read served by worker A. The barrier closes that gap without a store write per
request:

- shared memory, mapped before gunicorn forks, holds one slot per worker process:
  its pid, how many items it has queued (``recorded``) and how many of those have
  reached the store or been dropped (``resolved``). Each slot is written only by the
  worker that owns it; readers only read it;
- each slot has a pipe; a worker's flusher waits on its pipe (and on its interval);
- a reader takes a snapshot of every slot's ``recorded``, writes a byte to every
  pipe, and waits until each worker's ``resolved`` has reached its snapshot (or the
  worker has died, taking its buffer with it). An exchange is queued before its answer
  is sent, so every exchange answered before the read is in the snapshot.

Only ``insi-dmp-sim serve`` creates a barrier (:func:`simulator.server`): one process
(thread mode, tests) has a single buffer, which a reader flushes itself.
"""
from __future__ import annotations

import ctypes
import mmap
import multiprocessing
import os
import threading
from typing import Callable

_FIELDS = 3  # pid, recorded, resolved
_PID, _RECORDED, _RESOLVED = range(_FIELDS)


class FlushBarrier:
    """Per-worker counters and wake-up pipes shared by the processes forked after it."""

    def __init__(self, slots: int):
        self.slots = slots
        # An anonymous mapping is MAP_SHARED: forked workers see each other's writes.
        self._memory = mmap.mmap(-1, ctypes.sizeof(ctypes.c_int64) * _FIELDS * slots)
        self._cells = (ctypes.c_int64 * (_FIELDS * slots)).from_buffer(self._memory)
        self._pipes = [os.pipe() for _ in range(slots)]
        for read_end, write_end in self._pipes:
            os.set_blocking(read_end, False)
            os.set_blocking(write_end, False)
        self._claiming = multiprocessing.Lock()
        self._counting = threading.Lock()

    def claim(self) -> int | None:
        """A slot for this process (a free one, or a dead process's), or None when
        every slot belongs to a live process (the caller then writes through)."""
        pid = os.getpid()
        with self._claiming:
            for slot in range(self.slots):
                owner = self._get(slot, _PID)
                if owner == pid or owner == 0 or not _alive(owner):
                    # Counters first: a reader that sees the new pid sees fresh counters.
                    self._set(slot, _RECORDED, 0)
                    self._set(slot, _RESOLVED, 0)
                    self._set(slot, _PID, pid)
                    self._drain(slot)
                    return slot
        return None

    def recorded(self, slot: int, count: int = 1) -> None:
        """``count`` more items queued by this slot's process (call before answering),
        under the lock of the process's queue: that lock already orders the increments,
        and this is called once per request (``resolved``, once per batch, takes its own)."""
        index = slot * _FIELDS + _RECORDED
        self._cells[index] += count

    def resolved(self, slot: int, count: int) -> None:
        """``count`` queued items written to the store, or dropped (reset, store error)."""
        with self._counting:
            self._set(slot, _RESOLVED, self._get(slot, _RESOLVED) + count)

    def wake_fd(self, slot: int) -> int:
        """The file descriptor this slot's flusher waits on."""
        return self._pipes[slot][0]

    def drain(self, slot: int) -> None:
        """Consume the wake-up bytes of a slot (its flusher is about to flush)."""
        self._drain(slot)

    def wait_complete(self, timeout: float, pause: Callable[[float], None]) -> bool:
        """Wait until every item queued anywhere before this call is resolved; False
        when ``timeout`` seconds passed first. ``pause`` waits without holding the worker
        (the clock's sleep: a greenlet switch under gevent)."""
        snapshot = [(slot, self._get(slot, _PID), self._get(slot, _RECORDED))
                    for slot in range(self.slots)]
        pending = [(slot, pid, target) for slot, pid, target in snapshot
                   if pid and self._get(slot, _RESOLVED) < target]
        for slot, _, _ in pending:
            try:
                os.write(self._pipes[slot][1], b"!")
            except BlockingIOError:  # the pipe is full of wake-ups already
                pass
        waited, step = 0.0, 0.0005
        while True:
            pending = [(slot, pid, target) for slot, pid, target in pending
                       if self._get(slot, _PID) == pid and _alive(pid)
                       and self._get(slot, _RESOLVED) < target]
            if not pending:
                return True
            if waited >= timeout:
                return False
            pause(step)
            waited += step
            step = min(step * 2, 0.01)

    def _drain(self, slot: int) -> None:
        try:
            while os.read(self._pipes[slot][0], 512):
                pass
        except BlockingIOError:
            pass

    def _get(self, slot: int, field: int) -> int:
        return self._cells[slot * _FIELDS + field]

    def _set(self, slot: int, field: int, value: int) -> None:
        self._cells[slot * _FIELDS + field] = value


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else (cannot be ours, but alive)
        return True
    return True
