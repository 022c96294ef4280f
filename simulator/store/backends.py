"""Which store backend a simulator uses: SQLite under the data directory (the default),
or PostgreSQL when ``--database-url`` (``SIM_DATABASE_URL``) is given (docs/storage.md).

Both hold every part of the store (:mod:`simulator.ports`) and pass one contract suite
(tests/store_contract/). A URL the simulator cannot use is refused at start, in one line.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from urllib.parse import urlsplit


def database_url_problem(url: str) -> str | None:
    """Why the simulator cannot use ``url`` (read without connecting), or None."""
    scheme = urlsplit(url).scheme
    if scheme not in ("postgresql", "postgres"):
        return (f"unsupported scheme {scheme!r}: give postgresql://user:password@host:port/"
                "database, or no URL for the embedded SQLite store")
    if importlib.util.find_spec("pg8000") is None:
        return ("the PostgreSQL driver is not installed: "
                "pip install 'insi-dmp-simulator[postgres]'")
    from simulator.store.pg_pool import DatabaseUrlError, sslmode
    try:
        sslmode(url)
    except DatabaseUrlError as error:
        return str(error)
    return None


def unreachable(url: str) -> str | None:
    """Why the database at ``url`` cannot be used now (one connection tried), or None."""
    import pg8000.dbapi

    from simulator.store.pg_pool import connect_arguments
    try:
        pg8000.dbapi.connect(**connect_arguments(url), timeout=10).close()
    except (pg8000.dbapi.Error, OSError) as error:
        details = error.args[0] if error.args else error
        if isinstance(details, dict):  # a server's refusal: its message and SQLSTATE
            details = f"{details.get('M', '')} ({details.get('C', '?')})"
        return f"cannot connect to {urlsplit(url).hostname or 'the database'}: {details}"
    return None


def open_pool(database_url: str | None, pool_size: int = 8):
    """The pool of PostgreSQL connections every tenant of one server shares (``pool_size``
    per worker process, whatever the number of tenants, so that tenants x workers x
    replicas cannot exhaust the server's ``max_connections``), or None without a URL."""
    if not database_url:
        return None
    from simulator.store.pg_pool import ConnectionPool
    return ConnectionPool(database_url, pool_size)


def open_backend(data_dir: Path, database_url: str | None = None,
                 state_cache_seconds: float = 1.0, pool_size: int = 8,
                 schema: str | None = None, pool=None):
    """The store: PostgreSQL at ``database_url`` (in ``schema``, a tenant's, if given;
    on ``pool`` if given, see :func:`open_pool`), else SQLite in ``data_dir``."""
    if database_url:
        from simulator.store.postgres import PostgresStore
        return PostgresStore(database_url, pool_size, state_cache_seconds, schema, pool)
    from simulator.store.sqlite import open_store
    return open_store(data_dir, state_cache_seconds)


def open_tenant_list(root: Path, limit: int, database_url: str | None = None,
                     state_cache_seconds: float = 1.0, pool_size: int = 8, pool=None):
    """The list of tenants: in the PostgreSQL database at ``database_url`` (every
    replica then sees the same tenants), else in files under ``root``."""
    if database_url:
        from simulator.store.pg_tenants import PgTenantDirectory
        return PgTenantDirectory(database_url, limit, root, state_cache_seconds, pool_size,
                                 pool)
    from simulator.tenants.directory import TenantDirectory
    return TenantDirectory(root, limit)
