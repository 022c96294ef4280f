"""Reading an ITI-41 ``ProvideAndRegisterDocumentSetRequest`` (TD2.1) into plain data.

The SOAP layer has already replaced every ``xop:Include`` by the base64 text of its
MIME part, so each ``xdsb:Document`` holds base64. This module only checks the
structure (one submission set, ids, one document per entry and one entry per
document); the CI-SIS / DMP rules are in :mod:`rules`.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

from lxml import etree

from simulator.services.dmp.xds.errors import (
    MISSING_DOCUMENT, MISSING_DOCUMENT_METADATA, REGISTRY_METADATA_ERROR, REPOSITORY_ERROR,
    XdsError, XdsFailure)
from simulator.services.dmp.xds.model import (
    DE_FORMAT_CODE, LCM, RIM, XDSB, Association, RegistryObject, read_association,
    read_classification, read_registry_object)
from simulator.soap.mtom import XOP

PROVIDE_AND_REGISTER = f"{{{XDSB}}}ProvideAndRegisterDocumentSetRequest"
# formatCode of the XAdES lot signature entry (DMP.md §2.5).
SIGNATURE_FORMAT = "http://www.w3.org/2000/09/xmldsig#"


def is_signature(entry: RegistryObject) -> bool:
    """The entry is a signature document (formatCode ``http://www.w3.org/2000/09/xmldsig#``)."""
    return any(code.code == SIGNATURE_FORMAT for code in entry.codes(DE_FORMAT_CODE))


@dataclass
class Submission:
    """One ITI-41 submission, ids still as the client wrote them (symbolic or UUIDs)."""

    submission_set: RegistryObject
    entries: list[RegistryObject]  # every DocumentEntry, the signature entry included
    associations: list[Association]
    contents: dict[str, bytes]  # entry id -> document bytes

    def entry(self, entry_id: str) -> RegistryObject | None:
        """The entry with this id, or None."""
        return next((e for e in self.entries if e.id == entry_id), None)

    @property
    def documents(self) -> list[RegistryObject]:
        """The entries that are not signatures."""
        return [e for e in self.entries if not is_signature(e)]

    @property
    def signatures(self) -> list[RegistryObject]:
        """The signature entries."""
        return [e for e in self.entries if is_signature(e)]


def parse_provide_and_register(body: etree._Element | None,
                               parts: dict | None = None) -> Submission:
    """The submission in the SOAP Body's ``xdsb:ProvideAndRegisterDocumentSetRequest``;
    raise :class:`XdsFailure` with every structural error found. ``parts``: the MTOM
    parts the request's elements were resolved from (``SoapRequest.parts``), which are
    their decoded text."""
    if body is None or body.tag != PROVIDE_AND_REGISTER:
        found = "nothing" if body is None else body.tag
        raise _failure(REGISTRY_METADATA_ERROR, "the SOAP Body must hold "
                       f"{PROVIDE_AND_REGISTER} (ITI-41), got {found}")
    object_list = body.find(f"{{{LCM}}}SubmitObjectsRequest/{{{RIM}}}RegistryObjectList")
    if object_list is None:
        raise _failure(REGISTRY_METADATA_ERROR, "ProvideAndRegisterDocumentSetRequest has no "
                       "lcm:SubmitObjectsRequest/rim:RegistryObjectList")
    errors: list[XdsError] = []
    packages, entries, associations = _read_objects(object_list, errors)
    submission_set = _submission_set(packages, errors)
    contents, named = _contents(body, errors, parts or {})
    for entry in entries:
        if entry.id and entry.id not in named:
            errors.append(XdsError(MISSING_DOCUMENT, f"ExtrinsicObject {entry.id} has no "
                                   f"xdsb:Document with id=\"{entry.id}\"", entry.id))
    entry_ids = {e.id for e in entries}
    for doc_id in named:
        if doc_id not in entry_ids:
            errors.append(XdsError(MISSING_DOCUMENT_METADATA, f"xdsb:Document {doc_id} has no "
                                   f"ExtrinsicObject with id=\"{doc_id}\"", doc_id))
    if errors or submission_set is None:
        raise XdsFailure(errors)
    return Submission(submission_set, entries, associations, contents)


def _read_objects(object_list, errors):
    packages, entries, associations, loose = [], [], [], []
    for child in object_list:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child)
        local = name.localname if name.namespace == RIM else None
        if local == "ExtrinsicObject":
            entries.append(read_registry_object(child))
        elif local == "RegistryPackage":
            packages.append(read_registry_object(child))
        elif local == "Association":
            associations.append(read_association(child))
        elif local == "Classification":
            loose.append(read_classification(child))
        elif local != "ObjectRef":
            errors.append(XdsError(REGISTRY_METADATA_ERROR,
                                   f"unexpected element {child.tag} in RegistryObjectList"))
    seen: set[str] = set()
    for obj in [*packages, *entries, *associations]:
        kind = type(obj).__name__ if isinstance(obj, Association) else obj.kind
        if not obj.id:
            errors.append(XdsError(REGISTRY_METADATA_ERROR, f"a {kind} has no id attribute"))
        elif obj.id in seen:
            errors.append(XdsError(REGISTRY_METADATA_ERROR,
                                   f"id {obj.id} is used by more than one object", obj.id))
        seen.add(obj.id)
    # A Classification may stand beside the object it classifies (the usual way of
    # marking the submission set, IHE ITI TF-3 §4.2.1.1): attach it to that object.
    by_id = {obj.id: obj for obj in [*packages, *entries]}
    for classification in loose:
        owner = by_id.get(classification.classified_object)
        if owner is None:
            errors.append(XdsError(
                REGISTRY_METADATA_ERROR, f"Classification {classification.id} classifies "
                f"{classification.classified_object!r}, which is not in the submission",
                classification.id))
        else:
            owner.classifications.append(classification)
    return packages, entries, associations


def _submission_set(packages, errors) -> RegistryObject | None:
    sets = [p for p in packages if p.is_submission_set]
    # Folders are not part of the DMP's TD2.1 (DMP.md §2.5): refuse them plainly.
    for package in packages:
        if not package.is_submission_set:
            errors.append(XdsError(REGISTRY_METADATA_ERROR, f"RegistryPackage {package.id} "
                                   "is not a submission set: folders are not accepted by the "
                                   "DMP", package.id))
    if len(sets) != 1:
        errors.append(XdsError(REGISTRY_METADATA_ERROR, f"exactly one submission set is "
                               f"expected (a RegistryPackage classified by "
                               f"urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd), found "
                               f"{len(sets)}"))
        return None
    return sets[0]


def _contents(body, errors, parts: dict) -> tuple[dict[str, bytes], dict[str, None]]:
    """(decoded contents by id, every id named by an xdsb:Document); a document resolved
    from one MTOM part is that part, not decoded again."""
    contents: dict[str, bytes] = {}
    named: dict[str, None] = {}  # insertion-ordered set: membership in constant time
    for index, document in enumerate(body.findall(f"{{{XDSB}}}Document"), start=1):
        doc_id = document.get("id")
        where = doc_id or f"xdsb:Document[{index}]"
        if not doc_id:
            errors.append(XdsError(REGISTRY_METADATA_ERROR,
                                   "xdsb:Document has no id attribute", where))
            continue
        if doc_id in named:
            errors.append(XdsError(REGISTRY_METADATA_ERROR,
                                   f"more than one xdsb:Document has id {doc_id}", doc_id))
            continue
        named[doc_id] = None
        if document.find(f"{{{XOP}}}Include") is not None:
            errors.append(XdsError(REPOSITORY_ERROR, f"xdsb:Document {doc_id} holds an "
                                   "xop:Include but the request is not an MTOM package "
                                   "(Content-Type multipart/related; type=\"application/xop+xml\")",
                                   doc_id))
            continue
        part = parts.get(document)
        if part is not None:
            contents[doc_id] = part
            continue
        try:
            contents[doc_id] = base64.b64decode("".join((document.text or "").split()),
                                                validate=True)
        except ValueError:  # binascii.Error, or non-ASCII text in the element
            errors.append(XdsError(REPOSITORY_ERROR, f"xdsb:Document {doc_id} is not valid "
                                   "base64", doc_id))
    return contents, named


def _failure(code: str, message: str) -> XdsFailure:
    return XdsFailure([XdsError(code, message)])
