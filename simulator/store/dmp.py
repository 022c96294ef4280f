"""Persistence of the DMP: patient records, authorisations, XDS objects and document bytes.

The tables live in the state database (they must survive a restart). XDS objects are
stored as JSON of the generic ebRIM model with the columns queries and rules need.
A submission is checked and written inside one immediate transaction
(:meth:`DmpStore.registry_transaction`), so that two concurrent feeds of the same
uniqueId cannot both pass the duplicate check, and a feed is stored whole or not at all.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from datetime import datetime
from typing import Callable

from simulator.services.dmp.records import AuthorisationRecord, DmpRecord, PatientTraits
from simulator.services.dmp.xds.model import Association, RegistryObject
from simulator.store.database import Database

DMP_SCHEMA = """
CREATE TABLE IF NOT EXISTS dmp_records (
    ins TEXT PRIMARY KEY,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dmp_authorisations (
    ins TEXT NOT NULL,
    professional_id TEXT NOT NULL,
    structure_id TEXT NOT NULL,
    last_action_at TEXT,
    payload TEXT NOT NULL,
    PRIMARY KEY (ins, professional_id)
);
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
    payload TEXT NOT NULL,
    UNIQUE (lid, version)
);
CREATE INDEX IF NOT EXISTS xds_objects_ins ON xds_objects (ins, kind);
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

DOCUMENT = "document"
SUBMISSION_SET = "submission-set"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


_RECORD_MOMENTS = ("created_at", "updated_at", "closed_at")
_AUTHORISATION_MOMENTS = ("granted_at", "last_action_at", "expires_at")


def _json_ready(record, moments: tuple[str, ...]) -> dict:
    data = asdict(record)
    for name in moments:
        data[name] = _iso(getattr(record, name))
    return data


def record_to_dict(record: DmpRecord) -> dict:
    """A DMP record as a JSON-ready dict (instants in ISO-8601)."""
    return _json_ready(record, _RECORD_MOMENTS)


def authorisation_to_dict(record: AuthorisationRecord) -> dict:
    """An authorisation as a JSON-ready dict (instants in ISO-8601)."""
    return _json_ready(record, _AUTHORISATION_MOMENTS)


def record_to_json(record: DmpRecord) -> str:
    """JSON of a DMP record."""
    return json.dumps(record_to_dict(record), ensure_ascii=False)


def record_from_json(text: str) -> DmpRecord:
    """Inverse of :func:`record_to_json`."""
    data = json.loads(text)
    traits = data.pop("traits")
    traits["telecoms"] = tuple(traits["telecoms"])
    traits["address"] = tuple(traits["address"])
    for name in _RECORD_MOMENTS:
        data[name] = _moment(data[name])
    return DmpRecord(traits=PatientTraits(**traits), **data)


def authorisation_to_json(record: AuthorisationRecord) -> str:
    """JSON of an authorisation."""
    return json.dumps(authorisation_to_dict(record), ensure_ascii=False)


def authorisation_from_json(text: str) -> AuthorisationRecord:
    """Inverse of :func:`authorisation_to_json`."""
    data = json.loads(text)
    for name in _AUTHORISATION_MOMENTS:
        data[name] = _moment(data[name])
    return AuthorisationRecord(**data)


class DmpStore:
    """DMP state in the simulator's state database."""

    def __init__(self, database: Database):
        self.database = database
        with database.lock:
            database.connection().executescript(DMP_SCHEMA)

    # --- patient records -------------------------------------------------------------

    def record(self, ins: str) -> DmpRecord | None:
        """The DMP of the patient with this INS matricule, or None."""
        rows = self.database.execute("SELECT payload FROM dmp_records WHERE ins = ?", (ins,))
        return record_from_json(rows[0][0]) if rows else None

    def save_record(self, record: DmpRecord) -> None:
        """Create or replace a DMP record."""
        self.database.execute("INSERT OR REPLACE INTO dmp_records (ins, payload) VALUES (?, ?)",
                              (record.ins, record_to_json(record)))

    def create_record(self, record: DmpRecord) -> bool:
        """Create a DMP; False when one already exists for this INS (checked and written
        atomically: two concurrent creations make one DMP)."""
        with self.database.transaction() as conn:
            if conn.execute("SELECT 1 FROM dmp_records WHERE ins = ?", (record.ins,)).fetchone():
                return False
            conn.execute("INSERT INTO dmp_records (ins, payload) VALUES (?, ?)",
                         (record.ins, record_to_json(record)))
            return True

    def update_record(self, ins: str,
                      change: Callable[[DmpRecord | None], DmpRecord]) -> DmpRecord:
        """Read, change and write a DMP record in one immediate transaction, so that two
        concurrent changes (a TD1.3b and a TD1.4, a close and a reactivation) cannot
        undo each other. ``change`` may raise to leave the record untouched."""
        with self.database.transaction() as conn:
            rows = conn.execute("SELECT payload FROM dmp_records WHERE ins = ?",
                                (ins,)).fetchall()
            updated = change(record_from_json(rows[0][0]) if rows else None)
            conn.execute("INSERT OR REPLACE INTO dmp_records (ins, payload) VALUES (?, ?)",
                         (updated.ins, record_to_json(updated)))
            return updated

    def records(self) -> list[DmpRecord]:
        """Every DMP, by INS."""
        return [record_from_json(row[0]) for row in
                self.database.execute("SELECT payload FROM dmp_records ORDER BY ins")]

    # --- authorisations --------------------------------------------------------------

    def authorisation(self, ins: str, professional_id: str) -> AuthorisationRecord | None:
        """A professional's authorisation record on a DMP, or None."""
        rows = self.database.execute(
            "SELECT payload FROM dmp_authorisations WHERE ins = ? AND professional_id = ?",
            (ins, professional_id))
        return authorisation_from_json(rows[0][0]) if rows else None

    def save_authorisation(self, record: AuthorisationRecord) -> None:
        """Create or replace an authorisation record."""
        self.database.execute(
            "INSERT OR REPLACE INTO dmp_authorisations "
            "(ins, professional_id, structure_id, last_action_at, payload) VALUES (?, ?, ?, ?, ?)",
            (record.ins, record.professional_id, record.structure_id,
             _iso(record.last_action_at), authorisation_to_json(record)))

    def update_authorisation(
            self, ins: str, professional_id: str,
            change: Callable[[AuthorisationRecord | None], AuthorisationRecord]
    ) -> AuthorisationRecord:
        """Read, change and write a professional's authorisation in one immediate
        transaction: a TD0.3 and a concurrent block by the patient both count."""
        with self.database.transaction() as conn:
            rows = conn.execute(
                "SELECT payload FROM dmp_authorisations WHERE ins = ? AND professional_id = ?",
                (ins, professional_id)).fetchall()
            updated = change(authorisation_from_json(rows[0][0]) if rows else None)
            conn.execute(
                "INSERT OR REPLACE INTO dmp_authorisations (ins, professional_id, "
                "structure_id, last_action_at, payload) VALUES (?, ?, ?, ?, ?)",
                (updated.ins, updated.professional_id, updated.structure_id,
                 _iso(updated.last_action_at), authorisation_to_json(updated)))
            return updated

    def authorisations_for_patient(self, ins: str) -> list[AuthorisationRecord]:
        """Every professional known on a DMP (TD1.6)."""
        return [authorisation_from_json(row[0]) for row in self.database.execute(
            "SELECT payload FROM dmp_authorisations WHERE ins = ? ORDER BY professional_id",
            (ins,))]

    def authorisations_of(self, professional_id: str | None = None,
                          structure_id: str | None = None) -> list[AuthorisationRecord]:
        """Authorisations of a professional, or of every professional of a structure."""
        if professional_id is not None:
            sql, params = "WHERE professional_id = ?", (professional_id,)
        else:
            sql, params = "WHERE structure_id = ?", (structure_id,)
        return [authorisation_from_json(row[0]) for row in self.database.execute(
            f"SELECT payload FROM dmp_authorisations {sql} ORDER BY ins", params)]

    # --- XDS registry and repository -------------------------------------------------

    def registry_transaction(self) -> RegistryTransaction:
        """Context manager giving a :class:`RegistryTransaction` inside one immediate
        transaction: reads see, and writes are, all or nothing."""
        return _RegistryTransactionContext(self.database)

    def view(self) -> RegistryTransaction:
        """Read access to the registry outside a write transaction."""
        return RegistryTransaction(_Autocommit(self.database))

    def document_content(self, unique_id: str) -> tuple[str, bytes] | None:
        """(mime type, bytes) of a stored document, or None."""
        rows = self.database.execute(
            "SELECT mime_type, content FROM xds_documents WHERE unique_id = ?", (unique_id,))
        return (rows[0][0], bytes(rows[0][1])) if rows else None

    def documents_since(self, since: datetime) -> list[tuple[str, str, str]]:
        """(ins, author id, registered at) of every document entry registered since."""
        return [tuple(row) for row in self.database.execute(
            "SELECT ins, author_id, registered_at FROM xds_objects "
            "WHERE kind = ? AND registered_at >= ? ORDER BY registered_at",
            (DOCUMENT, since.isoformat()))]

    def count_documents(self) -> int:
        """How many document entries (every version) the registry holds."""
        return self.database.execute("SELECT COUNT(*) FROM xds_objects WHERE kind = ?",
                                     (DOCUMENT,))[0][0]

    def clear(self) -> None:
        """Forget every DMP, authorisation and document (``POST /_admin/reset``)."""
        with self.database.transaction() as conn:
            for table in ("xds_documents", "xds_associations", "xds_objects",
                          "dmp_authorisations", "dmp_records"):
                conn.execute(f"DELETE FROM {table}")


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

    def documents_for_patient(self, ins: str) -> list[RegistryObject]:
        """Every document entry (all versions and statuses) of a patient."""
        return self._objects("WHERE kind = ? AND ins = ?", (DOCUMENT, ins))

    def submission_sets_for_patient(self, ins: str) -> list[RegistryObject]:
        """Every submission set of a patient."""
        return self._objects("WHERE kind = ? AND ins = ?", (SUBMISSION_SET, ins))

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
            "author_id, registered_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (obj.id, kind, ins, unique_id, obj.lid or obj.id, int(obj.version or 1),
             obj.status, author_id, registered_at.isoformat(), json.dumps(obj.to_dict())))

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
