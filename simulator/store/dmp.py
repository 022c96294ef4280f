"""Persistence of the DMP: patient records, authorisations, XDS objects and document bytes.

The tables live in the state database (they must survive a restart); the XDS tables
and their reads and writes are in :mod:`simulator.store.xds_registry`. A submission is
checked and written inside one immediate transaction
(:meth:`DmpStore.registry_transaction`), so that two concurrent feeds of the same
uniqueId cannot both pass the duplicate check, and a feed is stored whole or not at all.
"""
from __future__ import annotations

import functools
import json
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Callable

from simulator.services.dmp.records import (
    AuthorisationRecord, DmpRecord, PatientAccess, PatientTraits)
from simulator.store.database import Database
from simulator.store.xds_registry import (
    DOCUMENT, RegistryTransaction, create_registry_tables, registry_transaction, registry_view)

REGISTRY_CACHE_KIB = 16 * 1024  # the state database's page cache, at most (grows with use)
# Decoded records and authorisations kept per process, keyed by their JSON (below).
DECODED_KEPT = 1024

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
"""


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


_RECORD_MOMENTS = ("created_at", "updated_at", "closed_at")
_AUTHORISATION_MOMENTS = ("granted_at", "last_action_at", "expires_at")


def _json_ready(record, moments: tuple[str, ...]) -> dict:
    # A shallow copy: these records hold plain values, tuples and (DmpRecord) the traits,
    # made a dict below; dataclasses.asdict's deep copy cost more than the write (issue 15).
    data = dict(vars(record))
    for name in moments:
        data[name] = _iso(getattr(record, name))
    return data


_ACCESS_MOMENTS = ("created_at", "codes_issued_at")


def record_to_dict(record: DmpRecord) -> dict:
    """A DMP record as a JSON-ready dict (instants in ISO-8601)."""
    data = _json_ready(record, _RECORD_MOMENTS)
    data["traits"] = dict(vars(record.traits))
    if record.web_access is not None:
        data["web_access"] = _json_ready(record.web_access, _ACCESS_MOMENTS)
    return data


def authorisation_to_dict(record: AuthorisationRecord) -> dict:
    """An authorisation as a JSON-ready dict (instants in ISO-8601)."""
    return _json_ready(record, _AUTHORISATION_MOMENTS)


def record_to_json(record: DmpRecord) -> str:
    """JSON of a DMP record."""
    return json.dumps(record_to_dict(record), ensure_ascii=False)


# Every DMP call reads its patient's record (TD0.2 the caller's authorisation too),
# which change far less often than they are read: decoding one cost a TD0.2 ~115,000
# instructions (issue 15). The value decoded from a payload is kept, keyed by the
# payload's text: a pure function of it, so nothing to invalidate (a changed record has
# another text), and frozen dataclasses of tuples, so safe to share.
@functools.lru_cache(maxsize=DECODED_KEPT)
def record_from_json(text: str) -> DmpRecord:
    """Inverse of :func:`record_to_json` (the same value for the same text)."""
    data = json.loads(text)
    traits = data.pop("traits")
    traits["telecoms"] = tuple(traits["telecoms"])
    traits["address"] = tuple(traits["address"])
    for name in _RECORD_MOMENTS:
        data[name] = _moment(data[name])
    access = data.pop("web_access", None)  # absent from records written before TD1.5
    if access is not None:
        for name in _ACCESS_MOMENTS:
            access[name] = _moment(access[name])
        access["channels"] = tuple(tuple(pair) for pair in access["channels"])
        data["web_access"] = PatientAccess(**access)
    return DmpRecord(traits=PatientTraits(**traits), **data)


def authorisation_to_json(record: AuthorisationRecord) -> str:
    """JSON of an authorisation."""
    return json.dumps(authorisation_to_dict(record), ensure_ascii=False)


@functools.lru_cache(maxsize=DECODED_KEPT)
def authorisation_from_json(text: str) -> AuthorisationRecord:
    """Inverse of :func:`authorisation_to_json` (kept as records are, above)."""
    data = json.loads(text)
    for name in _AUTHORISATION_MOMENTS:
        data[name] = _moment(data[name])
    return AuthorisationRecord(**data)


class DmpStore:
    """DMP state in the simulator's state database."""

    def __init__(self, database: Database):
        self.database = database
        # A TD3.1 over 1,000 entries reads 6.6 MB of answer fragments: with SQLite's 2 MB
        # page cache they came back from the OS page by page at every query (17 µs an
        # entry instead of 5). Only the state database's cache grows so (issue 15).
        database.set_cache_kib(REGISTRY_CACHE_KIB)
        with database.lock:
            database.connection().executescript(DMP_SCHEMA)
        create_registry_tables(database)

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

    def registry_transaction(self) -> AbstractContextManager[RegistryTransaction]:
        """Context manager giving a :class:`RegistryTransaction` inside one immediate
        transaction: reads see, and writes are, all or nothing."""
        return registry_transaction(self.database)

    def view(self) -> RegistryTransaction:
        """Read access to the registry outside a write transaction."""
        return registry_view(self.database)

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
            for table in ("xds_documents", "xds_associations", "xds_fragments", "xds_objects",
                          "dmp_authorisations", "dmp_records"):
                conn.execute(f"DELETE FROM {table}")


