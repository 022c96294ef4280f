"""SQLite persistence for everything mutable: identities, clock, journal.

Two files per data directory (state and journal), WAL mode, one connection per
process (opened lazily after a fork), so gunicorn workers and test threads share state.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from simulator.identities.model import Identity
from simulator.store.database import Database
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
    role TEXT NOT NULL  -- active | history | ouvrant-droit
);
CREATE INDEX IF NOT EXISTS matricules_number ON matricules (number, role);
"""

JOURNAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    at TEXT NOT NULL,
    service TEXT NOT NULL,
    operation TEXT,
    http_method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT,
    duration_ms REAL NOT NULL,
    client TEXT,
    request_body TEXT,
    response_body TEXT
);
"""


class SQLiteStore:
    """The simulator's state: one SQLite file for state, one for the request journal.

    The journal lives in its own file with ``synchronous=OFF``: it is a diagnostic log
    written on every request, and the checkpoint fsyncs of a shared file cost INSi a
    fifth of its throughput (benchmarks/README.md). Losing its last entries in a power
    cut is acceptable; losing state is not.
    """

    def __init__(self, data_dir: Path):
        self.data = Database(Path(data_dir) / "simulator.sqlite3", SCHEMA, "NORMAL")
        self.journal = Database(Path(data_dir) / "journal.sqlite3", JOURNAL_SCHEMA, "OFF")

    def _execute(self, sql: str, params=()) -> list[tuple]:
        return self.data.execute(sql, params)

    def transaction(self):
        """Context manager: one write transaction on the state database."""
        return self.data.transaction()

    def close(self) -> None:
        """Close this process's connections."""
        self.data.close()
        self.journal.close()

    # -- meta -------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A value of the meta table, or None."""
        rows = self._execute("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the meta table."""
        self._execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- clock ------------------------------------------------------------------------
    def clock_state(self) -> tuple[float, datetime | None]:
        """(offset in seconds, frozen instant or None)."""
        rows = self._execute("SELECT offset_seconds, frozen_at FROM clock WHERE id = 1")
        if not rows:
            return 0.0, None
        offset, frozen_at = rows[0]
        return offset, (datetime.fromisoformat(frozen_at) if frozen_at else None)

    def set_clock_state(self, offset: float, frozen_at: datetime | None) -> None:
        """Persist the clock offset or frozen instant."""
        self._execute(
            "INSERT OR REPLACE INTO clock (id, offset_seconds, frozen_at) VALUES (1, ?, ?)",
            (offset, frozen_at.isoformat() if frozen_at else None))

    # -- identities -------------------------------------------------------------------
    def replace_identities(self, identities: list[Identity]) -> None:
        """Drop every identity and store these instead, in one transaction."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM matricules")
            conn.execute("DELETE FROM identities")
            for identity in identities:
                _insert_identity(conn, identity)

    def add_identity(self, identity: Identity) -> None:
        """Store one more identity; raises ``KeyError`` when its key exists."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM identities WHERE key = ?",
                            (identity.key,)).fetchone():
                raise KeyError(identity.key)
            _insert_identity(conn, identity)

    def identities_by_traits(self, birth_name: str, sex: str, birth_date: str) -> list[Identity]:
        """Identities with exactly this birth name, sex and birth date."""
        return self._identities(
            "SELECT payload FROM identities WHERE birth_name = ? AND sex = ? AND birth_date = ?"
            " ORDER BY key", (birth_name, sex, birth_date))

    def identities_by_matricule(self, number: str, roles: tuple[str, ...]) -> list[Identity]:
        """Identities holding ``number`` in one of ``roles`` (active, history, ouvrant-droit)."""
        marks = ",".join("?" * len(roles))
        return self._identities(
            "SELECT DISTINCT i.payload, i.key FROM identities i JOIN matricules m"
            f" ON m.identity_key = i.key WHERE m.number = ? AND m.role IN ({marks})"
            " ORDER BY i.key", (number, *roles))

    def get_identity(self, key: str) -> Identity | None:
        """One identity by its registry key."""
        found = self._identities("SELECT payload FROM identities WHERE key = ?", (key,))
        return found[0] if found else None

    def search_identities(self, text: str = "", source: str | None = None,
                          limit: int = 50, offset: int = 0) -> tuple[int, list[Identity]]:
        """(total, page) of identities whose name, first names or matricule contain ``text``."""
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

    # -- journal ----------------------------------------------------------------------
    def append_journal(self, entries: list[dict], keep: int) -> None:
        """Record exchanges and trim the journal to the newest ``keep`` entries."""
        columns = ("request_id", "at", "service", "operation", "http_method", "path",
                   "status", "outcome", "duration_ms", "client", "request_body",
                   "response_body")
        with self.journal.transaction() as conn:
            conn.executemany(
                f"INSERT INTO journal ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [tuple(entry.get(c) for c in columns) for entry in entries])
            conn.execute("DELETE FROM journal WHERE id <= (SELECT MAX(id) FROM journal) - ?",
                         (keep,))

    def read_journal(self, limit: int, service: str | None = None,
                     with_bodies: bool = True, keep: int | None = None) -> list[dict]:
        """Newest-first journal entries (at most ``limit``, and never older than ``keep``)."""
        where, params = [], []
        if service:
            where.append("service = ?")
            params.append(service)
        if keep is not None:
            where.append("id > (SELECT COALESCE(MAX(id), 0) FROM journal) - ?")
            params.append(keep)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        rows = self.journal.query(f"SELECT * FROM journal {clause} ORDER BY id DESC LIMIT ?",
                                  (*params, limit))
        if not with_bodies:
            for row in rows:
                row.pop("request_body"), row.pop("response_body")
        return rows

    def clear_journal(self) -> None:
        """Forget every journal entry."""
        self.journal.execute("DELETE FROM journal")


def _insert_identity(conn: sqlite3.Connection, identity: Identity) -> None:
    conn.execute(
        "INSERT INTO identities (key, birth_name, sex, birth_date, source, payload)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (identity.key, identity.birth_name, identity.sex, identity.birth_date,
         identity.source, identity_to_json(identity)))
    rows = [(identity.active.number, identity.key, "active")]
    rows += [(m.number, identity.key, "history") for m in identity.history]
    rows.append((identity.ouvrant_droit, identity.key, "ouvrant-droit"))
    conn.executemany("INSERT INTO matricules (number, identity_key, role) VALUES (?, ?, ?)",
                     rows)


def open_store(data_dir: Path) -> SQLiteStore:
    """Open (creating if needed) the store of a data directory."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    return SQLiteStore(data_dir)


__all__ = ["SQLiteStore", "open_store"]
