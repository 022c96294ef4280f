"""Writing a planned registration into the registry store (inside its transaction).

The rows (JSON, query columns, answer fragments) are made by
:func:`prepare_registration` before the write transaction, so that the write lock is
held only for the inserts (issue 15: a feed rendered and encoded while other feeds
waited for the lock).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from simulator.services.dmp.xds.errors import REGISTRY_METADATA_ERROR, XdsError, XdsFailure
from simulator.services.dmp.xds.model import DE_UNIQUE_ID, DEPRECATED, SS_UNIQUE_ID
from simulator.services.dmp.xds.registration import Registration
from simulator.services.dmp.xds.rules import check_registry_state
from simulator.services.dmp.xds.submission import Submission
from simulator.ports.dmp import DOCUMENT, SUBMISSION_SET, RegistryAccess
from simulator.services.dmp.xds.stored_rows import association_row, prepare_object


@dataclass
class PreparedRegistration:
    """A registration as the rows to write: objects (submission set first), each entry's
    bytes, associations, entries to deprecate."""

    objects: list[tuple]
    contents: list[tuple[str, str, bytes]]  # (uniqueId, mime type, bytes), entry order
    associations: list[tuple[str, str, str, str]]  # (id, source, target, JSON)
    deprecate: list[str]


def prepare_registration(registration: Registration, *, ins: str, feeder: str,
                         now: datetime) -> PreparedRegistration:
    """The rows of ``registration``. ``feeder`` (the VIHF NameID) is recorded as the
    author the DMP's "only the author deletes" and masking rules compare with."""
    submission_set = registration.submission_set
    objects = [prepare_object(submission_set, kind=SUBMISSION_SET, ins=ins,
                              unique_id=submission_set.external(SS_UNIQUE_ID) or "",
                              author_id=feeder, registered_at=now)]
    contents = []
    for entry in registration.entries:
        unique_id = entry.external(DE_UNIQUE_ID) or ""
        objects.append(prepare_object(entry, kind=DOCUMENT, ins=ins, unique_id=unique_id,
                                      author_id=feeder, registered_at=now))
        contents.append((unique_id, entry.mime_type, registration.documents[entry.id]))
    return PreparedRegistration(objects, contents,
                                [association_row(a) for a in registration.associations],
                                registration.deprecate)


def register_checked(registry: RegistryAccess, submission: Submission,
                     prepared: PreparedRegistration, *, ins: str,
                     check_rights: Callable[[], None]) -> None:
    """A feed's write transaction: its keys reserved (the patient, every uniqueId and
    association id, in the store's lock order: two feeds reusing two uniqueIds in
    opposite orders wait for each other instead of deadlocking), the registry checks
    read again under the locks, ``check_rights`` (the record and authorisation,
    raising :class:`XdsFailure`), then the rows."""
    unique_ids = [submission.submission_set.external(SS_UNIQUE_ID) or ""]
    unique_ids += [entry.external(DE_UNIQUE_ID) or "" for entry in submission.entries]
    registry.reserve(ins=ins, unique_ids=unique_ids,
                     association_ids=[row[0] for row in prepared.associations])
    check_registry_state(submission, registry)
    check_rights()
    store_prepared(registry, prepared)


def store_prepared(registry: RegistryAccess, prepared: PreparedRegistration) -> None:
    """Store the submission set, the entries with their bytes and the associations,
    and deprecate replaced entries (a refusal leaves the transaction to roll back)."""
    reused = registry.existing_associations([row[0] for row in prepared.associations])
    if reused:  # client-chosen urn:uuid ids are kept, so they must be new
        raise XdsFailure([XdsError(REGISTRY_METADATA_ERROR, f"Association id {a_id} is "
                                   "already registered: use a new urn:uuid", a_id)
                          for a_id in reused])
    registry.add_rows(prepared.objects, prepared.contents, prepared.associations)
    for entry_uuid in prepared.deprecate:
        registry.set_status(entry_uuid, DEPRECATED)
