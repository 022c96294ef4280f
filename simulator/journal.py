"""The request journal: the newest exchanges, bounded in count and body size."""
from __future__ import annotations


class Journal:
    """Records each exchange in the store; keeps at most ``size`` entries."""

    def __init__(self, store, clock, size: int, body_bytes: int):
        self.store = store
        self.clock = clock
        self.size = size
        self.body_bytes = body_bytes

    def record(self, *, request_id: str, service: str, operation: str | None, environ: dict,
               status: int, outcome: str, started: float, request_body: bytes,
               response_body: bytes) -> None:
        """Append one exchange (bodies cut to ``body_bytes``)."""
        self.store.append_journal({
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
        }, keep=self.size)

    def entries(self, limit: int = 100, service: str | None = None,
                with_bodies: bool = True) -> list[dict]:
        """Newest-first entries."""
        return self.store.read_journal(min(limit, self.size), service, with_bodies,
                                       keep=self.size)

    def _cut(self, body: bytes) -> str:
        text = body[: self.body_bytes].decode("utf-8", errors="replace")
        return text + ("…[truncated]" if len(body) > self.body_bytes else "")
