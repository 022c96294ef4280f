"""The request journal: the newest exchanges, bounded in count and body size.

Entries are buffered per worker and written in batches (see :mod:`simulator.batching`);
another worker's entries show up within the flush interval, this worker's at once.
"""
from __future__ import annotations

from simulator.batching import ProcessBatcher


class Journal:
    """Records each exchange in the store; keeps at most ``size`` entries."""

    def __init__(self, store, clock, size: int, body_bytes: int, flush_interval: float = 0.2,
                 batch: int = 64, pseudonymiser=None):
        self.store = store
        self.pseudonymiser = pseudonymiser  # None, or a callable applied to each body
        self.clock = clock
        self.size = size
        self.body_bytes = body_bytes
        self._batcher = ProcessBatcher(lambda entries: store.append_journal(entries, size),
                                       flush_interval, batch)

    def record(self, *, request_id: str, service: str, operation: str | None, environ: dict,
               reply, started: float, request_body: bytes, decision=None) -> None:
        """Queue one exchange (bodies cut to ``body_bytes``)."""
        self._batcher.add({
            "request_id": request_id,
            "at": self.clock.now().isoformat(timespec="milliseconds"),
            "service": service,
            "operation": operation,
            "http_method": environ.get("REQUEST_METHOD", ""),
            "path": environ.get("PATH_INFO", ""),
            "status": reply.status,
            "outcome": reply.outcome,
            "chaos": decision.describe() if decision is not None else None,
            "duration_ms": round((self.clock.monotonic() - started) * 1000, 3),
            "client": environ.get("REMOTE_ADDR"),
            "request_body": self._cut(request_body),
            "response_body": self._cut(reply.body),
        })

    def flush(self) -> None:
        """Write this worker's queued entries to the store."""
        self._batcher.flush()

    def entries(self, limit: int = 100, service: str | None = None,
                with_bodies: bool = True) -> list[dict]:
        """Newest-first entries (those stored, and this worker's queued ones unless the
        storage is full: they are then written once space comes back)."""
        self._batcher.flush_for_reading()
        return self.store.read_journal(min(limit, self.size), service, with_bodies,
                                       keep=self.size)

    def clear(self) -> None:
        """Forget every entry, queued or stored."""
        self._batcher.discard()
        self.store.clear_journal()

    def _cut(self, body: bytes) -> str:
        text = body[: self.body_bytes].decode("utf-8", errors="replace")
        if self.pseudonymiser is not None:
            text = self.pseudonymiser(text)
        return text + ("…[truncated]" if len(body) > self.body_bytes else "")
