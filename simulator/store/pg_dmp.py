"""The DMP on PostgreSQL: patient records, authorisations, the XDS registry and the
document bytes, behind :class:`simulator.ports.dmp.DmpRecordStore`.

Per-patient locking instead of SQLite's database-wide write lock: every read-modify-
write of a patient's record or authorisations, and every patient-scoped access inside a
registry transaction, first takes ``pg_advisory_xact_lock`` on the patient's INS (held
to the end of the transaction). A feed, a closure (TD1.4) and a block of the same
patient land one after the other; other patients' calls run beside them. The registry's
global rules take their own advisory lock on the key they check (a uniqueId, a logical
id, an association id), so two concurrent feeds of one uniqueId cannot both pass.

Lock order (no two transactions wait for each other): a registry write transaction
names its keys first (:meth:`PgRegistry.reserve`): the patient's lock is taken first,
then every other key's in one fixed order (by lock key), in one statement; the locks its
checks take later are then already held. Two feeds reusing two uniqueIds in opposite
orders used to hold one each and wait for the other, until PostgreSQL's deadlock
detector failed one of them (a technical fault).

The same tables, columns and answers as the SQLite registry
(:mod:`simulator.store.xds_registry`): objects stored pre-rendered (their rows made by
:mod:`simulator.services.dmp.xds.stored_rows`), FindDocuments counted in SQL up to one
past the result limit; lists of keys go as one array parameter (``= ANY(%s)``), so that
each statement is prepared once whatever their length.
"""
from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from datetime import datetime
from typing import Callable, Iterable, Iterator

from simulator.ports.dmp import DOCUMENT, SUBMISSION_SET
from simulator.services.dmp.records import AuthorisationRecord, DmpRecord
from simulator.services.dmp.xds.fragments import object_fragment
from simulator.services.dmp.xds.model import Association, RegistryObject
from simulator.services.dmp.xds.query_engine import DocumentFind, Narrowing, patient_key
from simulator.services.dmp.xds.stored_rows import (
    RS, US, association_row, find_columns, prepare_object)
from simulator.store.dmp import (
    authorisation_from_json, authorisation_to_json, record_from_json, record_to_json)
from simulator.store.pg_pool import PgDatabase

# What an advisory lock stands for (the lock key is a hash of the space and the key).
PATIENT_LOCK, UNIQUE_ID_LOCK, LID_LOCK, ASSOCIATION_LOCK = 1701, 1702, 1703, 1704


def lock_key(schema: str | None, space: int, key: str) -> int:
    """The 64-bit advisory lock key of ``key`` in ``space`` of a tenant's ``schema``
    (advisory locks are database-wide: tenants sharing the kit's patients and uniqueIds
    must not wait for each other). Computed here, so that a transaction can sort its
    keys before taking them."""
    digest = hashlib.blake2b(f"{schema or ''}:{space}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock(cursor, space: int, key: str) -> None:
    """Take the transaction-scoped advisory lock of ``key`` in ``space`` (once per
    transaction: held to its end)."""
    lock_many(cursor, [], [(space, key)])


def lock_many(cursor, first: list[tuple[int, str]], then: Iterable[tuple[int, str]]) -> None:
    """Take the locks of ``first`` in that order, then those of ``then`` by increasing
    lock key, in one statement; those this transaction holds are skipped."""
    held, schema = cursor.held_locks, getattr(cursor.conn, "_sim_schema", None)
    keys = [k for k in (lock_key(schema, *pair) for pair in first) if k not in held]
    keys += sorted({lock_key(schema, *pair) for pair in then} - held - set(keys))
    if not keys:
        return
    # unnest yields the array in order, and each row's lock is taken as it is read.
    cursor.execute("SELECT count(pg_advisory_xact_lock(key))"
                   " FROM unnest(%s::bigint[]) AS key", (keys,))
    held.update(keys)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


_FIND_COLUMNS = ("patient_key", "object_type", "masked", "class_keys")


def migrate_registry(cursor) -> None:
    """Fill the FindDocuments columns and the fragments of objects written before them
    (the schema adds the columns; run under the schema lock)."""
    cursor.execute("SELECT entry_uuid, kind, payload FROM xds_objects"
                   " WHERE class_keys IS NULL")
    for entry_uuid, kind, payload in cursor.fetchall():
        obj = RegistryObject.from_dict(json.loads(payload))
        cursor.execute("UPDATE xds_objects SET patient_key = %s, object_type = %s,"
                       " masked = %s, class_keys = %s WHERE entry_uuid = %s",
                       (*find_columns(obj, kind), entry_uuid))
        cursor.execute(_INSERT_FRAGMENT + " ON CONFLICT (entry_uuid) DO UPDATE SET"
                       " fragment = excluded.fragment", (entry_uuid, object_fragment(obj)))


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

    def reserve(self, *, ins: str, unique_ids: Iterable[str] = (),
                association_ids: Iterable[str] = ()) -> None:
        """Take the patient's lock, then those of these uniqueIds and association ids
        by increasing lock key (see the module doc); nothing in a view."""
        cursor = self.db.in_transaction() if self.locking else None
        if cursor is not None:
            lock_many(cursor, [(PATIENT_LOCK, ins)],
                      [*((UNIQUE_ID_LOCK, u) for u in unique_ids),
                       *((ASSOCIATION_LOCK, a) for a in association_ids)])

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
        self.add_prepared(prepare_object(obj, kind=kind, ins=ins, unique_id=unique_id,
                                         author_id=author_id, registered_at=registered_at))

    def add_prepared(self, row: tuple) -> None:
        """Store an object made ready by :func:`prepare_object` (before the lock)."""
        self._lock(PATIENT_LOCK, row[2])
        self.db.execute(_INSERT_OBJECT, row[:-1])
        self.db.execute(_INSERT_FRAGMENT, (row[0], row[-1]))

    def set_status(self, entry_uuid: str, status: str) -> None:
        """Change the availability status of a stored object (its row locked), and its
        stored answer fragment."""
        rows = self.db.execute("SELECT payload FROM xds_objects WHERE entry_uuid = %s"
                               " FOR UPDATE", (entry_uuid,))
        if not rows:
            raise KeyError(entry_uuid)
        changed = RegistryObject.from_dict(json.loads(rows[0][0])).evolve(status=status)
        self.db.execute("UPDATE xds_objects SET status = %s, payload = %s WHERE entry_uuid = %s",
                        (status, json.dumps(changed.to_dict()), entry_uuid))
        self.db.execute("UPDATE xds_fragments SET fragment = %s WHERE entry_uuid = %s",
                        (object_fragment(changed), entry_uuid))

    def find_documents(self, find: DocumentFind, *, ins: str, caller: str,
                       limit: int | None, with_fragments: bool = True
                       ) -> tuple[int, list[tuple[str, bytes | None]]]:
        """(how many document entries of ``ins`` match ``find`` and show to ``caller``,
        [(entryUUID, fragment or None)] in registration order), as the SQLite
        registry's: with a ``limit``, counting stops at ``limit + 1`` and over the
        limit no entry is read."""
        self._lock(PATIENT_LOCK, ins)
        where, params = _find_sql(find, ins, caller)
        if limit is not None:
            count = self.db.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM xds_objects WHERE"
                                    f" {where} LIMIT %s) AS found", (*params, limit + 1))[0][0]
            if count > limit:
                return count, []
        if not with_fragments:
            uuids = [row[0] for row in self.db.execute(
                f"SELECT entry_uuid FROM xds_objects WHERE {where}"
                " ORDER BY registered_at, entry_uuid", params)]
            return len(uuids), [(entry_uuid, None) for entry_uuid in uuids]
        rows = self.db.execute(
            f"SELECT o.entry_uuid, f.fragment FROM xds_objects o JOIN xds_fragments f"
            f" ON f.entry_uuid = o.entry_uuid WHERE {where}"
            " ORDER BY o.registered_at, o.entry_uuid", params)
        found: list[tuple[str, bytes | None]] = [(row[0], bytes(row[1])) for row in rows]
        return len(found), found

    def fragments(self, uuids: list[str]) -> dict[str, bytes]:
        """entryUUID -> stored answer fragment, for the objects among ``uuids``."""
        if not uuids:
            return {}
        return {row[0]: bytes(row[1]) for row in self.db.execute(
            "SELECT entry_uuid, fragment FROM xds_fragments WHERE entry_uuid = ANY(%s::text[])",
            (list(uuids),))}

    def association_exists(self, association_id: str) -> bool:
        """Whether an association already has this id."""
        self._lock(ASSOCIATION_LOCK, association_id)
        return bool(self.db.execute("SELECT 1 FROM xds_associations WHERE id = %s",
                                    (association_id,)))

    def add_association(self, association: Association) -> None:
        """Store an association."""
        self.db.execute(_INSERT_ASSOCIATION, association_row(association))

    def add_content(self, unique_id: str, mime_type: str, content: bytes) -> None:
        """Store the bytes of a document (the repository side)."""
        self.db.execute("INSERT INTO xds_documents (unique_id, mime_type, content)"
                        " VALUES (%s, %s, %s)", (unique_id, mime_type, bytes(content)))

    def existing_associations(self, association_ids: list[str]) -> list[str]:
        """Those of ``association_ids`` already registered (each id locked, as
        :meth:`association_exists` does)."""
        return [a_id for a_id in association_ids if self.association_exists(a_id)]

    def add_rows(self, objects: list[tuple], contents: list[tuple[str, str, bytes]],
                 associations: list[tuple[str, str, str, str]]) -> None:
        """Store prepared objects, documents and associations (row by row here: the
        per-statement cost that mattered was SQLite's, under its single write lock)."""
        for row in objects:
            self.add_prepared(row)
        for unique_id, mime_type, content in contents:
            self.add_content(unique_id, mime_type, content)
        for row in associations:
            self.db.execute(_INSERT_ASSOCIATION, row)


_INSERT_ASSOCIATION = ("INSERT INTO xds_associations (id, source, target, payload)"
                       " VALUES (%s, %s, %s, %s)")
_INSERT_OBJECT = (
    "INSERT INTO xds_objects (entry_uuid, kind, ins, unique_id, lid, version, status,"
    " author_id, registered_at, query_time, class_code, payload, patient_key, object_type,"
    " masked, class_keys) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
    " %s, %s)")
_INSERT_FRAGMENT = "INSERT INTO xds_fragments (entry_uuid, fragment) VALUES (%s, %s)"


def _find_sql(find: DocumentFind, ins: str, caller: str) -> tuple[str, list]:
    """The WHERE clause of :meth:`PgRegistry.find_documents` (that of the SQLite
    registry's ``_find_sql``); it names columns of xds_objects alone."""
    where = ["ins = %s", "kind = %s", "patient_key = %s", "status = ANY(%s::text[])",
             "object_type = ANY(%s::text[])", "(masked = 0 OR author_id = %s)"]
    params: list = [ins, DOCUMENT, RS.join(patient_key(find.patient_id)),
                    sorted(find.statuses), sorted(find.types), caller]
    if find.class_codes is not None:
        # code^^scheme matches that code in that scheme; a bare code, in any scheme.
        keys = []
        for value in find.class_codes:
            code, _, scheme = value.partition("^^")
            keys.append(f"{US}{code}{RS}{scheme}{US}" if scheme else f"{US}{code}{RS}")
        where.append("EXISTS (SELECT 1 FROM unnest(%s::text[]) AS wanted (key)"
                     " WHERE strpos(class_keys, wanted.key) > 0)")
        params.append(keys)
    narrowing, more = _narrowing_sql(Narrowing(time_from=find.time_from,
                                               time_to=find.time_to))
    return " AND ".join(where) + narrowing, params + more


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
            cursor.execute("TRUNCATE xds_documents, xds_associations, xds_fragments, xds_objects,"
                           " dmp_authorisations, dmp_records")
