"""The list of tenants in the PostgreSQL database (``--database-url``), shared by every
worker and every replica on that database.

Each tenant's state lives in a PostgreSQL schema of its own, named by the random id of
its creation (``tenant_<id>``), beside the default tenant's tables: a tenant deleted and
created again is a new schema, so a worker still holding the old one can never write
the old state into the new tenant (its statements fail: the old schema is dropped).
The ``sim_tenants`` table lists the published tenants; creations and deletions are
serialised by one advisory lock.

Whether a tenant is still current is read from a snapshot of that table refreshed at
most every ``cache_seconds`` (``SIM_STATE_CACHE_SECONDS``, as the clock and scenario):
a tenant deleted through one replica stops being served by the others within that
bound; this process sees its own creations and deletions at once.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pg8000.dbapi

from simulator.store.pg_pool import ConnectionPool, PgDatabase, quote_identifier
from simulator.store.postgres import read_metrics
from simulator.ports.tenants import TenantLimit, TenantRecord
from simulator.tenants.names import check_name

# Key of the advisory lock serialising tenant creations and deletions (our own constant).
TENANTS_LOCK = 0x51D_7E4A
TABLE = """CREATE TABLE IF NOT EXISTS sim_tenants (
    name TEXT COLLATE "C" PRIMARY KEY,
    id TEXT NOT NULL,
    created TEXT NOT NULL
)"""


def schema_of(tenant_id: str) -> str:
    """The PostgreSQL schema holding the state of the tenant created as ``tenant_id``."""
    return f"tenant_{tenant_id}"


class PgTenantDirectory:
    """Creates, finds, lists and deletes tenants in one PostgreSQL database; same
    interface as :class:`simulator.tenants.directory.TenantDirectory`."""

    def __init__(self, url: str, limit: int, local_root: Path, cache_seconds: float = 1.0,
                 pool_size: int = 8, pool: ConnectionPool | None = None):
        self.db = PgDatabase(pool or ConnectionPool(url, pool_size))
        self.limit = limit
        self.local_root = Path(local_root)  # local files of a tenant, if any
        self.cache_seconds = cache_seconds
        self._snapshot: tuple[float, dict[str, str]] | None = None
        with self.db.transaction() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (TENANTS_LOCK,))
            cursor.execute(TABLE)

    def get(self, name: str) -> TenantRecord | None:
        """The published tenant ``name`` (a checked name), or None."""
        rows = self.db.execute("SELECT id, created FROM sim_tenants WHERE name = %s", (name,))
        return self._record(name, *rows[0]) if rows else None

    def records(self) -> list[TenantRecord]:
        """Every published tenant, by name."""
        rows = self.db.execute("SELECT name, id, created FROM sim_tenants ORDER BY name")
        return [self._record(*row) for row in rows]

    def reserve(self, name: str) -> TenantRecord:
        """A new, unpublished tenant ``name`` (its schema is made when its store is
        opened); raises :class:`TenantLimit` when ``limit`` tenants exist already."""
        check_name(name)
        with self.db.transaction() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (TENANTS_LOCK,))
            self._check_limit(cursor, name)
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return self._record(name, uuid.uuid4().hex[:12], created)

    def publish(self, record: TenantRecord) -> tuple[TenantRecord, bool]:
        """Make a reserved (and initialised) tenant visible to every process. Returns
        (the tenant, True) or, when another process published ``name`` first, (theirs,
        False) after dropping ``record``'s schema. Raises :class:`TenantLimit` when the
        others filled the last places meanwhile."""
        with self.db.transaction() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (TENANTS_LOCK,))
            cursor.execute("SELECT id, created FROM sim_tenants WHERE name = %s",
                           (record.name,))
            row = cursor.fetchone()
            if row is None:
                try:
                    self._check_limit(cursor, record.name)
                except TenantLimit:
                    _drop_schema(cursor, record)
                    raise
                cursor.execute("INSERT INTO sim_tenants (name, id, created)"
                               " VALUES (%s, %s, %s)", (record.name, record.id, record.created))
            else:
                _drop_schema(cursor, record)
        self._snapshot = None
        if row is None:
            return record, True
        return self._record(record.name, *row), False

    def delete(self, name: str) -> bool:
        """Remove tenant ``name`` and its schema; whether it existed."""
        check_name(name)
        with self.db.transaction() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (TENANTS_LOCK,))
            cursor.execute("DELETE FROM sim_tenants WHERE name = %s RETURNING id", (name,))
            row = cursor.fetchone()
            if row is not None:
                _drop_schema(cursor, self._record(name, row[0], ""))
        self._snapshot = None
        return row is not None

    def discard_stale(self, record: TenantRecord) -> None:
        """Drop ``record``'s schema unless it is its tenant's current one (a process
        opening a tenant deleted meanwhile has made its schema again)."""
        with self.db.transaction() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (TENANTS_LOCK,))
            cursor.execute("SELECT 1 FROM sim_tenants WHERE name = %s AND id = %s",
                           (record.name, record.id))
            if cursor.fetchone() is None:
                _drop_schema(cursor, record)

    def is_current(self, record: TenantRecord) -> bool:
        """Whether ``record`` still is its tenant: yes from a fresh enough snapshot (see
        the module doc), no round trip on most requests; a "no" is always read again
        (the snapshot may predate the tenant's creation by another process)."""
        loaded = self._snapshot
        if loaded is not None and time.monotonic() - loaded[0] < self.cache_seconds \
                and loaded[1].get(record.name) == record.id:
            return True
        rows = self.db.execute("SELECT name, id FROM sim_tenants")
        self._snapshot = (time.monotonic(), dict(rows))
        return self._snapshot[1].get(record.name) == record.id

    def stored_metrics(self, record: TenantRecord) -> list:
        """The stored metrics of a tenant this process has not opened (read from its
        schema, which is never made here: a tenant deleted meanwhile has none)."""
        try:
            return read_metrics(PgDatabase(self.db.pool, record.schema))
        except pg8000.dbapi.DatabaseError:  # its schema was dropped meanwhile
            return []

    def _check_limit(self, cursor, name: str) -> None:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE name = %s) FROM sim_tenants",
                       (name,))
        total, same = cursor.fetchone()
        if not same and total >= self.limit:
            raise TenantLimit(f"this simulator serves at most {self.limit} tenants "
                              "(SIM_MAX_TENANTS); delete one (DELETE /_admin/tenants/"
                              "<name>) or raise the limit")

    def _record(self, name: str, tenant_id: str, created: str) -> TenantRecord:
        return TenantRecord(name, tenant_id, created, self.local_root / name / tenant_id,
                            schema=schema_of(tenant_id))


def _drop_schema(cursor, record: TenantRecord) -> None:
    cursor.execute(f"DROP SCHEMA IF EXISTS {quote_identifier(schema_of(record.id))} CASCADE")
