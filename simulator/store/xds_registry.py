"""The XDS registry and repository tables: registry objects, associations, document bytes.

Objects are stored as JSON of the generic ebRIM model, next to the columns the rules and
queries select on. ``query_time`` and ``class_code`` let a Find query (TD3.1) skip, in
SQL, the rows that cannot match, so that a query reads what it answers rather than the
whole DMP (TD3.1 median 7 ms against 12 ms in the soak, benchmarks/README.md).
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from simulator.services.dmp.xds.model import (
    DE_CLASS_CODE, Association, RegistryObject)
from simulator.services.dmp.xds.query_engine import Narrowing
from simulator.ports.dmp import DOCUMENT, SUBMISSION_SET
from simulator.store.database import Database


XDS_SCHEMA = """
CREATE TABLE IF NOT EXISTS xds_objects (
    entry_uuid TEXT PRIMARY KEY,
    kind TEXT NOT NULL,             -- document | submission-set
    ins TEXT NOT NULL,
    unique_id TEXT NOT NULL,
    lid TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    author_id TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    query_time TEXT,                -- creationTime (document) or submissionTime (set)
    class_code TEXT,                -- the document's classCode code
    payload TEXT NOT NULL,
    UNIQUE (lid, version)
);
CREATE INDEX IF NOT EXISTS xds_objects_unique ON xds_objects (unique_id);
CREATE TABLE IF NOT EXISTS xds_associations (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS xds_associations_source ON xds_associations (source);
CREATE INDEX IF NOT EXISTS xds_associations_target ON xds_associations (target);
CREATE TABLE IF NOT EXISTS xds_documents (
    unique_id TEXT PRIMARY KEY,     -- one content per document uniqueId
    mime_type TEXT NOT NULL,
    content BLOB NOT NULL
);
"""
# Created after the migration below: an older table lacks the columns it names.
_FIND_INDEX = ("CREATE INDEX IF NOT EXISTS xds_objects_find ON xds_objects "
               "(ins, kind, status, query_time, class_code)")


def _query_columns(obj: RegistryObject, kind: str) -> tuple[str | None, str | None]:
    """(query_time, class_code) of an object, as stored beside its JSON."""
    if kind == DOCUMENT:
        code = obj.code(DE_CLASS_CODE)
        return obj.slot("creationTime"), code.code if code else None
    return obj.slot("submissionTime"), None


def create_registry_tables(database: Database) -> None:
    """Create the tables, adding the query columns to a data directory written before
    they existed (filled from each object's JSON, in one transaction)."""
    with database.lock:
        database.connection().executescript(XDS_SCHEMA)
    with database.transaction() as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(xds_objects)")}
        if "query_time" not in columns:
            conn.execute("ALTER TABLE xds_objects ADD COLUMN query_time TEXT")
            conn.execute("ALTER TABLE xds_objects ADD COLUMN class_code TEXT")
            conn.execute("DROP INDEX IF EXISTS xds_objects_ins")
            rows = conn.execute("SELECT entry_uuid, kind, payload FROM xds_objects").fetchall()
            for entry_uuid, kind, payload in rows:
                obj = RegistryObject.from_dict(json.loads(payload))
                conn.execute("UPDATE xds_objects SET query_time = ?, class_code = ? "
                             "WHERE entry_uuid = ?", (*_query_columns(obj, kind), entry_uuid))
        conn.execute(_FIND_INDEX)


def _narrowing_sql(narrowing: Narrowing | None) -> tuple[str, list]:
    """SQL conditions equivalent to ``narrowing`` (see :func:`query_engine.in_range` for
    the common-prefix comparison of DTM values)."""
    if narrowing is None:
        return "", []
    sql, params = [], []
    if narrowing.statuses:
        sql.append(f"status IN ({','.join('?' * len(narrowing.statuses))})")
        params.extend(sorted(narrowing.statuses))
    if narrowing.class_codes:
        sql.append(f"class_code IN ({','.join('?' * len(narrowing.class_codes))})")
        params.extend(sorted(narrowing.class_codes))
    prefix = "substr({0}, 1, min(length(query_time), length(?)))"
    if narrowing.time_from is not None:
        sql.append(f"{prefix.format('query_time')} >= {prefix.format('?')}")
        params.extend([narrowing.time_from] * 3)
    if narrowing.time_to is not None:
        sql.append(f"{prefix.format('query_time')} < {prefix.format('?')}")
        params.extend([narrowing.time_to] * 3)
    if narrowing.time_from is not None or narrowing.time_to is not None:
        sql.append("query_time IS NOT NULL AND query_time != ''")
    return "".join(f" AND {condition}" for condition in sql), params


class _Autocommit:
    """A connection-like object running each statement on its own, under the lock."""

    def __init__(self, database: Database):
        self.database = database

    def execute(self, sql: str, params=()):
        """Run one statement and return its rows."""
        return self.database.execute(sql, params)
class RegistryTransaction:
    """Registry reads and writes on one connection (inside a transaction or not)."""

    def __init__(self, conn):
        self.conn = conn

    def _rows(self, sql: str, params=()) -> list:
        result = self.conn.execute(sql, params)
        return result if isinstance(result, list) else result.fetchall()

    def _objects(self, where: str, params=()) -> list[RegistryObject]:
        return [RegistryObject.from_dict(json.loads(row[0])) for row in self._rows(
            f"SELECT payload FROM xds_objects {where} ORDER BY registered_at, entry_uuid",
            params)]

    def entry(self, entry_uuid: str) -> RegistryObject | None:
        """The object with this entryUUID, or None."""
        found = self._objects("WHERE entry_uuid = ?", (entry_uuid,))
        return found[0] if found else None

    def unique_id_exists(self, unique_id: str) -> bool:
        """Whether an object already has this uniqueId."""
        return bool(self._rows("SELECT 1 FROM xds_objects WHERE unique_id = ? LIMIT 1",
                               (unique_id,)))

    def documents_by_unique_id(self, unique_id: str) -> list[RegistryObject]:
        """Every version of the document entry with this uniqueId."""
        return self._objects("WHERE kind = ? AND unique_id = ?", (DOCUMENT, unique_id))

    def current_version(self, lid: str) -> RegistryObject | None:
        """The latest version of a logical document."""
        found = self._objects("WHERE lid = ? AND version = (SELECT MAX(version) FROM "
                              "xds_objects WHERE lid = ?)", (lid, lid))
        return found[0] if found else None

    def documents_for_patient(self, ins: str,
                              narrowing: Narrowing | None = None) -> list[RegistryObject]:
        """The document entries (all versions and statuses) of a patient, less those
        ``narrowing`` rules out."""
        where, params = _narrowing_sql(narrowing)
        return self._objects(f"WHERE ins = ? AND kind = ?{where}", (ins, DOCUMENT, *params))

    def submission_sets_for_patient(self, ins: str,
                                    narrowing: Narrowing | None = None) -> list[RegistryObject]:
        """The submission sets of a patient, less those ``narrowing`` rules out."""
        where, params = _narrowing_sql(narrowing)
        return self._objects(f"WHERE ins = ? AND kind = ?{where}",
                             (ins, SUBMISSION_SET, *params))

    def count_documents_for_patient(self, ins: str) -> int:
        """How many document entries (every version) a patient's DMP holds."""
        return self._rows("SELECT COUNT(*) FROM xds_objects WHERE ins = ? AND kind = ?",
                          (ins, DOCUMENT))[0][0]

    def author_of(self, entry_uuid: str) -> str | None:
        """The author id recorded for an object."""
        rows = self._rows("SELECT author_id FROM xds_objects WHERE entry_uuid = ?",
                          (entry_uuid,))
        return rows[0][0] if rows else None

    def associations_for(self, uuids: list[str]) -> list[Association]:
        """Associations whose source or target is one of ``uuids``."""
        if not uuids:
            return []
        marks = ",".join("?" * len(uuids))
        return [Association.from_dict(json.loads(row[0])) for row in self._rows(
            f"SELECT payload FROM xds_associations WHERE source IN ({marks}) "
            f"OR target IN ({marks}) ORDER BY rowid", (*uuids, *uuids))]

    def add_object(self, obj: RegistryObject, *, kind: str, ins: str, unique_id: str,
                   author_id: str, registered_at: datetime) -> None:
        """Store a new registry object (document entry or submission set)."""
        self.conn.execute(
            "INSERT INTO xds_objects (entry_uuid, kind, ins, unique_id, lid, version, status, "
            "author_id, registered_at, query_time, class_code, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (obj.id, kind, ins, unique_id, obj.lid or obj.id, int(obj.version or 1),
             obj.status, author_id, registered_at.isoformat(), *_query_columns(obj, kind),
             json.dumps(obj.to_dict())))

    def set_status(self, entry_uuid: str, status: str) -> None:
        """Change the availability status of a stored object."""
        found = self.entry(entry_uuid)
        if found is None:
            raise KeyError(entry_uuid)
        self.conn.execute("UPDATE xds_objects SET status = ?, payload = ? WHERE entry_uuid = ?",
                          (status, json.dumps(found.evolve(status=status).to_dict()),
                           entry_uuid))

    def association_exists(self, association_id: str) -> bool:
        """Whether an association already has this id."""
        return bool(self._rows("SELECT 1 FROM xds_associations WHERE id = ?",
                               (association_id,)))

    def add_association(self, association: Association) -> None:
        """Store an association."""
        self.conn.execute(
            "INSERT INTO xds_associations (id, source, target, payload) VALUES (?, ?, ?, ?)",
            (association.id, association.source, association.target,
             json.dumps(association.to_dict())))

    def add_content(self, unique_id: str, mime_type: str, content: bytes) -> None:
        """Store the bytes of a document (the repository side)."""
        self.conn.execute(
            "INSERT INTO xds_documents (unique_id, mime_type, content) VALUES (?, ?, ?)",
            (unique_id, mime_type, sqlite3.Binary(content)))


class _RegistryTransactionContext:
    def __init__(self, database: Database):
        self._transaction = database.transaction()

    def __enter__(self) -> RegistryTransaction:
        return RegistryTransaction(self._transaction.__enter__())

    def __exit__(self, exc_type, exc, tb) -> None:
        self._transaction.__exit__(exc_type, exc, tb)


def registry_transaction(database: Database) -> _RegistryTransactionContext:
    """Context manager giving a :class:`RegistryTransaction` inside one immediate
    transaction: reads see, and writes are, all or nothing."""
    return _RegistryTransactionContext(database)


def registry_view(database: Database) -> RegistryTransaction:
    """Read access to the registry outside a write transaction."""
    return RegistryTransaction(_Autocommit(database))
