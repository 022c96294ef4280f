"""ITI-57 Update Document Set (TD3.3): reading the request and planning the change.

Two kinds of update reach the DMP registry (DMP brief §2.5 TD3.3):

* a metadata update (TD3.3a masking ``MASQUE_PS``, TD3.3b visibility
  ``INVISIBLE_PATIENT`` / ``INVISIBLE_REPRESENTANTS_LEGAUX``): a new submission set,
  the full new DocumentEntry (same ``lid``) and a HasMember association with slots
  ``SubmissionSetStatus=Original`` and ``PreviousVersion=<n>``;
* an availability status change (TD3.3c delete, TD3.3d archive / unarchive): a
  submission set and an ``UpdateAvailabilityStatus`` association from the set to the
  entryUUID, with slots ``OriginalStatus`` and ``NewStatus``.

:func:`parse_update` reads the request alone; :func:`plan_update` checks it against the
registry (IHE ITI TF-3 §4.2.4.1 metadata update errors) and says what to store. Who may
do it (only the author deletes, masked documents are hidden from others) is the
integrator's business with :mod:`simulator.services.dmp.access`: the plan exposes the
affected entries, their authors and visibility codes for that.

Error codes chosen where the TF leaves room: an unknown lid or target entryUUID, a
status that is not the current one, a transition not in :data:`TRANSITIONS`, an update
of a deleted document, or a change of hash/size/repositoryUniqueId is
XDSMetadataUpdateError; a changed uniqueId or an entryUUID already in the registry is
XDSMetadataIdentifierError; a PreviousVersion other than the current version is
XDSMetadataVersionError; a change of patient is XDSPatientIdDoesNotMatch.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Callable, Protocol

from lxml import etree

from simulator.services.dmp.xds import errors as e
from simulator.services.dmp.xds.model import (
    APPROVED, ARCHIVED, DE_CONFIDENTIALITY, DE_PATIENT_ID, DE_UNIQUE_ID, DELETED, DEPRECATED,
    HAS_MEMBER, LCM, RIM, SS_PATIENT_ID, UPDATE_AVAILABILITY,
    Association, RegistryObject, read_association, read_classification, read_registry_object)
from simulator.services.dmp.xds.query_engine import author_persons, patient_key

PREVIOUS_VERSION = "PreviousVersion"
SUBMISSION_SET_STATUS = "SubmissionSetStatus"
ORIGINAL_STATUS = "OriginalStatus"
NEW_STATUS = "NewStatus"

# TRE_A07-StatutVisibiliteDocument codes carried as confidentialityCode (DMP brief §5.2).
VISIBILITY_SCHEME = "1.2.250.1.213.1.1.4.13"
MASQUE_PS = "MASQUE_PS"
INVISIBLE_PATIENT = "INVISIBLE_PATIENT"
INVISIBLE_REPRESENTANTS_LEGAUX = "INVISIBLE_REPRESENTANTS_LEGAUX"
VISIBILITY_CODES = frozenset({MASQUE_PS, INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX})

# Status changes the DMP accepts (brief §2.5 TD3.3c/d): delete from Approved or
# Archived, archive and unarchive. Nothing leaves Deleted (no undelete) or Deprecated.
TRANSITIONS = {(APPROVED, DELETED): "delete", (ARCHIVED, DELETED): "delete",
               (APPROVED, ARCHIVED): "archive", (ARCHIVED, APPROVED): "unarchive"}
# Registry-owned slots a metadata update may not change (copied when left out).
_FIXED_SLOTS = ("hash", "size", "repositoryUniqueId")


@dataclass
class MetadataUpdate:
    """A new version of a document entry, as submitted."""

    entry: RegistryObject
    association: Association  # HasMember set -> entry
    previous_version: str


@dataclass
class StatusUpdate:
    """A requested availability status change of an existing entry."""

    association: Association  # UpdateAvailabilityStatus set -> entryUUID
    target: str
    original_status: str
    new_status: str


@dataclass
class UpdateRequest:
    """A parsed ITI-57 request."""

    submission_set: RegistryObject
    metadata_updates: list[MetadataUpdate] = field(default_factory=list)
    status_updates: list[StatusUpdate] = field(default_factory=list)


# --- reading ----------------------------------------------------------------------------

def _error(code: str, message: str, location: str = "") -> e.XdsError:
    return e.XdsError(code, message, location)


def _read_objects(body: etree._Element):
    object_list = body.find(f"{{{RIM}}}RegistryObjectList")
    children = list(object_list) if object_list is not None else []
    objects = [read_registry_object(c) for c in children
               if etree.QName(c).localname in ("RegistryPackage", "ExtrinsicObject")]
    associations = [read_association(c) for c in children
                    if etree.QName(c).localname == "Association"]
    by_id = {o.id: o for o in objects}
    for child in children:  # the submission-set marker may stand outside its package
        if etree.QName(child).localname == "Classification":
            target = by_id.get(child.get("classifiedObject", ""))
            if target is not None:
                target.classifications.append(read_classification(child))
    return objects, associations


def _read_status_update(a: Association, set_id: str, problems: list) -> StatusUpdate | None:
    original, new = a.slot(ORIGINAL_STATUS), a.slot(NEW_STATUS)
    if a.source != set_id:
        problems.append(_error(e.REGISTRY_METADATA_ERROR, "UpdateAvailabilityStatus must have "
                               "the submission set as sourceObject", a.id))
    elif not original or not new:
        problems.append(_error(e.REGISTRY_METADATA_ERROR, "UpdateAvailabilityStatus needs the "
                               "slots OriginalStatus and NewStatus", a.id))
    else:
        return StatusUpdate(a, a.target, original, new)
    return None


def parse_update(body: etree._Element) -> UpdateRequest:
    """Read an ITI-57 ``lcm:SubmitObjectsRequest``; raise :class:`XdsFailure` when it is
    not one of the updates the DMP supports."""
    if body.tag != f"{{{LCM}}}SubmitObjectsRequest":
        raise e.XdsFailure([_error(e.REGISTRY_ERROR, f"expected lcm:SubmitObjectsRequest, "
                                   f"got {body.tag}")])
    objects, associations = _read_objects(body)
    sets = [o for o in objects if o.is_submission_set]
    if len(sets) != 1:
        raise e.XdsFailure([_error(e.REGISTRY_METADATA_ERROR, "an ITI-57 request carries "
                                   f"exactly one submission set, found {len(sets)}")])
    submission_set, problems = sets[0], []
    entries = {o.id: o for o in objects if o.kind == "ExtrinsicObject"}
    request = UpdateRequest(submission_set)
    for a in associations:
        if a.type == UPDATE_AVAILABILITY:
            update = _read_status_update(a, submission_set.id, problems)
            if update:
                request.status_updates.append(update)
        elif a.type == HAS_MEMBER and a.source == submission_set.id and a.target in entries:
            entry = entries.pop(a.target)
            if a.slot(PREVIOUS_VERSION) is None or a.slot(SUBMISSION_SET_STATUS) != "Original":
                problems.append(_error(e.METADATA_UPDATE_ERROR, "the HasMember association of "
                                       "a new version needs SubmissionSetStatus=Original and "
                                       "PreviousVersion (new documents go through ITI-41)", a.id))
            else:
                request.metadata_updates.append(MetadataUpdate(entry, a, a.slot(PREVIOUS_VERSION)))
        else:
            problems.append(_error(e.METADATA_UPDATE_ERROR, f"association {a.type} from "
                                   f"{a.source} to {a.target} is not an update the DMP "
                                   "supports (new version or UpdateAvailabilityStatus)", a.id))
    for orphan in entries:
        problems.append(_error(e.METADATA_UPDATE_ERROR, f"DocumentEntry {orphan} has no "
                               "HasMember association from the submission set", orphan))
    if not problems and not request.metadata_updates and not request.status_updates:
        problems.append(_error(e.METADATA_UPDATE_ERROR, "the request updates nothing"))
    if problems:
        raise e.XdsFailure(problems)
    return request


# --- planning ---------------------------------------------------------------------------

class UpdateLookup(Protocol):
    """What planning reads from the registry."""

    def entry(self, uuid: str) -> RegistryObject | None:
        """The registry object with this entryUUID, or None."""

    def current_version(self, lid: str) -> RegistryObject | None:
        """The latest version of the document with this lid, or None."""


@dataclass
class VersionChange:
    """A metadata update: ``previous`` (as stored) becomes Deprecated, ``new_version``
    is stored beside it."""

    previous: RegistryObject
    new_version: RegistryObject

    @property
    def deprecated(self) -> RegistryObject:
        """The previous version as it is to be stored."""
        return self.previous.evolve(status=DEPRECATED)


@dataclass
class StatusChange:
    """An availability status change of ``entry`` (as stored)."""

    entry: RegistryObject
    new_status: str
    action: str  # delete | archive | unarchive

    @property
    def updated(self) -> RegistryObject:
        """The entry as it is to be stored."""
        return self.entry.evolve(status=self.new_status)


@dataclass
class UpdatePlan:
    """What an accepted ITI-57 request changes."""

    submission_set: RegistryObject
    associations: list[Association]
    versions: list[VersionChange]
    status_changes: list[StatusChange]
    registered_at: datetime

    def objects_to_store(self) -> list[RegistryObject]:
        """Every registry object to insert or replace (by entryUUID)."""
        return ([self.submission_set] + [v.deprecated for v in self.versions]
                + [v.new_version for v in self.versions]
                + [s.updated for s in self.status_changes])

    def affected_entries(self) -> list[RegistryObject]:
        """The existing entries the request changes, as stored (for access checks)."""
        return [v.previous for v in self.versions] + [s.entry for s in self.status_changes]


def visibility_codes(entry: RegistryObject) -> frozenset[str]:
    """The DMP visibility codes among the entry's confidentiality codes."""
    return frozenset(c.code for c in entry.codes(DE_CONFIDENTIALITY) if c.code in VISIBILITY_CODES)


def author_ids(entry: RegistryObject) -> list[str]:
    """The authors' identifiers (XCN.1, the PS national id, DMP brief §5.1)."""
    return [person.split("^")[0] for person in author_persons(entry)]


def _with_id(obj: RegistryObject, new_id: str, new_uuid: Callable[[], str]) -> RegistryObject:
    def own(old: str) -> str:
        return old if old.startswith("urn:uuid:") else new_uuid()
    classifications = [replace(c, id=own(c.id) if c.id else c.id, classified_object=new_id)
                       for c in obj.classifications]
    external_ids = [replace(x, id=own(x.id) if x.id else x.id, registry_object=new_id)
                    for x in obj.external_ids]
    return obj.evolve(id=new_id, classifications=classifications, external_ids=external_ids)


def _check_version(update: MetadataUpdate, current: RegistryObject | None,
                   lookup: UpdateLookup) -> list[e.XdsError]:
    entry, lid = update.entry, update.entry.lid
    if current is None:
        return [_error(e.METADATA_UPDATE_ERROR, f"no document with lid {lid} in the registry", lid)]
    problems = []
    if current.status == DELETED:
        problems.append(_error(e.METADATA_UPDATE_ERROR, f"document {lid} is deleted", lid))
    if update.previous_version != current.version:
        problems.append(_error(e.METADATA_VERSION_ERROR, f"PreviousVersion "
                               f"{update.previous_version} is not the current version "
                               f"{current.version} of {lid}", lid))
    if patient_key(entry.external(DE_PATIENT_ID)) != patient_key(current.external(DE_PATIENT_ID)):
        problems.append(_error(e.PATIENT_ID_DOES_NOT_MATCH, f"the new version of {lid} names "
                               "another patient than the document", lid))
    if entry.external(DE_UNIQUE_ID) != current.external(DE_UNIQUE_ID):
        problems.append(_error(e.METADATA_IDENTIFIER_ERROR, f"the new version of {lid} has "
                               f"uniqueId {entry.external(DE_UNIQUE_ID)}, the document "
                               f"{current.external(DE_UNIQUE_ID)}", lid))
    if entry.id.startswith("urn:uuid:") and lookup.entry(entry.id) is not None:
        problems.append(_error(e.METADATA_IDENTIFIER_ERROR, f"entryUUID {entry.id} is already "
                               "in the registry: a new version needs a new one", entry.id))
    for name in _FIXED_SLOTS:
        if entry.slot(name) is not None and entry.slot(name) != current.slot(name):
            problems.append(_error(e.METADATA_UPDATE_ERROR, f"{name} cannot change in a "
                                   f"metadata update of {lid}", lid))
    return problems


def _new_version(update: MetadataUpdate, current: RegistryObject, new_id: str,
                 new_uuid: Callable[[], str]) -> RegistryObject:
    slots = dict(update.entry.slots)
    for name in _FIXED_SLOTS:
        if name not in slots and name in current.slots:
            slots[name] = list(current.slots[name])
    # The new version keeps the status of the one it supersedes (Approved or Archived).
    return _with_id(update.entry, new_id, new_uuid).evolve(
        lid=current.lid, version=str(int(current.version or "1") + 1), status=current.status,
        slots=slots)


def _plan_status(update: StatusUpdate, set_patient: str, lookup: UpdateLookup,
                 problems: list) -> StatusChange | None:
    target = lookup.entry(update.target)
    if target is None or target.kind != "ExtrinsicObject":
        problems.append(_error(e.METADATA_UPDATE_ERROR, f"no document entry {update.target}",
                               update.target))
        return None
    action = TRANSITIONS.get((update.original_status, update.new_status))
    if target.status != update.original_status:
        problems.append(_error(e.METADATA_UPDATE_ERROR, f"OriginalStatus "
                               f"{update.original_status} is not the status {target.status} "
                               f"of {update.target}", update.target))
    elif action is None:
        problems.append(_error(e.METADATA_UPDATE_ERROR, f"the DMP does not change a document "
                               f"from {update.original_status} to {update.new_status}",
                               update.target))
    if patient_key(target.external(DE_PATIENT_ID)) != patient_key(set_patient):
        problems.append(_error(e.PATIENT_ID_DOES_NOT_MATCH, f"the submission set names "
                               f"another patient than document {update.target}", update.target))
    return StatusChange(target, update.new_status, action or "")


def plan_update(request: UpdateRequest, *, lookup: UpdateLookup, now: datetime,
                new_uuid: Callable[[], str]) -> UpdatePlan:
    """Check ``request`` against the registry and say what to store; raise
    :class:`XdsFailure` with every problem found."""
    problems: list[e.XdsError] = []
    ids: dict[str, str] = {}

    def resolve(old: str) -> str:
        if old.startswith("urn:uuid:"):
            return old
        return ids.setdefault(old, new_uuid())

    submission_set = _with_id(request.submission_set, resolve(request.submission_set.id),
                              new_uuid).evolve(status=APPROVED)
    set_patient = submission_set.external(SS_PATIENT_ID)
    versions, changes, associations, lids = [], [], [], set()
    for update in request.metadata_updates:
        lid = update.entry.lid
        if not lid or lid == update.entry.id:
            problems.append(_error(e.METADATA_UPDATE_ERROR, f"DocumentEntry {update.entry.id} must "
                                   "carry the lid of the document it updates", update.entry.id))
            continue
        if lid in lids:
            problems.append(_error(e.METADATA_UPDATE_ERROR, f"two new versions of {lid}", lid))
        lids.add(lid)
        current = lookup.current_version(lid)
        found = _check_version(update, current, lookup)
        if patient_key(update.entry.external(DE_PATIENT_ID)) != patient_key(set_patient):
            found.append(_error(e.PATIENT_ID_DOES_NOT_MATCH, "the submission set and the new "
                                f"version of {lid} name different patients", lid))
        problems.extend(found)
        if not found:
            new = _new_version(update, current, resolve(update.entry.id), new_uuid)
            versions.append(VersionChange(current, new))
            associations.append(replace(update.association, id=resolve(update.association.id),
                                        source=submission_set.id, target=new.id, status=APPROVED))
    for update in request.status_updates:
        change = _plan_status(update, set_patient, lookup, problems)
        if change is not None:
            changes.append(change)
            associations.append(replace(update.association, id=resolve(update.association.id),
                                        source=submission_set.id, status=APPROVED))
    if problems:
        raise e.XdsFailure(problems)
    return UpdatePlan(submission_set, associations, versions, changes, now)
