"""The XDS registry and repository tables: registry objects, associations, document bytes.

Objects are stored as JSON of the generic ebRIM model, next to the columns the rules and
queries select on. ``query_time`` and ``class_code`` let a Find query (TD3.1) skip, in
SQL, the rows that cannot match, so that a query reads what it answers rather than the
whole DMP (TD3.1 median 7 ms against 12 ms in the soak, benchmarks/README.md).

Each object also keeps what a FindDocuments answer needs without decoding it (issue 15):
``fragment``, its bytes in a LeafClass answer (:mod:`...xds.fragments`), and the
columns :meth:`RegistryTransaction.find_documents` filters on: ``patient_key`` (CX.1
and CX.4 of its patientId, as the engine's ``patient_key``), ``object_type``, ``masked``
(a MASQUE_PS confidentiality code) and ``class_keys`` (every classCode as
code RS scheme between US separators, characters XML text cannot hold). A query counts
its matches in SQL before it reads a single entry.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Iterable

from simulator.services.dmp.xds.fragments import object_fragment
from simulator.services.dmp.xds.stored_rows import (
    RS, US, association_row, find_columns, prepare_object, query_columns)
from simulator.services.dmp.xds.model import Association, RegistryObject
from simulator.services.dmp.xds.query_engine import DocumentFind, Narrowing, patient_key
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
    patient_key TEXT,               -- CX.1 RS CX.4 of the patientId
    object_type TEXT,               -- objectType (a document's, stable by default)
    masked INTEGER,                 -- 1: a MASQUE_PS confidentialityCode
    class_keys TEXT,                -- US code RS scheme US, each classCode
    payload TEXT NOT NULL,
    UNIQUE (lid, version)
);
-- The object in a LeafClass answer (fragments.py), apart: a Find reads its candidates
-- from the covering index below, then only the fragments it answers.
CREATE TABLE IF NOT EXISTS xds_fragments (
    entry_uuid TEXT PRIMARY KEY REFERENCES xds_objects (entry_uuid) ON DELETE CASCADE,
    fragment BLOB NOT NULL
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
# Every column find_documents reads: it counts, and orders, without reading a row.
_DOCUMENTS_INDEX = ("CREATE INDEX IF NOT EXISTS xds_objects_documents ON xds_objects "
                    "(ins, kind, patient_key, status, object_type, masked, author_id, "
                    "query_time, class_keys, registered_at, entry_uuid)")


_FIND_COLUMNS = ("patient_key", "object_type", "masked", "class_keys")


def create_registry_tables(database: Database) -> None:
    """Create the tables, adding the query columns to a data directory written before
    they existed (filled from each object's JSON, in one transaction)."""
    with database.lock:
        database.connection().executescript(XDS_SCHEMA)
    with database.transaction() as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(xds_objects)")}
        if "class_keys" not in columns:  # written before objects were stored pre-rendered
            for name, kind in zip(_FIND_COLUMNS, ("TEXT", "TEXT", "INTEGER", "TEXT")):
                conn.execute(f"ALTER TABLE xds_objects ADD COLUMN {name} {kind}")
            rows = conn.execute("SELECT entry_uuid, kind, payload FROM xds_objects").fetchall()
            for entry_uuid, kind, payload in rows:
                obj = RegistryObject.from_dict(json.loads(payload))
                conn.execute("UPDATE xds_objects SET patient_key = ?, object_type = ?, "
                             "masked = ?, class_keys = ? WHERE entry_uuid = ?",
                             (*find_columns(obj, kind), entry_uuid))
                conn.execute(_INSERT_FRAGMENT, (entry_uuid, object_fragment(obj)))
        if "query_time" not in columns:
            conn.execute("ALTER TABLE xds_objects ADD COLUMN query_time TEXT")
            conn.execute("ALTER TABLE xds_objects ADD COLUMN class_code TEXT")
            conn.execute("DROP INDEX IF EXISTS xds_objects_ins")
            rows = conn.execute("SELECT entry_uuid, kind, payload FROM xds_objects").fetchall()
            for entry_uuid, kind, payload in rows:
                obj = RegistryObject.from_dict(json.loads(payload))
                conn.execute("UPDATE xds_objects SET query_time = ?, class_code = ? "
                             "WHERE entry_uuid = ?", (*query_columns(obj, kind), entry_uuid))
        conn.execute(_FIND_INDEX)
        conn.execute(_DOCUMENTS_INDEX)


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
        self.add_prepared(prepare_object(obj, kind=kind, ins=ins, unique_id=unique_id,
                                         author_id=author_id, registered_at=registered_at))

    def reserve(self, *, ins: str, unique_ids: Iterable[str] = (),
                association_ids: Iterable[str] = ()) -> None:
        """Nothing to take: the write transaction is immediate, alone at a time."""

    def add_prepared(self, row: tuple) -> None:
        """Store an object made ready by :func:`prepare_object` (before the write lock)."""
        self.conn.execute(_INSERT_OBJECT, row[:-1])
        self.conn.execute(_INSERT_FRAGMENT, (row[0], row[-1]))

    def set_status(self, entry_uuid: str, status: str) -> None:
        """Change the availability status of a stored object."""
        found = self.entry(entry_uuid)
        if found is None:
            raise KeyError(entry_uuid)
        changed = found.evolve(status=status)
        self.conn.execute("UPDATE xds_objects SET status = ?, payload = ? WHERE entry_uuid = ?",
                          (status, json.dumps(changed.to_dict()), entry_uuid))
        self.conn.execute("UPDATE xds_fragments SET fragment = ? WHERE entry_uuid = ?",
                          (object_fragment(changed), entry_uuid))

    def find_documents(self, find: DocumentFind, *, ins: str, caller: str,
                       limit: int | None, with_fragments: bool = True
                       ) -> tuple[int, list[tuple[str, bytes | None]]]:
        """(how many document entries of ``ins`` match ``find`` and show to ``caller``,
        [(entryUUID, fragment or None)] in registration order): the rules of the query
        engine (``_find_documents`` and the masking of ``visible_to``) in SQL. With a
        ``limit``, counting stops at ``limit + 1`` (the time it takes does not grow with
        the DMP), and over the limit no entry is read."""
        where, params = _find_sql(find, ins, caller)
        if limit is not None:
            count = self._rows(f"SELECT COUNT(*) FROM (SELECT 1 FROM xds_objects WHERE "
                               f"{where} LIMIT ?)", (*params, limit + 1))[0][0]
            if count > limit:
                return count, []
        uuids = [row[0] for row in self._rows(
            f"SELECT entry_uuid FROM xds_objects WHERE {where} "
            "ORDER BY registered_at, entry_uuid", params)]
        count = len(uuids)
        if not with_fragments:
            return count, [(entry_uuid, None) for entry_uuid in uuids]
        stored = self.fragments(uuids)
        return count, [(entry_uuid, stored[entry_uuid]) for entry_uuid in uuids]

    def fragments(self, uuids: list[str]) -> dict[str, bytes]:
        """entryUUID -> stored answer fragment, for the objects among ``uuids``."""
        if not uuids:
            return {}
        # One parameter whatever the count (SQLite bounds the number of parameters).
        return dict(self._rows("SELECT entry_uuid, fragment FROM xds_fragments WHERE "
                               "entry_uuid IN (SELECT value FROM json_each(?))",
                               (json.dumps(uuids),)))

    def association_exists(self, association_id: str) -> bool:
        """Whether an association already has this id."""
        return bool(self._rows("SELECT 1 FROM xds_associations WHERE id = ?",
                               (association_id,)))

    def add_association(self, association: Association) -> None:
        """Store an association."""
        self.conn.execute(_INSERT_ASSOCIATION, association_row(association))

    def add_content(self, unique_id: str, mime_type: str, content: bytes) -> None:
        """Store the bytes of a document (the repository side)."""
        self.conn.execute(_INSERT_CONTENT, (unique_id, mime_type, sqlite3.Binary(content)))

    def existing_associations(self, association_ids: list[str]) -> list[str]:
        """Those of ``association_ids`` already registered (one statement)."""
        if not association_ids:
            return []
        found = {row[0] for row in self._rows(
            "SELECT id FROM xds_associations WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(association_ids),))}
        return [a_id for a_id in association_ids if a_id in found]

    def add_rows(self, objects: list[tuple], contents: list[tuple[str, str, bytes]],
                 associations: list[tuple[str, str, str, str]]) -> None:
        """Store prepared objects, documents and associations: one ``executemany`` a
        table (issue 15: a feed ran ten INSERTs under the write lock)."""
        self.conn.executemany(_INSERT_OBJECT, [row[:-1] for row in objects])
        self.conn.executemany(_INSERT_FRAGMENT, [(row[0], row[-1]) for row in objects])
        self.conn.executemany(_INSERT_CONTENT, contents)
        self.conn.executemany(_INSERT_ASSOCIATION, associations)


_INSERT_OBJECT = (
    "INSERT INTO xds_objects (entry_uuid, kind, ins, unique_id, lid, version, status, "
    "author_id, registered_at, query_time, class_code, payload, patient_key, object_type, "
    "masked, class_keys) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_INSERT_FRAGMENT = "INSERT INTO xds_fragments (entry_uuid, fragment) VALUES (?, ?)"
_INSERT_CONTENT = "INSERT INTO xds_documents (unique_id, mime_type, content) VALUES (?, ?, ?)"
_INSERT_ASSOCIATION = ("INSERT INTO xds_associations (id, source, target, payload) "
                       "VALUES (?, ?, ?, ?)")


def _find_sql(find: DocumentFind, ins: str, caller: str) -> tuple[str, list]:
    """The WHERE clause of :meth:`RegistryTransaction.find_documents`."""
    where = ["ins = ?", "kind = ?", "patient_key = ?",
             f"status IN ({','.join('?' * len(find.statuses))})",
             f"object_type IN ({','.join('?' * len(find.types))})",
             "(masked = 0 OR author_id = ?)"]
    params: list = [ins, DOCUMENT, RS.join(patient_key(find.patient_id)),
                    *sorted(find.statuses), *sorted(find.types), caller]
    if find.class_codes is not None:
        tests = []
        for value in find.class_codes:
            code, _, scheme = value.partition("^^")
            tests.append("instr(class_keys, ?) > 0")
            # code^^scheme matches that code in that scheme; a bare code, in any scheme
            params.append(f"{US}{code}{RS}{scheme}{US}" if scheme else f"{US}{code}{RS}")
        where.append(f"({' OR '.join(tests)})")
    narrowing, more = _narrowing_sql(Narrowing(time_from=find.time_from,
                                               time_to=find.time_to))
    return " AND ".join(where) + narrowing, params + more


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
