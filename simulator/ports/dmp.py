"""What the DMP services keep: patient records, authorisations, and the XDS registry
and repository (documents, submission sets, associations, bytes)."""
from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Callable, Iterable, Protocol

from simulator.services.dmp.records import AuthorisationRecord, DmpRecord
from simulator.services.dmp.xds.model import Association, RegistryObject
from simulator.services.dmp.xds.query_engine import DocumentFind, Narrowing

# The kinds of registry object a backend stores (``add_object(kind=...)``).
DOCUMENT = "document"
SUBMISSION_SET = "submission-set"


class RegistryAccess(Protocol):
    """Registry reads and writes, inside one all-or-nothing transaction
    (:meth:`DmpRecordStore.registry_transaction`) or read-only (:meth:`DmpRecordStore.view`)."""

    def entry(self, entry_uuid: str) -> RegistryObject | None:
        """The object with this entryUUID, or None."""

    def unique_id_exists(self, unique_id: str) -> bool:
        """Whether an object already has this uniqueId."""

    def documents_by_unique_id(self, unique_id: str) -> list[RegistryObject]:
        """Every version of the document entry with this uniqueId."""

    def current_version(self, lid: str) -> RegistryObject | None:
        """The latest version of a logical document."""

    def documents_for_patient(self, ins: str,
                              narrowing: Narrowing | None = None) -> list[RegistryObject]:
        """A patient's document entries (all versions and statuses), in registration
        order, less those ``narrowing`` rules out (it may rule out fewer)."""

    def submission_sets_for_patient(self, ins: str,
                                    narrowing: Narrowing | None = None
                                    ) -> list[RegistryObject]:
        """A patient's submission sets, less those ``narrowing`` rules out."""

    def count_documents_for_patient(self, ins: str) -> int:
        """How many document entries (every version) a patient's DMP holds."""

    def author_of(self, entry_uuid: str) -> str | None:
        """The author id recorded for an object."""

    def associations_for(self, uuids: list[str]) -> list[Association]:
        """Associations whose source or target is one of ``uuids``, in stored order."""

    def add_object(self, obj: RegistryObject, *, kind: str, ins: str, unique_id: str,
                   author_id: str, registered_at: datetime) -> None:
        """Store a new registry object (``kind`` :data:`DOCUMENT` or :data:`SUBMISSION_SET`)."""

    def add_prepared(self, row: tuple) -> None:
        """Store an object whose row :func:`...xds.stored_rows.prepare_object` made
        (before the transaction): its columns, JSON and answer fragment as they are."""

    def find_documents(self, find: DocumentFind, *, ins: str, caller: str,
                       limit: int | None, with_fragments: bool = True
                       ) -> tuple[int, list[tuple[str, bytes | None]]]:
        """(how many document entries of ``ins`` match ``find`` and show to ``caller``
        (masked entries only to their author), [(entryUUID, stored answer fragment, or
        None without ``with_fragments``)] in registration order). With a ``limit``,
        counting stops at ``limit + 1`` and over the limit no entry is read: (limit + 1,
        [])."""

    def fragments(self, uuids: list[str]) -> dict[str, bytes]:
        """entryUUID -> stored answer fragment, for the objects among ``uuids``."""

    def reserve(self, *, ins: str, unique_ids: Iterable[str] = (),
                association_ids: Iterable[str] = ()) -> None:
        """Name, first thing in a write transaction, the patient and the keys its checks
        will read: a backend that locks key by key takes them all at once in one fixed
        order (no two transactions then wait for each other); a no-op where a write
        transaction excludes every other writer, and in a view."""

    def set_status(self, entry_uuid: str, status: str) -> None:
        """Change an object's availability status; ``KeyError`` when there is none."""

    def association_exists(self, association_id: str) -> bool:
        """Whether an association already has this id."""

    def add_association(self, association: Association) -> None:
        """Store an association."""

    def add_content(self, unique_id: str, mime_type: str, content: bytes) -> None:
        """Store the bytes of a document (the repository side)."""

    def existing_associations(self, association_ids: list[str]) -> list[str]:
        """Those of ``association_ids`` already registered."""

    def add_rows(self, objects: list[tuple], contents: list[tuple[str, str, bytes]],
                 associations: list[tuple[str, str, str, str]]) -> None:
        """Store, all at once, objects made ready by
        :func:`...xds.stored_rows.prepare_object`, documents' (uniqueId, mime type,
        bytes) and associations' (id, source, target, JSON) rows, all made before the
        transaction."""


class DmpRecordStore(Protocol):
    """DMP records, authorisations and the registry."""

    def record(self, ins: str) -> DmpRecord | None:
        """The DMP of the patient with this INS, or None."""

    def save_record(self, record: DmpRecord) -> None:
        """Create or replace a DMP record."""

    def create_record(self, record: DmpRecord) -> bool:
        """Create a DMP; False when one exists (two concurrent creations make one)."""

    def update_record(self, ins: str,
                      change: Callable[[DmpRecord | None], DmpRecord]) -> DmpRecord:
        """Read, change and write a record atomically (concurrent changes of one
        patient's record are serialised); ``change`` may raise to leave it untouched."""

    def records(self) -> list[DmpRecord]:
        """Every DMP, by INS."""

    def authorisation(self, ins: str, professional_id: str) -> AuthorisationRecord | None:
        """A professional's authorisation on a DMP, or None."""

    def save_authorisation(self, record: AuthorisationRecord) -> None:
        """Create or replace an authorisation."""

    def update_authorisation(
            self, ins: str, professional_id: str,
            change: Callable[[AuthorisationRecord | None], AuthorisationRecord]
    ) -> AuthorisationRecord:
        """Read, change and write an authorisation atomically."""

    def authorisations_for_patient(self, ins: str) -> list[AuthorisationRecord]:
        """Every professional known on a DMP, by professional id."""

    def authorisations_of(self, professional_id: str | None = None,
                          structure_id: str | None = None) -> list[AuthorisationRecord]:
        """Authorisations of a professional, or of every professional of a structure."""

    def registry_transaction(self) -> AbstractContextManager[RegistryAccess]:
        """A :class:`RegistryAccess` inside one transaction: the checks of a submission
        and its writes are one, so two concurrent feeds of one uniqueId cannot both pass."""

    def view(self) -> RegistryAccess:
        """Read access to the registry outside a write transaction."""

    def document_content(self, unique_id: str) -> tuple[str, bytes] | None:
        """(mime type, bytes) of a stored document, or None."""

    def documents_since(self, since: datetime) -> list[tuple[str, str, str]]:
        """(ins, author id, registered at ISO) of the document entries registered since."""

    def count_documents(self) -> int:
        """How many document entries (every version) the registry holds."""

    def clear(self) -> None:
        """Forget every DMP, authorisation and document (``POST /_admin/reset``)."""
