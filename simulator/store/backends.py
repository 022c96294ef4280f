"""Which store backend a simulator uses: SQLite under the data directory (the default),
or PostgreSQL when ``--database-url`` (``SIM_DATABASE_URL``) is given.

The PostgreSQL adapter does not hold every part of the store yet (:data:`POSTGRES_MISSING`):
while it does not, a database URL is refused at start with one line naming what is
missing, rather than a simulator that half works (docs/storage.md).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from urllib.parse import urlsplit

# Parts of the simulator's store that the PostgreSQL adapter does not provide yet.
POSTGRES_MISSING: tuple[str, ...] = ()


def database_url_problem(url: str) -> str | None:
    """Why the simulator cannot run on ``url``, or None."""
    scheme = urlsplit(url).scheme
    if scheme not in ("postgresql", "postgres"):
        return (f"unsupported scheme {scheme!r}: give postgresql://user:password@host:port/"
                "database, or no URL for the embedded SQLite store")
    if importlib.util.find_spec("pg8000") is None:
        return "the PostgreSQL driver is not installed: pip install 'insi-dmp-simulator[postgres]'"
    if POSTGRES_MISSING:
        return ("the PostgreSQL backend does not hold " + " nor ".join(POSTGRES_MISSING)
                + " yet; run on SQLite (the default, --data-dir) — docs/storage.md")
    return None


def open_backend(data_dir: Path, database_url: str | None = None,
                 state_cache_seconds: float = 1.0, pool_size: int = 8):
    """The store: PostgreSQL at ``database_url``, else SQLite in ``data_dir``."""
    if database_url:
        from simulator.store.postgres import PostgresStore
        return PostgresStore(database_url, pool_size, state_cache_seconds)
    from simulator.store.sqlite import open_store
    return open_store(data_dir)
