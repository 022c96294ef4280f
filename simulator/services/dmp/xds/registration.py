"""What the registry stores once a TD2.1 submission has passed the rules.

Symbolic ids become entryUUIDs everywhere they are referenced; every object starts a
new logical document (lid = entryUUID, version 1, Approved), a replacement included:
the lid changes on replacement and stays stable only across ITI-57 metadata updates
(DMP.md §2.5). The repository adds repositoryUniqueId, and size and hash when the
client left them out.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from simulator.services.dmp.xds.errors import (
    DEPRECATED_DOCUMENT, REGISTRY_METADATA_ERROR, XdsError, XdsFailure)
from simulator.services.dmp.xds.model import (
    APPROVED, DE_AUTHOR, DE_CONFIDENTIALITY, DE_UNIQUE_ID, RPLC, SS_AUTHOR, Association,
    Classification, Code, ExternalId, RegistryObject)
from simulator.services.dmp.xds.rules import RegistryLookup
from simulator.services.dmp.xds.submission import Submission

DMP_REPOSITORY_UNIQUE_ID = "1.2.250.1.213.4.1.1.1.2"  # DMP.md §1.1
_UUID = re.compile(r"^urn:uuid:[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


@dataclass
class Registration:
    """The objects to store, with their final ids, and what they change."""

    objects: list[RegistryObject]  # the submission set first, then the entries
    associations: list[Association]
    documents: dict[str, bytes]  # entryUUID -> bytes, and uniqueId -> the same bytes
    deprecate: list[str]  # entryUUIDs replaced (RPLC targets), to set Deprecated
    author: str | None  # XCN id of the submission set's first authorPerson
    entry_authors: dict[str, str | None] = field(default_factory=dict)  # entryUUID -> id
    confidentiality: dict[str, list[Code]] = field(default_factory=dict)  # entryUUID -> codes
    registered_at: datetime | None = None

    @property
    def submission_set(self) -> RegistryObject:
        """The registered submission set."""
        return self.objects[0]

    @property
    def entries(self) -> list[RegistryObject]:
        """The registered DocumentEntries (the signature entry included)."""
        return self.objects[1:]


def author_id(obj: RegistryObject, scheme: str) -> str | None:
    """XCN.1 (PSIdNat) of the first ``authorPerson`` of ``obj``, or None."""
    for classification in obj.classifications:
        if classification.scheme == scheme:
            for person in classification.slots.get("authorPerson", []):
                if person.split("^")[0].strip():
                    return person.split("^")[0].strip()
    return None


def plan_registration(submission: Submission, *, now: datetime, new_uuid: Callable[[], str],
                      repository_unique_id: str, lookup: RegistryLookup) -> Registration:
    """The :class:`Registration` of a submission that passed ``check_submission``.

    ``new_uuid`` gives fresh UUIDs (with or without the ``urn:uuid:`` prefix); ids the
    client already wrote as ``urn:uuid:`` are kept (IHE ITI TF-3 §4.2.3.1.7). Raise
    :class:`XdsFailure` if an RPLC target is no longer a registered Approved document.
    """
    def fresh() -> str:
        value = new_uuid()
        return value if value.startswith("urn:uuid:") else f"urn:uuid:{value}"

    def final(old: str) -> str:
        return old if _UUID.match(old) else fresh()

    ids = {obj.id: final(obj.id) for obj in [submission.submission_set, *submission.entries]}
    submission_set = _registered(submission.submission_set, ids[submission.submission_set.id],
                                 fresh)
    entries = []
    for entry in submission.entries:
        content = submission.contents[entry.id]
        slots = dict(entry.slots)
        slots["repositoryUniqueId"] = [repository_unique_id]
        if "size" not in slots:
            slots["size"] = [str(len(content))]
        if "hash" not in slots:  # check_submission compared a given hash already
            slots["hash"] = [hashlib.sha1(content).hexdigest()]
        entries.append(_registered(entry, ids[entry.id], fresh, slots))
    associations = [Association(final(a.id), a.type, ids.get(a.source, a.source),
                                ids.get(a.target, a.target), APPROVED, dict(a.slots))
                    for a in submission.associations]
    deprecate = [a.target for a in associations if a.type == RPLC]
    _check_targets(deprecate, lookup)
    documents: dict[str, bytes] = {}
    for old, entry in zip(submission.entries, entries):
        documents[entry.id] = submission.contents[old.id]
        documents[entry.external(DE_UNIQUE_ID)] = submission.contents[old.id]
    return Registration(
        objects=[submission_set, *entries], associations=associations, documents=documents,
        deprecate=deprecate, author=author_id(submission_set, SS_AUTHOR),
        entry_authors={e.id: author_id(e, DE_AUTHOR) for e in entries},
        confidentiality={e.id: e.codes(DE_CONFIDENTIALITY) for e in entries},
        registered_at=now)


def _registered(obj: RegistryObject, entry_uuid: str, fresh: Callable[[], str],
                slots: dict[str, list[str]] | None = None) -> RegistryObject:
    # Classifications and external identifiers are referenced by nobody: they simply
    # get registry ids and point to their object's entryUUID. Built field by field
    # rather than by dataclasses.replace, a tenth of the planning's cost (issue 15).
    return RegistryObject(
        obj.kind, entry_uuid, obj.object_type, obj.mime_type, APPROVED, entry_uuid, "1",
        obj.home, obj.name, obj.description, dict(obj.slots) if slots is None else slots,
        [Classification(c.scheme, c.node, fresh(), entry_uuid, c.classification_node, c.name,
                        dict(c.slots)) for c in obj.classifications],
        [ExternalId(e.scheme, e.value, fresh(), entry_uuid, e.name)
         for e in obj.external_ids])


def _check_targets(targets: list[str], lookup: RegistryLookup) -> None:
    errors = []
    for target in targets:
        found = lookup.entry(target)
        if found is None:
            errors.append(XdsError(REGISTRY_METADATA_ERROR,
                                   f"the document to replace {target} is not registered",
                                   target))
        elif found.status != APPROVED:
            errors.append(XdsError(DEPRECATED_DOCUMENT, f"the document to replace {target} "
                                   f"is no longer Approved ({found.status})", target))
    if errors:
        raise XdsFailure(errors)
