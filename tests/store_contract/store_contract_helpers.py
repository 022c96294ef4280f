"""Helpers of the store contract suite."""
from __future__ import annotations

import time
from typing import Callable

# How long a change made through one store object may go unseen by another on
# PostgreSQL (its per-worker clock and scenario cache, SIM_STATE_CACHE_SECONDS); the
# contract suite opens its PostgreSQL stores with this bound. SQLite has none.
STATE_BOUND = 0.2


def eventually(check: Callable[[], bool]) -> bool:
    """Whether ``check`` holds within the backend's stated staleness bound for another
    worker's changes (polled, with a generous margin over the bound)."""
    deadline = time.monotonic() + STATE_BOUND * 10 + 1.0
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(STATE_BOUND / 10)
    return True
