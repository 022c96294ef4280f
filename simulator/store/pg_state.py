"""The clock and the active scenario, cached per worker on PostgreSQL.

Every request asks the clock for "now" and the chaos engine for the scenario; a round
trip per request for two values that change a few times per test would cost more than
the request. Each worker keeps them in memory and reloads them (one query):

- at once after a change made by any worker of the same server: the writer stores a
  new random token in a page of shared memory made before the fork (gunicorn preloads
  the app in its master), and each read compares it with the token it loaded under;
- otherwise at most ``ttl`` seconds after it began loading them
  (``SIM_STATE_CACHE_SECONDS``): a change committed by another replica is seen by every
  request this worker begins ``ttl`` seconds or more after the commit.
"""
from __future__ import annotations

import json
import mmap
import os
import threading
import time
from datetime import datetime
from typing import Callable

_TOKEN_BYTES = 8


class StateCache:
    """(clock offset, frozen instant, scenario record) of this worker, with its bound."""

    def __init__(self, load: Callable[[], tuple[float, datetime | None, dict | None]],
                 ttl: float, shared: mmap.mmap | None = None):
        self._load = load
        self.ttl = ttl
        # Anonymous, shared with forked workers; SQLite gives a file's map, shared by
        # every process of the machine that opens the data dir (sqlite.py).
        self._shared = shared if shared is not None else mmap.mmap(-1, _TOKEN_BYTES)
        self._lock = threading.Lock()
        self._values: tuple[float, datetime | None, dict | None] | None = None
        self._token = b""
        self._loaded_at = 0.0

    def values(self) -> tuple[float, datetime | None, dict | None]:
        """The cached values, reloaded when changed on this server or older than ``ttl``."""
        token = self._shared[:_TOKEN_BYTES]
        values = self._values
        if values is not None and token == self._token and \
                time.monotonic() - self._loaded_at < self.ttl:
            return values
        # Stamped before the query: values read by a query that overlapped a change
        # made elsewhere are trusted for ``ttl`` after its start, not its end, so that
        # every request begun ``ttl`` after another replica's change sees it.
        started = time.monotonic()
        loaded = self._load()
        with self._lock:
            self._values, self._token, self._loaded_at = loaded, token, started
        return loaded

    def changed(self) -> None:
        """A change was committed: every worker of this server reloads at its next read."""
        self._shared[:_TOKEN_BYTES] = os.urandom(_TOKEN_BYTES)
        self._values = None


def load_state(rows: list[tuple]) -> tuple[float, datetime | None, dict | None]:
    """The cache's values from the row of :data:`STATE_QUERY`."""
    offset, frozen_at, scenario = rows[0] if rows else (None, None, None)
    return (float(offset or 0.0), datetime.fromisoformat(frozen_at) if frozen_at else None,
            json.loads(scenario) if scenario else None)


STATE_QUERY = ("SELECT (SELECT offset_seconds FROM clock WHERE id = 1),"
               " (SELECT frozen_at FROM clock WHERE id = 1),"
               " (SELECT value FROM meta WHERE key = 'scenario')")
