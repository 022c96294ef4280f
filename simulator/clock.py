"""SimClock: the only source of "now" for the simulator.

The simulated time is the wall clock plus an offset, or a frozen instant. Its state
lives in the store so that every worker process agrees on it and ``POST /_admin/reset``
brings it back to the configured start.
"""
from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

from simulator.ports.state import ClockStore


def _wall_now() -> datetime:
    return datetime.now(timezone.utc)


class SimClock:
    """Simulated time, shared through the store by all workers."""

    def __init__(self, store: ClockStore, wall: Callable[[], datetime] = _wall_now):
        self._store = store
        self._wall = wall
        self._wake: tuple[int, threading.Event] | None = None

    def now(self) -> datetime:
        """The simulated current instant (timezone-aware, UTC)."""
        offset, frozen_at = self._store.clock_state()
        if frozen_at is not None:
            return frozen_at
        return self._wall() + timedelta(seconds=offset)

    def real_now(self) -> datetime:
        """The real current instant, for what the real world judges whatever the
        simulated date (certificate validity, as TLS stacks do)."""
        return self._wall()

    def today(self):
        """The simulated current date."""
        return self.now().date()

    def is_frozen(self) -> bool:
        """Whether the simulated clock stands still."""
        return self._store.clock_state()[1] is not None

    def set(self, now: datetime | None = None, frozen: bool | None = None) -> None:
        """Move the clock to ``now`` (keeps running unless ``frozen``), or freeze/thaw it."""
        current = self.now()
        target = current if now is None else now.astimezone(timezone.utc)
        frozen = self.is_frozen() if frozen is None else frozen
        if frozen:
            self._store.set_clock_state(0.0, target)
        else:
            offset = (target - self._wall()).total_seconds()
            self._store.set_clock_state(offset, None)

    @staticmethod
    def sleep(seconds: float) -> None:
        """Wait in real time. Under the gevent workers this only suspends the current
        request's greenlet, never the worker."""
        time.sleep(seconds)

    def delay(self, seconds: float) -> None:
        """Wait in real time for an injected latency, like :meth:`sleep`, but end early
        once :meth:`cut_sleeps` was called (a draining server), so that the request
        still gets its scenario's outcome before the worker stops."""
        self._wake_event().wait(seconds)

    def cut_sleeps(self) -> None:
        """End every injected delay of this process now, and those still to come."""
        self._wake_event().set()

    def _wake_event(self) -> threading.Event:
        # Made in the process that waits, after gevent patched threading: an Event made
        # in the master before the fork would block the whole worker.
        if self._wake is None or self._wake[0] != os.getpid():
            self._wake = (os.getpid(), threading.Event())
        return self._wake[1]

    @staticmethod
    def monotonic() -> float:
        """Seconds from an arbitrary origin, for measuring durations (never simulated)."""
        return time.perf_counter()
