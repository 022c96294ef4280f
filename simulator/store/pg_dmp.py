"""The DMP on PostgreSQL: patient records, authorisations, the XDS registry and the
document bytes, behind :class:`simulator.ports.dmp.DmpRecordStore`.

Per-patient locking instead of SQLite's database-wide write lock: every read-modify-
write of a patient's record or authorisations, and every patient-scoped access inside a
registry transaction, first takes ``pg_advisory_xact_lock`` on the patient's INS (held
to the end of the transaction). A feed, a closure (TD1.4) and a block of the same
patient land one after the other; other patients' calls run beside them. The registry's
global rules take their own advisory lock on the key they check (a uniqueId, a logical
id, an association id), so two concurrent feeds of one uniqueId cannot both pass.

Written against the registry interface of this commit (simulator.store.xds_registry);
the SQL mirrors its tables and its Find narrowing (issue 17, flagged for reconciliation
with the perf-dmp rewrite of the SQLite side).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime
from typing import Callable, Iterator

from simulator.ports.dmp import DOCUMENT, SUBMISSION_SET
from simulator.services.dmp.records import AuthorisationRecord, DmpRecord
from simulator.services.dmp.xds.model import DE_CLASS_CODE, Association, RegistryObject
from simulator.services.dmp.xds.query_engine import Narrowing
from simulator.store.dmp import (
    authorisation_from_json, authorisation_to_json, record_from_json, record_to_json)
from simulator.store.pg_pool import PgDatabase

# First key of the advisory locks (the second is a hash of what is locked).
PATIENT_LOCK, UNIQUE_ID_LOCK, LID_LOCK, ASSOCIATION_LOCK = 1701, 1702, 1703, 1704


def lock(cursor, space: int, key: str) -> None:
    """Take the transaction-scoped advisory lock ``(space, hashtext(key))``."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (space, key))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _query_columns(obj: RegistryObject, kind: str) -> tuple[str | None, str | None]:
    """(query_time, class_code) of an object, as stored beside its JSON (the same
    columns as the SQLite registry's)."""
    if kind == DOCUMENT:
        code = obj.code(DE_CLASS_CODE)
        return obj.slot("creationTime"), code.code if code else None
    return obj.slot("submissionTime"), None


def _narrowing_sql(narrowing: Narrowing | None) -> tuple[str, list]:
    """SQL conditions equivalent to ``narrowing`` (query_engine.in_range compares DTM
    values on their common prefix)."""
    if narrowing is None:
        return "", []
    sql: list[str] = []
    params: list = []
    if narrowing.statuses:
        sql.append("status = ANY(%s)")
        params.append(sorted(narrowing.statuses))
    if narrowing.class_codes:
        sql.append("class_code = ANY(%s)")
        params.append(sorted(narrowing.class_codes))
    prefix = "substr({0}, 1, least(length(query_time), length(%s)))"
    if narrowing.time_from is not None:
        sql.append(f"{prefix.format('query_time')} >= {prefix.format('%s')}")
        params.extend([narrowing.time_from] * 3)
    if narrowing.time_to is not None:
        sql.append(f"{prefix.format('query_time')} < {prefix.format('%s')}")
        params.extend([narrowing.time_to] * 3)
    if narrowing.time_from is not None or narrowing.time_to is not None:
        sql.append("query_time IS NOT NULL AND query_time != ''")
    return "".join(f" AND {condition}" for condition in sql), params


class PgRegistry:
    """:class:`simulator.ports.dmp.RegistryAccess` on PostgreSQL; ``locking`` inside a
    write transaction (advisory locks on what each check reads), not in a view."""

    def __init__(self, db: PgDatabase, locking: bool):
        self.db, self.locking = db, locking

    def _lock(self, space: int, key: str) -> None:
        if self.locking:
            cursor = self.db.in_transaction()
            if cursor is not None:
                lock(cursor, space, key)

    def _objects(self, where: str, params=()) -> list[RegistryObject]:
        return [RegistryObject.from_dict(json.loads(row[0])) for row in self.db.execute(
            f"SELECT payload FROM xds_objects {where} ORDER BY registered_at, entry_uuid",
            params)]

    def entry(self, entry_uuid: str) -> RegistryObject | None:
        """The object with this entryUUID, or None."""
        found = self._objects("WHERE entry_uuid = %s", (entry_uuid,))
        return found[0] if found else None

    def unique_id_exists(self, unique_id: str) -> bool:
        """Whether an object already has this uniqueId."""
        self._lock(UNIQUE_ID_LOCK, unique_id)
        return bool(self.db.execute("SELECT 1 FROM xds_objects WHERE unique_id = %s LIMIT 1",
                                    (unique_id,)))

    def documents_by_unique_id(self, unique_id: str) -> list[RegistryObject]:
        """Every version of the document entry with this uniqueId."""
        self._lock(UNIQUE_ID_LOCK, unique_id)
        return self._objects("WHERE kind = %s AND unique_id = %s", (DOCUMENT, unique_id))

    def current_version(self, lid: str) -> RegistryObject | None:
        """The latest version of a logical document."""
        self._lock(LID_LOCK, lid)
        found = self._objects("WHERE lid = %s AND version = (SELECT MAX(version) FROM "
                              "xds_objects WHERE lid = %s)", (lid, lid))
        return found[0] if found else None

    def documents_for_patient(self, ins: str,
                              narrowing: Narrowing | None = None) -> list[RegistryObject]:
        """A patient's document entries, less those ``narrowing`` rules out."""
        self._lock(PATIENT_LOCK, ins)
        where, params = _narrowing_sql(narrowing)
        return self._objects(f"WHERE ins = %s AND kind = %s{where}", (ins, DOCUMENT, *params))

    def submission_sets_for_patient(self, ins: str,
                                    narrowing: Narrowing | None = None) -> list[RegistryObject]:
        """A patient's submission sets, less those ``narrowing`` rules out."""
        self._lock(PATIENT_LOCK, ins)
        where, params = _narrowing_sql(narrowing)
        return self._objects(f"WHERE ins = %s AND kind = %s{where}",
                             (ins, SUBMISSION_SET, *params))

    def count_documents_for_patient(self, ins: str) -> int:
        """How many document entries (every version) a patient's DMP holds."""
        return self.db.execute("SELECT COUNT(*) FROM xds_objects WHERE ins = %s AND kind = %s",
                               (ins, DOCUMENT))[0][0]

    def author_of(self, entry_uuid: str) -> str | None:
        """The author id recorded for an object."""
        rows = self.db.execute("SELECT author_id FROM xds_objects WHERE entry_uuid = %s",
                               (entry_uuid,))
        return rows[0][0] if rows else None

    def associations_for(self, uuids: list[str]) -> list[Association]:
        """Associations whose source or target is one of ``uuids``, in stored order."""
        if not uuids:
            return []
        return [Association.from_dict(json.loads(row[0])) for row in self.db.execute(
            "SELECT payload FROM xds_associations WHERE source = ANY(%s) OR target = ANY(%s)"
            " ORDER BY seq", (list(uuids), list(uuids)))]

    def add_object(self, obj: RegistryObject, *, kind: str, ins: str, unique_id: str,
                   author_id: str, registered_at: datetime) -> None:
        """Store a new registry object (document entry or submission set)."""
        self._lock(PATIENT_LOCK, ins)
        self.db.execute(
            "INSERT INTO xds_objects (entry_uuid, kind, ins, unique_id, lid, version, status,"
            " author_id, registered_at, query_time, class_code, payload)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (obj.id, kind, ins, unique_id, obj.lid or obj.id, int(obj.version or 1),
             obj.status, author_id, registered_at.isoformat(), *_query_columns(obj, kind),
             json.dumps(obj.to_dict())))

    def set_status(self, entry_uuid: str, status: str) -> None:
        """Change the availability status of a stored object (its row locked)."""
        rows = self.db.execute("SELECT payload FROM xds_objects WHERE entry_uuid = %s"
                               " FOR UPDATE", (entry_uuid,))
        if not rows:
            raise KeyError(entry_uuid)
        found = RegistryObject.from_dict(json.loads(rows[0][0]))
        self.db.execute("UPDATE xds_objects SET status = %s, payload = %s WHERE entry_uuid = %s",
                        (status, json.dumps(found.evolve(status=status).to_dict()),
                         entry_uuid))

    def association_exists(self, association_id: str) -> bool:
        """Whether an association already has this id."""
        self._lock(ASSOCIATION_LOCK, association_id)
        return bool(self.db.execute("SELECT 1 FROM xds_associations WHERE id = %s",
                                    (association_id,)))

    def add_association(self, association: Association) -> None:
        """Store an association."""
        self.db.execute(
            "INSERT INTO xds_associations (id, source, target, payload) VALUES (%s, %s, %s, %s)",
            (association.id, association.source, association.target,
             json.dumps(association.to_dict())))

    def add_content(self, unique_id: str, mime_type: str, content: bytes) -> None:
        """Store the bytes of a document (the repository side)."""
        self.db.execute("INSERT INTO xds_documents (unique_id, mime_type, content)"
                        " VALUES (%s, %s, %s)", (unique_id, mime_type, bytes(content)))


class PgDmpStore:
    """DMP state in PostgreSQL (:class:`simulator.ports.dmp.DmpRecordStore`)."""

    def __init__(self, db: PgDatabase):
        self.db = db

    def _patient(self, cursor, ins: str) -> None:
        lock(cursor, PATIENT_LOCK, ins)

    # --- patient records -------------------------------------------------------------
    def record(self, ins: str) -> DmpRecord | None:
        """The DMP of the patient with this INS (inside a registry transaction: with
        the patient's lock, so that a concurrent closure lands before or after)."""
        cursor = self.db.in_transaction()
        if cursor is not None:
            self._patient(cursor, ins)
        rows = self.db.execute("SELECT payload FROM dmp_records WHERE ins = %s", (ins,))
        return record_from_json(rows[0][0]) if rows else None

    def save_record(self, record: DmpRecord) -> None:
        """Create or replace a DMP record."""
        with self.db.transaction() as cursor:
            self._patient(cursor, record.ins)
            cursor.execute("INSERT INTO dmp_records (ins, payload) VALUES (%s, %s)"
                           " ON CONFLICT (ins) DO UPDATE SET payload = excluded.payload",
                           (record.ins, record_to_json(record)))

    def create_record(self, record: DmpRecord) -> bool:
        """Create a DMP; False when one already exists (the primary key decides)."""
        with self.db.transaction() as cursor:
            self._patient(cursor, record.ins)
            cursor.execute("INSERT INTO dmp_records (ins, payload) VALUES (%s, %s)"
                           " ON CONFLICT (ins) DO NOTHING RETURNING ins",
                           (record.ins, record_to_json(record)))
            return bool(cursor.fetchall())

    def update_record(self, ins: str,
                      change: Callable[[DmpRecord | None], DmpRecord]) -> DmpRecord:
        """Read, change and write a DMP record under the patient's lock."""
        with self.db.transaction() as cursor:
            self._patient(cursor, ins)
            cursor.execute("SELECT payload FROM dmp_records WHERE ins = %s", (ins,))
            rows = cursor.fetchall()
            updated = change(record_from_json(rows[0][0]) if rows else None)
            if updated.ins != ins:
                self._patient(cursor, updated.ins)
            cursor.execute("INSERT INTO dmp_records (ins, payload) VALUES (%s, %s)"
                           " ON CONFLICT (ins) DO UPDATE SET payload = excluded.payload",
                           (updated.ins, record_to_json(updated)))
            return updated

    def records(self) -> list[DmpRecord]:
        """Every DMP, by INS."""
        return [record_from_json(row[0]) for row in self.db.execute(
            "SELECT payload FROM dmp_records ORDER BY ins COLLATE \"C\"")]

    # --- authorisations --------------------------------------------------------------
    def authorisation(self, ins: str, professional_id: str) -> AuthorisationRecord | None:
        """A professional's authorisation record on a DMP, or None."""
        cursor = self.db.in_transaction()
        if cursor is not None:
            self._patient(cursor, ins)
        rows = self.db.execute("SELECT payload FROM dmp_authorisations WHERE ins = %s"
                               " AND professional_id = %s", (ins, professional_id))
        return authorisation_from_json(rows[0][0]) if rows else None

    def save_authorisation(self, record: AuthorisationRecord) -> None:
        """Create or replace an authorisation record."""
        with self.db.transaction() as cursor:
            self._patient(cursor, record.ins)
            self._write_authorisation(cursor, record)

    @staticmethod
    def _write_authorisation(cursor, record: AuthorisationRecord) -> None:
        cursor.execute(
            "INSERT INTO dmp_authorisations (ins, professional_id, structure_id,"
            " last_action_at, payload) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (ins, professional_id) DO UPDATE SET structure_id ="
            " excluded.structure_id, last_action_at = excluded.last_action_at,"
            " payload = excluded.payload",
            (record.ins, record.professional_id, record.structure_id,
             _iso(record.last_action_at), authorisation_to_json(record)))

    def update_authorisation(
            self, ins: str, professional_id: str,
            change: Callable[[AuthorisationRecord | None], AuthorisationRecord]
    ) -> AuthorisationRecord:
        """Read, change and write an authorisation under the patient's lock."""
        with self.db.transaction() as cursor:
            self._patient(cursor, ins)
            cursor.execute("SELECT payload FROM dmp_authorisations WHERE ins = %s"
                           " AND professional_id = %s", (ins, professional_id))
            rows = cursor.fetchall()
            updated = change(authorisation_from_json(rows[0][0]) if rows else None)
            self._write_authorisation(cursor, updated)
            return updated

    def authorisations_for_patient(self, ins: str) -> list[AuthorisationRecord]:
        """Every professional known on a DMP (TD1.6)."""
        return [authorisation_from_json(row[0]) for row in self.db.execute(
            "SELECT payload FROM dmp_authorisations WHERE ins = %s"
            " ORDER BY professional_id COLLATE \"C\"", (ins,))]

    def authorisations_of(self, professional_id: str | None = None,
                          structure_id: str | None = None) -> list[AuthorisationRecord]:
        """Authorisations of a professional, or of every professional of a structure."""
        params: tuple[str | None, ...]
        if professional_id is not None:
            sql, params = "WHERE professional_id = %s", (professional_id,)
        else:
            sql, params = "WHERE structure_id = %s", (structure_id,)
        return [authorisation_from_json(row[0]) for row in self.db.execute(
            f"SELECT payload FROM dmp_authorisations {sql} ORDER BY ins COLLATE \"C\"",
            params)]

    # --- XDS registry and repository -------------------------------------------------
    @contextmanager
    def registry_transaction(self) -> Iterator[PgRegistry]:
        """A :class:`PgRegistry` inside one transaction, locking as it reads."""
        with self.db.transaction():
            yield PgRegistry(self.db, locking=True)

    def view(self) -> PgRegistry:
        """Read access to the registry outside a write transaction."""
        return PgRegistry(self.db, locking=False)

    def document_content(self, unique_id: str) -> tuple[str, bytes] | None:
        """(mime type, bytes) of a stored document, or None."""
        rows = self.db.execute("SELECT mime_type, content FROM xds_documents"
                               " WHERE unique_id = %s", (unique_id,))
        return (rows[0][0], bytes(rows[0][1])) if rows else None

    def documents_since(self, since: datetime) -> list[tuple[str, str, str]]:
        """(ins, author id, registered at) of every document entry registered since."""
        return [tuple(row) for row in self.db.execute(
            "SELECT ins, author_id, registered_at FROM xds_objects"
            " WHERE kind = %s AND registered_at >= %s ORDER BY registered_at",
            (DOCUMENT, since.isoformat()))]

    def count_documents(self) -> int:
        """How many document entries (every version) the registry holds."""
        return self.db.execute("SELECT COUNT(*) FROM xds_objects WHERE kind = %s",
                               (DOCUMENT,))[0][0]

    def clear(self) -> None:
        """Forget every DMP, authorisation and document (``POST /_admin/reset``)."""
        with self.db.transaction() as cursor:
            cursor.execute("TRUNCATE xds_documents, xds_associations, xds_objects,"
                           " dmp_authorisations, dmp_records")
