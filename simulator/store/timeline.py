"""What the regulatory timeline needs to remember: who used which API when, the
software and structures registered for the v1/TD0.0 grace, where each INS handed to a
structure came from, and the documents fed per structure and month.

Kept in the state database (reports and the grace must survive a restart); cleared by
``POST /_admin/reset`` with the rest of the DMP.
"""
from __future__ import annotations

from datetime import datetime

from simulator.store.database import Database
from simulator.store.read_hooks import FlushBeforeReading

TIMELINE_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_usage (
    month TEXT NOT NULL,            -- YYYY-MM of simulated time
    software TEXT NOT NULL,         -- LPS name-version ("" when unknown)
    structure TEXT NOT NULL,
    api TEXT NOT NULL,              -- dmp-v1 | dmp-v2 | td00 | insi
    identifier TEXT NOT NULL,       -- INS | INS-C | NIA | none ...
    operation TEXT NOT NULL,
    calls INTEGER NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (month, software, structure, api, identifier, operation)
);
CREATE TABLE IF NOT EXISTS grace_registrations (
    kind TEXT NOT NULL,             -- software | structure
    name TEXT NOT NULL,
    api TEXT NOT NULL,              -- dmp-v1 | td00
    source TEXT NOT NULL,           -- flow (seen in the flow month) | admin
    registered_at TEXT NOT NULL,
    PRIMARY KEY (kind, name, api)
);
CREATE TABLE IF NOT EXISTS ins_provenance (
    structure TEXT NOT NULL,
    ins TEXT NOT NULL,              -- 13-character matricule
    source TEXT NOT NULL,           -- insi | td00
    first_at TEXT NOT NULL,
    PRIMARY KEY (structure, ins, source)
);
CREATE TABLE IF NOT EXISTS feeds (
    month TEXT NOT NULL,
    structure TEXT NOT NULL,
    software TEXT NOT NULL,
    kind TEXT NOT NULL,             -- qualified | non-qualified | ins-c
    documents INTEGER NOT NULL,
    PRIMARY KEY (month, structure, software, kind)
);
"""

_ADD_FEED = ("INSERT INTO feeds VALUES (?, ?, ?, ?, ?) ON CONFLICT (month, structure, "
             "software, kind) DO UPDATE SET documents = documents + excluded.documents")


def _add_usage(conn, entries) -> None:
    rows = []
    for at, software, structure, api, identifier, operation in entries:
        iso = at.isoformat()  # once for both columns (a formatting costs 2-4 µs)
        rows.append((at.strftime("%Y-%m"), software, structure, api, identifier,
                     operation, iso, iso))
    conn.executemany(
        "INSERT INTO api_usage VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) "
        "ON CONFLICT (month, software, structure, api, identifier, operation) "
        "DO UPDATE SET calls = calls + 1, last_at = excluded.last_at", rows)


class TimelineStore(FlushBeforeReading):
    """Usage, grace registrations, INS provenance and feeding counts."""

    def __init__(self, database: Database):
        super().__init__()
        self.database = database
        with database.lock:
            database.connection().executescript(TIMELINE_SCHEMA)

    def record_counts(self, usage: list[tuple[datetime, str, str, str, str, str]],
                      feeds: list[tuple[datetime, str, str, str, int]]) -> None:
        """Count calls (as :meth:`record_usage`) and fed documents (as :meth:`count_feed`)
        in one transaction."""
        with self.database.transaction() as conn:
            _add_usage(conn, usage)
            conn.executemany(_ADD_FEED, [(at.strftime("%Y-%m"), structure, software, kind,
                                          documents)
                                         for at, structure, software, kind, documents in feeds])

    def record_usage(self, entries: list[tuple[datetime, str, str, str, str, str]]) -> None:
        """Count calls: (at, software, structure, api, identifier, operation) each."""
        with self.database.transaction() as conn:
            _add_usage(conn, entries)

    def usage(self) -> list[dict]:
        """Every usage row (calls queued in this process included)."""
        self._flush_pending()
        return self.database.query("SELECT * FROM api_usage ORDER BY software, structure, "
                                   "month, api, identifier, operation")

    def register_grace(self, kind: str, name: str, api: str, source: str,
                       at: datetime) -> None:
        """Register software or a structure for the grace of ``api`` (kept if present)."""
        self.database.execute(
            "INSERT OR IGNORE INTO grace_registrations VALUES (?, ?, ?, ?, ?)",
            (kind, name, api, source, at.isoformat()))

    def is_registered(self, api: str, software: str, structure: str) -> bool:
        """Whether the software or the structure earned (or was given) the grace."""
        return bool(self.database.execute(
            "SELECT 1 FROM grace_registrations WHERE api = ? AND "
            "((kind = 'software' AND name = ?) OR (kind = 'structure' AND name = ?)) LIMIT 1",
            (api, software, structure)))

    def registrations(self) -> list[dict]:
        """Every grace registration."""
        return self.database.query("SELECT * FROM grace_registrations ORDER BY kind, name, api")

    def record_provenance(self, entries: list[tuple[str, str, str, datetime]]) -> None:
        """(structure, 13-character INS, insi | td00, at): who handed the INS to whom."""
        with self.database.transaction() as conn:
            for structure, ins, source, at in entries:
                conn.execute("INSERT OR IGNORE INTO ins_provenance VALUES (?, ?, ?, ?)",
                             (structure, ins[:13], source, at.isoformat()))

    def provenance(self, structure: str, ins: str) -> set[str]:
        """The sources through which ``structure`` obtained ``ins``."""
        return {row[0] for row in self.database.execute(
            "SELECT source FROM ins_provenance WHERE structure = ? AND ins = ?",
            (structure, ins[:13]))}

    def count_feed(self, at: datetime, structure: str, software: str, kind: str,
                   documents: int) -> None:
        """Add fed documents to the month's count for the structure."""
        self.database.execute(_ADD_FEED, (at.strftime("%Y-%m"), structure, software, kind,
                                          documents))

    def feeds(self) -> list[dict]:
        """Documents fed, per month, structure, software and kind (feeds queued in this
        process included)."""
        self._flush_pending()
        return self.database.query("SELECT * FROM feeds ORDER BY structure, month, kind")

    def clear(self) -> None:
        """Forget everything (``POST /_admin/reset``)."""
        with self.database.transaction() as conn:
            for table in ("api_usage", "grace_registrations", "ins_provenance", "feeds"):
                conn.execute(f"DELETE FROM {table}")
