"""PostgreSQL persistence (``--database-url postgresql://...``): identities, meta,
clock, scenario and rule counters, journal and metrics here; the DMP in
:mod:`simulator.store.pg_dmp`, the timeline in :mod:`simulator.store.pg_timeline`; behind
the same ports as :mod:`simulator.store.sqlite` and tested by the same contract suite.

One pool of connections per worker process (:mod:`simulator.store.pg_pool`); no
database-wide write lock: each write is one transaction, rows are locked where a
read-modify-write needs it (rule counters through ``INSERT ... ON CONFLICT ...
RETURNING``). The clock and scenario are cached per worker (:mod:`simulator.store.pg_state`).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Callable

import pg8000.dbapi

from simulator.identities.insc import insc_of
from simulator.identities.model import Identity
from simulator.journal_query import JournalQuery, journal_conditions
from simulator.ports.diagnostics import JOURNAL_COLUMNS, journal_body_text
from simulator.store.codec import identity_from_json, identity_to_json
from simulator.store.pg_dmp import PgDmpStore, migrate_registry
from simulator.store.pg_pool import ConnectionPool, PgDatabase, quote_identifier
from simulator.store.pg_state import STATE_QUERY, StateCache, load_state
from simulator.store.pg_schema import SCHEMA, SCHEMA_LOCK
from simulator.store.pg_timeline import PgTimelineStore

_WITHOUT_BODIES = ", ".join(("id",) + JOURNAL_COLUMNS[:-2])
_JOURNAL_TYPES = {column: "text" for column in JOURNAL_COLUMNS} | {
    "status": "int4", "duration_ms": "float8"}
_JOURNAL_INSERT = (f"INSERT INTO journal ({', '.join(JOURNAL_COLUMNS)}) SELECT * FROM unnest("
                   + ", ".join(f"%s::{_JOURNAL_TYPES[c]}[]" for c in JOURNAL_COLUMNS) + ")")


def _text(value) -> str | None:
    # The journal's bodies come as bytes (journal.py): PostgreSQL keeps them as text.
    return None if value is None else journal_body_text(value) \
        if isinstance(value, bytes) else str(value)


class PostgresStore:
    """The simulator's state in one PostgreSQL database, shared by workers and replicas."""

    def __init__(self, url: str, pool_size: int = 8, state_cache_seconds: float = 1.0,
                 schema: str | None = None, pool: ConnectionPool | None = None):
        """``schema``: a tenant's own PostgreSQL schema (made if absent), else the
        database's default one (docs/tenants.md). ``pool``: connections shared with the
        server's other tenants (else a pool of ``pool_size`` of its own)."""
        self.db = PgDatabase(pool or ConnectionPool(url, pool_size), schema)
        with self.db.transaction() as cursor:
            # Two processes creating the schema at once would collide in the catalog.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            if schema:
                cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")
            cursor.execute(SCHEMA)
            migrate_registry(cursor)
        self.state = StateCache(lambda: load_state(self.db.execute(STATE_QUERY)),
                                state_cache_seconds)
        self.dmp = PgDmpStore(self.db)
        self.timeline = PgTimelineStore(self.db)

    def close(self) -> None:
        """Close this process's idle connections (a tenant's store leaves them to the
        pool it shares with the others)."""
        if self.db.schema is None:
            self.db.pool.close()

    # -- meta -------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value of the meta table, or None."""
        if key == "scenario":
            scenario = self.state.values()[2]
            return json.dumps(scenario) if scenario is not None else None
        rows = self.db.execute("SELECT value FROM meta WHERE key = %s", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the meta table."""
        self.db.execute("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key)"
                        " DO UPDATE SET value = excluded.value", (key, value))
        if key == "scenario":
            self.state.changed()

    # -- clock ------------------------------------------------------------------------
    def clock_state(self) -> tuple[float, datetime | None]:
        """(offset in seconds, frozen instant or None), from this worker's cache."""
        offset, frozen_at, _ = self.state.values()
        return offset, frozen_at

    def set_clock_state(self, offset: float, frozen_at: datetime | None) -> None:
        """Persist the clock offset or frozen instant."""
        self.db.execute(
            "INSERT INTO clock (id, offset_seconds, frozen_at) VALUES (1, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET offset_seconds = excluded.offset_seconds,"
            " frozen_at = excluded.frozen_at",
            (offset, frozen_at.isoformat() if frozen_at else None))
        self.state.changed()

    # -- chaos ------------------------------------------------------------------------
    def active_scenario(self) -> dict | None:
        """The active scenario record, from this worker's cache."""
        return self.state.values()[2]

    def set_active_scenario(self, record: dict | None) -> None:
        """Activate a scenario record (or none) and forget the other rule counters."""
        with self.db.transaction() as cursor:
            if record is None:
                cursor.execute("DELETE FROM meta WHERE key = 'scenario'")
            else:
                cursor.execute("INSERT INTO meta (key, value) VALUES ('scenario', %s)"
                               " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                               (json.dumps(record),))
            cursor.execute("DELETE FROM chaos_counters WHERE scenario_id != %s",
                           (record["id"] if record else "",))
        self.state.changed()

    def count_rule_match(self, scenario_id: str, rule: int,
                         fires: Callable[[int, int], bool]) -> tuple[int, bool]:
        """Count one more match and decide whether the rule fires; the upsert locks the
        counter's row until the decision is written, so workers and replicas count
        one after the other."""
        with self.db.transaction() as cursor:
            cursor.execute(
                "INSERT INTO chaos_counters (scenario_id, rule, matched, fired)"
                " VALUES (%s, %s, 1, 0) ON CONFLICT (scenario_id, rule) DO UPDATE"
                " SET matched = chaos_counters.matched + 1 RETURNING matched, fired",
                (scenario_id, rule))
            matched, fired = cursor.fetchone()
            firing = fires(matched, fired)
            if firing:
                cursor.execute("UPDATE chaos_counters SET fired = fired + 1"
                               " WHERE scenario_id = %s AND rule = %s", (scenario_id, rule))
            return matched, firing

    def rule_counters(self, scenario_id: str) -> dict[int, tuple[int, int]]:
        """rule -> (times matched, times fired) for an activation."""
        rows = self.db.execute("SELECT rule, matched, fired FROM chaos_counters"
                               " WHERE scenario_id = %s", (scenario_id,))
        return {rule: (matched, fired) for rule, matched, fired in rows}

    # -- identities -------------------------------------------------------------------
    def replace_identities(self, identities: list[Identity],
                           keep_changes: bool = False) -> None:
        """Drop every identity and store these instead, in one transaction; with
        ``keep_changes`` the runtime changes are replayed over them."""
        with self.db.transaction() as cursor:
            cursor.execute("LOCK TABLE identities IN EXCLUSIVE MODE")
            cursor.execute("DELETE FROM matricules")
            cursor.execute("DELETE FROM identities")
            _insert_identities(cursor, identities)
            if not keep_changes:
                cursor.execute("DELETE FROM identity_changes")
                return
            cursor.execute("SELECT key, payload FROM identity_changes ORDER BY seq")
            for key, payload in cursor.fetchall():
                _delete_identity(cursor, key)
                if payload is not None:
                    _insert_identities(cursor, [identity_from_json(payload)])

    def add_identity(self, identity: Identity) -> None:
        """Store one more identity; ``KeyError`` when its key exists (the primary key
        decides between two concurrent additions)."""
        with self.db.transaction() as cursor:
            cursor.execute("SELECT 1 FROM identities WHERE key = %s", (identity.key,))
            if cursor.fetchall():
                raise KeyError(identity.key)
            try:
                _insert_identities(cursor, [identity])
            except pg8000.dbapi.IntegrityError as error:
                raise KeyError(identity.key) from error
            _log_change(cursor, identity.key, identity)

    def update_identity(self, identity: Identity) -> bool:
        """Replace the identity of the same key; False when there is none."""
        with self.db.transaction() as cursor:
            if not _delete_identity(cursor, identity.key):
                return False
            _insert_identities(cursor, [identity])
            _log_change(cursor, identity.key, identity)
            return True

    def delete_identity(self, key: str) -> bool:
        """Remove an identity; False when there is none."""
        with self.db.transaction() as cursor:
            if not _delete_identity(cursor, key):
                return False
            _log_change(cursor, key, None)
            return True

    def identities_by_traits(self, birth_name: str, sex: str, birth_date: str) -> list[Identity]:
        """Identities with exactly this birth name, sex and birth date."""
        return self._identities(
            "SELECT payload FROM identities WHERE birth_name = %s AND sex = %s"
            " AND birth_date = %s ORDER BY key", (birth_name, sex, birth_date))

    def identities_by_matricule(self, number: str, roles: tuple[str, ...]) -> list[Identity]:
        """Identities holding ``number`` in one of ``roles``."""
        return self._identities(
            "SELECT i.payload FROM identities i WHERE i.key IN (SELECT identity_key FROM"
            " matricules WHERE number = %s AND role = ANY(%s)) ORDER BY i.key",
            (number, list(roles)))

    def identity_by_insc(self, insc: str) -> Identity | None:
        """The identity whose INS-C is ``insc`` (the lowest key if several)."""
        found = self._identities(
            "SELECT i.payload FROM identities i JOIN matricules m ON m.identity_key = i.key"
            " WHERE m.number = %s AND m.role = 'insc' ORDER BY i.key LIMIT 1", (insc,))
        return found[0] if found else None

    def get_identity(self, key: str) -> Identity | None:
        """One identity by its registry key."""
        found = self._identities("SELECT payload FROM identities WHERE key = %s", (key,))
        return found[0] if found else None

    def search_identities(self, text: str = "", source: str | None = None,
                          limit: int = 50, offset: int = 0) -> tuple[int, list[Identity]]:
        """(total, page) of identities whose name, first names, matricule or INS-C
        contain ``text`` (case-insensitively, as SQLite's LIKE)."""
        where, params = ["TRUE"], []
        if text:
            where.append("(birth_name ILIKE %s OR payload ILIKE %s OR key IN"
                         " (SELECT identity_key FROM matricules WHERE number ILIKE %s))")
            like = "%" + _like_escape(text.upper()) + "%"
            params += [like, like, like]
        if source:
            where.append("source = %s")
            params.append(source)
        clause = " AND ".join(where)
        total = self.db.execute(f"SELECT COUNT(*) FROM identities WHERE {clause}", params)[0][0]
        page = self._identities(
            f"SELECT payload FROM identities WHERE {clause} ORDER BY key LIMIT %s OFFSET %s",
            (*params, limit, offset))
        return total, page

    def count_identities(self) -> int:
        """How many identities the registry holds."""
        return self.db.execute("SELECT COUNT(*) FROM identities")[0][0]

    def _identities(self, sql: str, params) -> list[Identity]:
        return [identity_from_json(row[0]) for row in self.db.execute(sql, params)]

    # -- replicas ---------------------------------------------------------------------
    def beat_replica(self, replica: str, details: dict, forget_after: float) -> None:
        """Record that ``replica`` is alive now (the server's clock); forget those silent
        for ``forget_after`` seconds."""
        with self.db.transaction() as cursor:
            cursor.execute(
                "INSERT INTO replicas (replica, first_seen, last_seen, details) VALUES"
                " (%s, clock_timestamp(), clock_timestamp(), %s) ON CONFLICT (replica)"
                " DO UPDATE SET last_seen = excluded.last_seen, details = excluded.details",
                (replica, json.dumps(details)))
            cursor.execute("DELETE FROM replicas WHERE last_seen < clock_timestamp()"
                           " - make_interval(secs => %s)", (float(forget_after),))

    def forget_replica(self, replica: str) -> None:
        """Remove ``replica`` from the list."""
        self.db.execute("DELETE FROM replicas WHERE replica = %s", (replica,))

    def replicas(self) -> list[dict]:
        """Every replica recorded, by id, with the seconds since its last heartbeat."""
        rows = self.db.execute(
            "SELECT replica, first_seen, last_seen, GREATEST(0, EXTRACT(EPOCH FROM"
            " clock_timestamp() - last_seen))::float8, details FROM replicas ORDER BY replica")
        return [{"replica": replica, "first_seen": _utc(first), "last_seen": _utc(last),
                 "silent_seconds": silent, "details": json.loads(details)}
                for replica, first, last, silent, details in rows]

    # -- journal ----------------------------------------------------------------------
    def append_journal(self, entries: list[dict], keep: int) -> None:
        """Record exchanges and trim the journal to the newest ``keep`` entries."""
        columns = [[_text(entry.get(c)) if _JOURNAL_TYPES[c] == "text" else entry.get(c)
                    for entry in entries] for c in JOURNAL_COLUMNS]
        with self.db.transaction() as cursor:
            cursor.execute(_JOURNAL_INSERT, columns)  # the whole batch in one statement
            cursor.execute("DELETE FROM journal WHERE id <= (SELECT MAX(id) FROM journal) - %s",
                           (keep,))

    def read_journal(self, limit: int, service: str | None = None,
                     with_bodies: bool = True, keep: int | None = None) -> list[dict]:
        """Newest-first journal entries (at most ``limit``, never older than ``keep``)."""
        return self.query_journal(JournalQuery(service=service, limit=limit,
                                               bodies=with_bodies), keep)[0]

    def query_journal(self, query: JournalQuery, keep: int | None = None
                      ) -> tuple[list[dict], int]:
        """(newest-first entries matching ``query``; how many match in all); ``KeyError``
        when ``query.since`` names a request id the journal does not hold."""
        where, params = journal_conditions(query)  # ? marks, outcome_has (pg_schema)
        where = [condition.replace("?", "%s") for condition in where]
        if keep is not None:
            where.append("id > (SELECT COALESCE(MAX(id), 0) FROM journal) - %s")
            params.append(keep)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        if isinstance(query.since, str) and not self.db.execute(
                "SELECT 1 FROM journal WHERE request_id = %s LIMIT 1", (query.since,)):
            raise KeyError(query.since)
        count = self.db.execute(f"SELECT COUNT(*) FROM journal {clause}", params)[0][0]
        columns = "*" if query.bodies else _WITHOUT_BODIES
        rows = self.db.query(f"SELECT {columns} FROM journal {clause}"
                             " ORDER BY real_at DESC, id DESC LIMIT %s", (*params, query.limit))
        return rows, count

    def journal_entry(self, request_id: str, keep: int | None = None) -> dict | None:
        """One journal entry with its bodies, or None (also when older than ``keep``)."""
        window = "" if keep is None else \
            " AND id > (SELECT COALESCE(MAX(id), 0) FROM journal) - %s"
        rows = self.db.query(
            f"SELECT * FROM journal WHERE request_id = %s{window} ORDER BY id DESC LIMIT 1",
            (request_id,) if keep is None else (request_id, keep))
        return rows[0] if rows else None

    def clear_journal(self) -> None:
        """Forget every journal entry."""
        self.db.execute("DELETE FROM journal")

    # -- metrics ----------------------------------------------------------------------
    def add_metrics(self, increments: list[tuple[str, tuple, float]]) -> None:
        """Add ``(name, labels, value)`` increments to the metric counters (sorted, so
        that two workers' batches lock the rows in the same order)."""
        totals: dict[tuple[str, str], float] = {}
        for name, labels, value in increments:
            key = (name, json.dumps(labels))
            totals[key] = totals.get(key, 0.0) + value
        rows = sorted(totals.items())
        if not rows:
            return
        self.db.execute(
            "INSERT INTO metrics (name, labels, value) SELECT * FROM unnest(%s::text[],"
            " %s::text[], %s::float8[]) ON CONFLICT (name, labels) DO UPDATE"
            " SET value = metrics.value + excluded.value",
            ([name for (name, _), _ in rows], [labels for (_, labels), _ in rows],
             [float(value) for _, value in rows]))

    def read_metrics(self) -> list[tuple[str, tuple, float]]:
        """Every counter as ``(name, labels, value)``, sorted by name and labels."""
        return read_metrics(self.db)


def read_metrics(db: PgDatabase) -> list[tuple[str, tuple, float]]:
    """Every counter of the metrics table ``db`` sees, sorted by name and labels."""
    rows = db.execute("SELECT name, labels, value FROM metrics"
                      " ORDER BY name COLLATE \"C\", labels COLLATE \"C\"")
    return [(name, tuple(tuple(pair) for pair in json.loads(labels)), value)
            for name, labels, value in rows]


def _utc(instant: datetime) -> str:
    """An instant of a TIMESTAMPTZ column as ISO-8601 in UTC (as SQLite's are written)."""
    return instant.astimezone(timezone.utc).isoformat()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _insert_identities(cursor, identities: list[Identity]) -> None:
    """Insert identities and their matricules in two statements (arrays unnested
    server-side: one round trip per table rather than per row)."""
    if not identities:
        return
    columns = list(zip(*[(i.key, i.birth_name, i.sex, i.birth_date, i.source,
                          identity_to_json(i)) for i in identities]))
    cursor.execute("INSERT INTO identities (key, birth_name, sex, birth_date, source, payload)"
                   " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[],"
                   " %s::text[], %s::text[])", [list(c) for c in columns])
    rows = []
    for identity in identities:
        rows.append((identity.active.number, identity.key, "active"))
        rows += [(m.number, identity.key, "history") for m in identity.history]
        rows.append((identity.ouvrant_droit, identity.key, "ouvrant-droit"))
        rows.append((insc_of(identity), identity.key, "insc"))
    numbers, keys, roles = (list(c) for c in zip(*rows))
    cursor.execute("INSERT INTO matricules (number, identity_key, role)"
                   " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[])",
                   (numbers, keys, roles))


def _delete_identity(cursor, key: str) -> bool:
    cursor.execute("DELETE FROM matricules WHERE identity_key = %s", (key,))
    cursor.execute("DELETE FROM identities WHERE key = %s RETURNING key", (key,))
    return bool(cursor.fetchall())


def _log_change(cursor, key: str, identity: Identity | None) -> None:
    cursor.execute("INSERT INTO identity_changes (key, payload) VALUES (%s, %s)",
                   (key, identity_to_json(identity) if identity is not None else None))
