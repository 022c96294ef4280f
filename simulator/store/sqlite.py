"""SQLite persistence for everything mutable: identities, clock, scenario, journal;
the DMP tables are in :mod:`simulator.store.dmp`, the timeline's in
:mod:`simulator.store.timeline`.

Two files per data directory (state and diagnostics), WAL mode, one connection per
process (opened lazily after a fork), so gunicorn workers and test threads share state.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from simulator.identities.insc import insc_of
from simulator.identities.model import Identity
from simulator.journal_query import JournalQuery, journal_conditions, outcome_has
from simulator.ports.diagnostics import JOURNAL_COLUMNS, journal_body_text
from simulator.store.database import Database
from simulator.store.identity_cache import IdentityLookups
from simulator.store.dmp import DmpStore
from simulator.store.pg_state import STATE_QUERY, StateCache, load_state
from simulator.store.state_token import shared_token
from simulator.store.timeline import TimelineStore
from simulator.store.codec import identity_from_json, identity_to_json

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    offset_seconds REAL NOT NULL,
    frozen_at TEXT
);
CREATE TABLE IF NOT EXISTS identities (
    key TEXT PRIMARY KEY,
    birth_name TEXT NOT NULL,
    sex TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    source TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS identities_traits ON identities (birth_name, sex, birth_date);
CREATE TABLE IF NOT EXISTS matricules (
    number TEXT NOT NULL,
    identity_key TEXT NOT NULL REFERENCES identities (key) ON DELETE CASCADE,
    role TEXT NOT NULL  -- active | history | ouvrant-droit | insc (22-digit INS-C)
);
CREATE INDEX IF NOT EXISTS matricules_number ON matricules (number, role);
-- Identities added, replaced or deleted through /_admin since the last reset, in order
-- (payload NULL: deleted), replayed over a new initial set (simulator.identities.registry).
CREATE TABLE IF NOT EXISTS identity_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    payload TEXT
);
"""

# Bump when the diagnostics schema changes: the file is then recreated empty.
# 6: the journal's replica column, the replicas table; 7: the journal's bodies as BLOBs
# The two files of a data directory: the state, and the journal, metrics and counters.
STATE_FILE, DIAGNOSTICS_FILE = "simulator.sqlite3", "diagnostics.sqlite3"
DIAGNOSTICS_VERSION = 8
# A journalled exchange carries up to two 16 KiB bodies, which spill into overflow
# pages, each written to the WAL with its own write calls: a 5 KB request and a 16 KiB
# answer cost 86 µs of CPU an entry on 4 KiB pages, 52 µs on 16 KiB
# (benchmarks/journal_pages.py, issue 15).
DIAGNOSTICS_PAGE_SIZE = 16384
DIAGNOSTICS_SCHEMA = f"""
PRAGMA user_version = {DIAGNOSTICS_VERSION};
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    at TEXT NOT NULL,
    real_at TEXT NOT NULL,
    service TEXT NOT NULL,
    operation TEXT,
    http_method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT,
    chaos TEXT,
    duration_ms REAL NOT NULL,
    client TEXT,
    software TEXT,
    structure TEXT,
    professional TEXT,
    patient TEXT,
    replica TEXT,
    request_body BLOB,  -- the bytes as recorded (journal.py), decoded when read
    response_body BLOB
);
CREATE INDEX IF NOT EXISTS journal_request_id ON journal (request_id);
CREATE INDEX IF NOT EXISTS journal_real_at ON journal (real_at, id);
CREATE TABLE IF NOT EXISTS metrics (
    name TEXT NOT NULL,
    labels TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (name, labels)
);
CREATE TABLE IF NOT EXISTS chaos_counters (
    scenario_id TEXT NOT NULL,
    rule INTEGER NOT NULL,
    matched INTEGER NOT NULL,
    fired INTEGER NOT NULL,
    PRIMARY KEY (scenario_id, rule)
);
CREATE TABLE IF NOT EXISTS replicas (
    replica TEXT PRIMARY KEY,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    details TEXT NOT NULL
);
"""

_JOURNAL_COLUMNS_WITHOUT_BODIES = ", ".join(("id",) + JOURNAL_COLUMNS[:-2])
_BODIES = JOURNAL_COLUMNS[-2:]


class SQLiteStore:
    """The simulator's state: one SQLite file for state, one for diagnostics.

    The diagnostics (journal, metrics, chaos rule counters) live in their own file with
    ``synchronous=OFF``: they are written for every request, and commits with checkpoint fsyncs on the shared file
    cost INSi a large part of its throughput (benchmarks/README.md). Losing their last
    entries in a power cut is acceptable; losing state is not.
    """

    def __init__(self, data_dir: Path, state_cache_seconds: float = 1.0):
        self.data = Database(Path(data_dir) / STATE_FILE, SCHEMA, "NORMAL")
        self._data_dir, self._state_cache_seconds = Path(data_dir), state_cache_seconds
        self._state: StateCache | None = None
        diagnostics_path = Path(data_dir) / DIAGNOSTICS_FILE
        _drop_if_outdated(diagnostics_path, DIAGNOSTICS_VERSION)
        self.diagnostics = Database(diagnostics_path, DIAGNOSTICS_SCHEMA, "OFF",
                                    DIAGNOSTICS_PAGE_SIZE)
        self.dmp = DmpStore(self.data)
        self.timeline = TimelineStore(self.data)
        # Matricule lookups kept until an identity changes (identity_cache.py, issue 15).
        self._lookups = IdentityLookups()

    def _execute(self, sql: str, params=()) -> list[tuple]:
        return self.data.execute(sql, params)

    @property
    def state(self) -> StateCache:
        """The clock and scenario of this process, reloaded (one query) when any process
        of the machine changed them (state_token.py) or after ``state_cache_seconds``:
        two queries per request less (issue 15), as on PostgreSQL (docs/storage.md)."""
        if self._state is None:  # made on first use: a store opened only to read
            data = self.data  # metrics (tenants_api) leaves no file behind
            # The database, not the store, in the loader: a store -> cache -> store cycle
            # kept a dropped store's connections open until the garbage collector ran
            # (identity changes now use the cache: every app's seeding store).
            self._state = StateCache(
                lambda: load_state(data.execute(STATE_QUERY)), self._state_cache_seconds,
                shared_token(self._data_dir))
        return self._state

    def transaction(self):
        """Context manager: one write transaction on the state database."""
        return self.data.transaction()

    def close(self) -> None:
        """Close this process's connections."""
        self.data.close()
        self.diagnostics.close()

    # -- meta -------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value of the meta table, or None."""
        rows = self._execute("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the meta table."""
        self._execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        if key == "scenario":
            self.state.changed()

    # -- clock ------------------------------------------------------------------------
    def clock_state(self) -> tuple[float, datetime | None]:
        """(offset in seconds, frozen instant or None), from this process's cache."""
        offset, frozen_at, _ = self.state.values()
        return offset, frozen_at

    def set_clock_state(self, offset: float, frozen_at: datetime | None) -> None:
        """Persist the clock offset or frozen instant."""
        self._execute(
            "INSERT OR REPLACE INTO clock (id, offset_seconds, frozen_at) VALUES (1, ?, ?)",
            (offset, frozen_at.isoformat() if frozen_at else None))
        self.state.changed()

    # -- chaos ------------------------------------------------------------------------
    def active_scenario(self) -> dict | None:
        """The active scenario record ``{"id", "origin", "source"}``, or None (from this
        process's cache: shared, not to be changed)."""
        return self.state.values()[2]

    def set_active_scenario(self, record: dict | None) -> None:
        """Activate a scenario record (or none) and forget every rule counter."""
        if record is None:
            self._execute("DELETE FROM meta WHERE key = 'scenario'")
            self.state.changed()
        else:
            self.set_meta("scenario", json.dumps(record))
        # Counters are keyed by activation id, so deleting them after the switch is safe.
        self.diagnostics.execute("DELETE FROM chaos_counters WHERE scenario_id != ?",
                                 (record["id"] if record else "",))

    def count_rule_match(self, scenario_id: str, rule: int, fires) -> tuple[int, bool]:
        """Count one more match of a rule and decide, atomically across workers, whether
        it fires: ``fires(matched, fired_so_far) -> bool``. Returns (matched, fired)."""
        with self.diagnostics.transaction() as conn:
            matched, fired = conn.execute(
                "INSERT INTO chaos_counters (scenario_id, rule, matched, fired) VALUES (?, ?, 1, 0)"
                " ON CONFLICT (scenario_id, rule) DO UPDATE SET matched = matched + 1"
                " RETURNING matched, fired", (scenario_id, rule)).fetchone()
            firing = fires(matched, fired)
            if firing:
                conn.execute("UPDATE chaos_counters SET fired = fired + 1"
                             " WHERE scenario_id = ? AND rule = ?", (scenario_id, rule))
            return matched, firing

    def rule_counters(self, scenario_id: str) -> dict[int, tuple[int, int]]:
        """rule -> (times matched, times fired) for an activation."""
        rows = self.diagnostics.execute("SELECT rule, matched, fired FROM chaos_counters"
                                        " WHERE scenario_id = ?", (scenario_id,))
        return {rule: (matched, fired) for rule, matched, fired in rows}

    # -- identities -------------------------------------------------------------------
    def replace_identities(self, identities: list[Identity],
                           keep_changes: bool = False) -> None:
        """Drop every identity and store these instead, in one transaction. With
        ``keep_changes``, the runtime changes (:meth:`add_identity`,
        :meth:`update_identity`, :meth:`delete_identity`) are replayed over them;
        without, they are forgotten."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM matricules")
            conn.execute("DELETE FROM identities")
            for identity in identities:
                _insert_identity(conn, identity)
            if not keep_changes:
                conn.execute("DELETE FROM identity_changes")
            else:
                for key, payload in conn.execute(
                        "SELECT key, payload FROM identity_changes ORDER BY seq").fetchall():
                    _delete_identity(conn, key)
                    if payload is not None:
                        _insert_identity(conn, identity_from_json(payload))
        self._identities_changed()

    def add_identity(self, identity: Identity) -> None:
        """Store one more identity (kept until the next reset); raises ``KeyError`` when
        its key exists."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM identities WHERE key = ?",
                            (identity.key,)).fetchone():
                raise KeyError(identity.key)
            _insert_identity(conn, identity)
            _log_change(conn, identity.key, identity)
        self._identities_changed()

    def update_identity(self, identity: Identity) -> bool:
        """Replace the identity of the same key (kept until the next reset); False when
        there is none."""
        with self.transaction() as conn:
            if not _delete_identity(conn, identity.key):
                return False
            _insert_identity(conn, identity)
            _log_change(conn, identity.key, identity)
        self._identities_changed()
        return True

    def delete_identity(self, key: str) -> bool:
        """Remove an identity (until the next reset); False when there is none."""
        with self.transaction() as conn:
            if not _delete_identity(conn, key):
                return False
            _log_change(conn, key, None)
        self._identities_changed()
        return True

    def _identities_changed(self) -> None:
        """After the commit: every process of the data directory drops the lookups it
        kept (the state token, identity_cache.py) and reloads its clock and scenario."""
        self.state.changed()

    def identities_by_traits(self, birth_name: str, sex: str, birth_date: str) -> list[Identity]:
        """Identities with exactly this birth name, sex and birth date."""
        return self._identities(
            "SELECT payload FROM identities WHERE birth_name = ? AND sex = ? AND birth_date = ?"
            " ORDER BY key", (birth_name, sex, birth_date))

    def identities_by_matricule(self, number: str, roles: tuple[str, ...]) -> list[Identity]:
        """Identities holding ``number`` in one of ``roles`` (active, history, ouvrant-droit)."""
        marks = ",".join("?" * len(roles))
        return self._lookups.get(self.state, (number, tuple(roles)), lambda: self._identities(
            "SELECT DISTINCT i.payload, i.key FROM identities i JOIN matricules m"
            f" ON m.identity_key = i.key WHERE m.number = ? AND m.role IN ({marks})"
            " ORDER BY i.key", (number, *roles)))

    def identity_by_insc(self, insc: str) -> Identity | None:
        """The identity whose INS-C is ``insc`` (the lowest key if Vitale data collide)."""
        found = self._identities(
            "SELECT i.payload FROM identities i JOIN matricules m ON m.identity_key = i.key"
            " WHERE m.number = ? AND m.role = 'insc' ORDER BY i.key LIMIT 1", (insc,))
        return found[0] if found else None

    def get_identity(self, key: str) -> Identity | None:
        """One identity by its registry key."""
        found = self._identities("SELECT payload FROM identities WHERE key = ?", (key,))
        return found[0] if found else None

    def search_identities(self, text: str = "", source: str | None = None,
                          limit: int = 50, offset: int = 0) -> tuple[int, list[Identity]]:
        """(total, page) of identities whose name, first names, matricule or INS-C
        contain ``text``."""
        where, params = ["1 = 1"], []
        if text:
            where.append("(birth_name LIKE ? OR payload LIKE ? OR key IN"
                         " (SELECT identity_key FROM matricules WHERE number LIKE ?))")
            like = f"%{text.upper()}%"
            params += [like, like, like]
        if source:
            where.append("source = ?")
            params.append(source)
        clause = " AND ".join(where)
        total = self._execute(f"SELECT COUNT(*) FROM identities WHERE {clause}", params)[0][0]
        page = self._identities(
            f"SELECT payload FROM identities WHERE {clause} ORDER BY key LIMIT ? OFFSET ?",
            (*params, limit, offset))
        return total, page

    def count_identities(self) -> int:
        """How many identities the registry holds."""
        return self._execute("SELECT COUNT(*) FROM identities")[0][0]

    def _identities(self, sql: str, params) -> list[Identity]:
        return [identity_from_json(row[0]) for row in self._execute(sql, params)]

    # -- replicas ---------------------------------------------------------------------
    def beat_replica(self, replica: str, details: dict, forget_after: float) -> None:
        """Record that ``replica`` is alive now; forget those silent for ``forget_after``
        seconds."""
        now = datetime.now(timezone.utc)
        with self.diagnostics.transaction() as conn:
            conn.execute("INSERT INTO replicas (replica, first_seen, last_seen, details)"
                         " VALUES (?, ?, ?, ?) ON CONFLICT (replica) DO UPDATE SET"
                         " last_seen = excluded.last_seen, details = excluded.details",
                         (replica, now.isoformat(), now.isoformat(), json.dumps(details)))
            conn.execute("DELETE FROM replicas WHERE last_seen < ?",
                         ((now - timedelta(seconds=forget_after)).isoformat(),))

    def forget_replica(self, replica: str) -> None:
        """Remove ``replica`` from the list."""
        self.diagnostics.execute("DELETE FROM replicas WHERE replica = ?", (replica,))

    def replicas(self) -> list[dict]:
        """Every replica recorded, by id, with the seconds since its last heartbeat."""
        now = datetime.now(timezone.utc)
        rows = self.diagnostics.execute("SELECT replica, first_seen, last_seen, details"
                                        " FROM replicas ORDER BY replica")
        return [{"replica": replica, "first_seen": first, "last_seen": last,
                 "silent_seconds": max(0.0, (now - datetime.fromisoformat(last))
                                       .total_seconds()),
                 "details": json.loads(details)} for replica, first, last, details in rows]

    # -- journal ----------------------------------------------------------------------
    def append_journal(self, entries: list[dict], keep: int) -> None:
        """Record exchanges and trim the journal to the newest ``keep`` entries."""
        columns = JOURNAL_COLUMNS
        with self.diagnostics.transaction() as conn:
            conn.executemany(
                f"INSERT INTO journal ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [tuple(entry.get(c) for c in columns) for entry in entries])
            # Debian's SQLite zeroes every deleted row (SECURE_DELETE), freed pages
            # included: trimming then wrote 9.7 KB in 4.7 write calls per journalled
            # request, against 5.5 KB in 2.7 with FAST, which zeroes deleted rows only in
            # pages written anyway (issue 15). The connection keeps the setting.
            conn.execute("PRAGMA secure_delete=FAST")
            conn.execute("DELETE FROM journal WHERE id <= (SELECT MAX(id) FROM journal) - ?",
                         (keep,))

    def read_journal(self, limit: int, service: str | None = None,
                     with_bodies: bool = True, keep: int | None = None) -> list[dict]:
        """Newest-first journal entries (at most ``limit``, and never older than ``keep``)."""
        return self.query_journal(JournalQuery(service=service, limit=limit,
                                               bodies=with_bodies), keep)[0]

    def query_journal(self, query: JournalQuery, keep: int | None = None
                      ) -> tuple[list[dict], int]:
        """(newest-first entries matching ``query``, at most ``query.limit``; how many
        match in all), never older than the newest ``keep``. Raises ``KeyError`` when
        ``query.since`` names a request id the journal does not hold."""
        where, params = journal_conditions(query)
        if keep is not None:
            where.append("id > (SELECT COALESCE(MAX(id), 0) FROM journal) - ?")
            params.append(keep)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        # Without bodies, leave them in SQLite: 1,000 entries can hold 32 MB of bodies,
        # and reading them only to drop them grew each worker's heap (the soak, issue 7).
        columns = "*" if query.bodies else _JOURNAL_COLUMNS_WITHOUT_BODIES
        with self.diagnostics.lock:
            conn = self.diagnostics.connection()
            conn.create_function("outcome_has", 2, outcome_has, deterministic=True)
            if isinstance(query.since, str) and conn.execute(
                    "SELECT 1 FROM journal WHERE request_id = ?", (query.since,)).fetchone() \
                    is None:
                raise KeyError(query.since)
            count = conn.execute(f"SELECT COUNT(*) FROM journal {clause}", params).fetchone()[0]
            cursor = conn.execute(f"SELECT {columns} FROM journal {clause}"
                                  " ORDER BY real_at DESC, id DESC LIMIT ?",
                                  (*params, query.limit))
            names = [d[0] for d in cursor.description]
            return [_with_text_bodies(dict(zip(names, row))) for row in cursor.fetchall()], \
                count

    def journal_entry(self, request_id: str, keep: int | None = None) -> dict | None:
        """One journal entry with its bodies, or None (also when older than the newest
        ``keep``)."""
        window = "" if keep is None else \
            " AND id > (SELECT COALESCE(MAX(id), 0) FROM journal) - ?"
        rows = self.diagnostics.query(
            f"SELECT * FROM journal WHERE request_id = ?{window} ORDER BY id DESC LIMIT 1",
            (request_id,) if keep is None else (request_id, keep))
        return _with_text_bodies(rows[0]) if rows else None

    def add_metrics(self, increments: list[tuple[str, tuple, float]]) -> None:
        """Add ``(name, labels, value)`` increments to the metric counters."""
        with self.diagnostics.transaction() as conn:
            conn.executemany(
                "INSERT INTO metrics (name, labels, value) VALUES (?, ?, ?) ON CONFLICT"
                " (name, labels) DO UPDATE SET value = value + excluded.value",
                [(name, json.dumps(labels), value) for name, labels, value in increments])

    def read_metrics(self) -> list[tuple[str, tuple, float]]:
        """Every counter as ``(name, labels, value)``, sorted by name and labels."""
        rows = self.diagnostics.execute("SELECT name, labels, value FROM metrics ORDER BY name, labels")
        return [(name, tuple(tuple(pair) for pair in json.loads(labels)), value)
                for name, labels, value in rows]

    def clear_journal(self) -> None:
        """Forget every journal entry."""
        self.diagnostics.execute("DELETE FROM journal")


def _with_text_bodies(entry: dict) -> dict:
    """A journal row with its bodies (kept as bytes) as text, when it has them."""
    for name in _BODIES:
        if name in entry:
            entry[name] = journal_body_text(entry[name])
    return entry


def _insert_identity(conn: sqlite3.Connection, identity: Identity) -> None:
    conn.execute(
        "INSERT INTO identities (key, birth_name, sex, birth_date, source, payload)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (identity.key, identity.birth_name, identity.sex, identity.birth_date,
         identity.source, identity_to_json(identity)))
    rows = [(identity.active.number, identity.key, "active")]
    rows += [(m.number, identity.key, "history") for m in identity.history]
    rows.append((identity.ouvrant_droit, identity.key, "ouvrant-droit"))
    rows.append((insc_of(identity), identity.key, "insc"))
    conn.executemany("INSERT INTO matricules (number, identity_key, role) VALUES (?, ?, ?)",
                     rows)


def _delete_identity(conn: sqlite3.Connection, key: str) -> bool:
    conn.execute("DELETE FROM matricules WHERE identity_key = ?", (key,))
    return conn.execute("DELETE FROM identities WHERE key = ?", (key,)).rowcount > 0


def _log_change(conn: sqlite3.Connection, key: str, identity: Identity | None) -> None:
    conn.execute("INSERT INTO identity_changes (key, payload) VALUES (?, ?)",
                 (key, identity_to_json(identity) if identity is not None else None))


def _drop_if_outdated(path: Path, version: int) -> None:
    """Delete a diagnostic database written with another schema version."""
    if not path.exists():
        return
    with sqlite3.connect(path) as conn:
        current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current != version:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def open_store(data_dir: Path, state_cache_seconds: float = 1.0) -> SQLiteStore:
    """Open (creating if needed) the store of a data directory."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    return SQLiteStore(data_dir, state_cache_seconds)


__all__ = ["SQLiteStore", "open_store"]
