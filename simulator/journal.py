"""The request journal: the newest exchanges, bounded in count and body size.

Entries are buffered per process and written to the store in batches (by a
background flusher every ``flush_interval`` seconds, when ``batch`` entries are
waiting, and before every read): one SQLite commit per request cost as much as the
rest of an INSi search. Another worker's entries therefore show up within
``flush_interval``.
"""
from __future__ import annotations

import os
import threading


class Journal:
    """Records each exchange in the store; keeps at most ``size`` entries."""

    def __init__(self, store, clock, size: int, body_bytes: int,
                 flush_interval: float = 0.2, batch: int = 64):
        self.store = store
        self.clock = clock
        self.size = size
        self.body_bytes = body_bytes
        self.flush_interval = flush_interval
        self.batch = batch
        self._buffer: _ProcessBuffer | None = None

    def record(self, *, request_id: str, service: str, operation: str | None, environ: dict,
               status: int, outcome: str, started: float, request_body: bytes,
               response_body: bytes) -> None:
        """Queue one exchange (bodies cut to ``body_bytes``)."""
        entry = {
            "request_id": request_id,
            "at": self.clock.now().isoformat(timespec="milliseconds"),
            "service": service,
            "operation": operation,
            "http_method": environ.get("REQUEST_METHOD", ""),
            "path": environ.get("PATH_INFO", ""),
            "status": status,
            "outcome": outcome,
            "duration_ms": round((self.clock.monotonic() - started) * 1000, 3),
            "client": environ.get("REMOTE_ADDR"),
            "request_body": self._cut(request_body),
            "response_body": self._cut(response_body),
        }
        buffer = self._process_buffer()
        if buffer.add(entry) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Write this process's queued entries to the store."""
        entries = self._process_buffer().take()
        if entries:
            self.store.append_journal(entries, keep=self.size)

    def entries(self, limit: int = 100, service: str | None = None,
                with_bodies: bool = True) -> list[dict]:
        """Newest-first entries."""
        self.flush()
        return self.store.read_journal(min(limit, self.size), service, with_bodies,
                                       keep=self.size)

    def clear(self) -> None:
        """Forget every entry, queued or stored."""
        self._process_buffer().take()
        self.store.clear_journal()

    def _process_buffer(self) -> "_ProcessBuffer":
        # Created after a fork (gunicorn preloads the app), so that its lock and its
        # flusher belong to the worker, after gevent has patched threading.
        if self._buffer is None or self._buffer.pid != os.getpid():
            self._buffer = _ProcessBuffer(self)
        return self._buffer

    def _cut(self, body: bytes) -> str:
        text = body[: self.body_bytes].decode("utf-8", errors="replace")
        return text + ("…[truncated]" if len(body) > self.body_bytes else "")


class _ProcessBuffer:
    """Entries queued in one process, and the daemon thread that flushes them."""

    def __init__(self, journal: Journal):
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._entries: list[dict] = []
        self._wake = threading.Event()
        thread = threading.Thread(target=self._run, args=(journal,), daemon=True,
                                  name="journal-flusher")
        thread.start()

    def add(self, entry: dict) -> int:
        with self._lock:
            self._entries.append(entry)
            return len(self._entries)

    def take(self) -> list[dict]:
        with self._lock:
            entries, self._entries = self._entries, []
            return entries

    def _run(self, journal: Journal) -> None:
        while not self._wake.wait(journal.flush_interval):
            if self.pid != os.getpid() or journal._buffer is not self:
                return
            try:
                journal.flush()
            except Exception:  # noqa: BLE001 - the store may be gone at shutdown
                return
