"""Running a stored query (TD3.1, ITI-18) over the registry, without XML.

The registry is anything that offers :class:`RegistryView`; the engine filters what it
returns with the rules of IHE ITI TF-2a §3.18.4.1.2.3.7 and the caller's ``visible``
predicate (masking and visibility rules live in :mod:`simulator.services.dmp.access`;
the integrator passes them in).

Matching rules, where the TF leaves room:

* Codes are sent as ``code^^scheme`` and match a classification with that code and
  coding scheme; a value without ``^^scheme`` matches the code in any scheme.
* Time ranges (TF-2a §3.18.4.1.2.3.7, notes on the *From*/*To* parameters): *From* is
  inclusive (attribute >= value), *To* exclusive (attribute < value). UTC DTM values of
  different precision are compared on their common prefix (the shorter length): a
  creationTime of ``2004`` is neither before nor after ``20040601``, so it passes a
  *From* of 20040601 and fails a *To* of 20040601. A document without the attribute
  never matches a range on it.
* $XDSDocumentEntryAuthorPerson: ``%`` any run of characters, ``_`` one character,
  case-sensitive, against every authorPerson of the entry; several values are an OR.
* Deleted documents (``urn:asip:ci-sis:2010:StatusType:Deleted``) appear only when a
  Find query lists that status; GetDocuments/GetDocumentsAndAssociations/GetAssociations
  never show them, nor any association with a deleted or invisible end.
* GetDocuments by uniqueId returns the current version of each document: metadata
  updates (ITI-57) keep the uniqueId, so the Deprecated earlier versions are left out
  unless no other version exists (a document replaced through RPLC).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Protocol

from simulator.services.dmp.xds import stored_queries as sq
from simulator.services.dmp.xds.model import (
    DE_AUTHOR, DE_CLASS_CODE, DE_CONFIDENTIALITY, DE_EVENT_CODE, DE_FACILITY_TYPE,
    DE_FORMAT_CODE, DE_PATIENT_ID, DE_PRACTICE_SETTING, DE_TYPE_CODE, DELETED, DEPRECATED,
    DOCUMENT_ENTRY_TYPE, SS_AUTHOR, SS_CONTENT_TYPE, SS_PATIENT_ID, SS_SOURCE_ID,
    Association, RegistryObject)

REFERENCE_ID_LIST = "urn:ihe:iti:xds:2013:referenceIdList"


@dataclass(frozen=True)
class Narrowing:
    """What a Find query lets the registry rule out before the engine sees an object:
    availability statuses, classCode codes (any coding scheme) and a [from, to) range on
    the object's query time (creationTime of a document entry, submissionTime of a
    submission set), compared as :func:`in_range` does. Empty or None: no condition.

    A registry may ignore it; the engine checks every rule on what it receives, so the
    narrowing only saves reading objects that cannot match."""

    statuses: frozenset[str] = frozenset()
    class_codes: frozenset[str] = frozenset()
    time_from: str | None = None
    time_to: str | None = None


class RegistryView(Protocol):
    """What the engine reads from the registry (documents are ExtrinsicObjects,
    submission sets RegistryPackages; every version of a document is a separate object)."""

    def documents_for_patient(self, patient_id: str,
                              narrowing: Narrowing) -> list[RegistryObject]:
        """The document entries of the patient (``patient_id`` as the query gives it: a CX
        ``<id>^^^&<oid>&ISO^NH``), every status and version, less any ``narrowing``
        rules out."""

    def submission_sets_for_patient(self, patient_id: str,
                                    narrowing: Narrowing) -> list[RegistryObject]:
        """The submission sets of the patient, less any ``narrowing`` rules out."""

    def object_by_uuid(self, uuid: str) -> RegistryObject | None:
        """The document entry or submission set with this entryUUID, or None."""

    def documents_by_unique_id(self, unique_id: str) -> list[RegistryObject]:
        """Every version of the document with this uniqueId."""

    def associations_for(self, uuids: Iterable[str]) -> list[Association]:
        """Every association whose source or target is one of ``uuids``."""


@dataclass
class QueryResult:
    """What a query found: registry objects (documents first, then submission sets) and
    associations, in the order they are to be returned."""

    objects: list[RegistryObject] = field(default_factory=list)
    associations: list[Association] = field(default_factory=list)


Visible = Callable[[RegistryObject], bool]


def patient_key(cx: str | None) -> tuple[str, str]:
    """The identity a CX patient id stands for: (CX.1 id, CX.4 universal id), so that
    ``X^^^&OID&ISO^NH`` and ``X^^^&OID&ISO^NH^^20100907`` (DMP brief §5.1) are the same."""
    parts = (cx or "").split("^")
    authority = parts[3].split("&") if len(parts) > 3 else []
    return parts[0], authority[1] if len(authority) > 1 else (authority[0] if authority else "")


def code_matches(obj: RegistryObject, scheme: str, wanted: Iterable[str]) -> bool:
    """Whether ``obj`` has a code under ``scheme`` among ``wanted`` (``code^^scheme``)."""
    have = obj.codes(scheme)
    for value in wanted:
        code, _, coding_scheme = value.partition("^^")
        if any(c.code == code and (not coding_scheme or c.scheme == coding_scheme)
               for c in have):
            return True
    return False


def in_range(value: str | None, start: str | None, end: str | None) -> bool:
    """``start <= value < end`` on UTC DTM strings compared on their common prefix."""
    if start is None and end is None:
        return True
    if not value:
        return False
    if start is not None:
        n = min(len(value), len(start))
        if value[:n] < start[:n]:
            return False
    if end is not None:
        n = min(len(value), len(end))
        if not value[:n] < end[:n]:
            return False
    return True


def _like(pattern: str) -> re.Pattern:
    parts = ("." if ch == "_" else ".*" if ch == "%" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.DOTALL)


def author_persons(obj: RegistryObject, scheme: str = DE_AUTHOR) -> list[str]:
    """The authorPerson values (XCN) of ``obj``'s author classifications."""
    return [v for c in obj.classifications if c.scheme == scheme
            for v in c.slots.get("authorPerson", [])]


def _author_matches(obj: RegistryObject, patterns: list[str], scheme: str) -> bool:
    people = author_persons(obj, scheme)
    return any(_like(p).fullmatch(person) for p in patterns for person in people)


def _document_filters(query: sq.StoredQuery) -> list[Callable[[RegistryObject], bool]]:
    de = "$XDSDocumentEntry"
    checks: list[Callable[[RegistryObject], bool]] = []
    statuses = set(query.values(f"{de}Status"))
    checks.append(lambda o: o.status in statuses)
    types = set(query.values(f"{de}Type")) or {DOCUMENT_ENTRY_TYPE}
    checks.append(lambda o: (o.object_type or DOCUMENT_ENTRY_TYPE) in types)
    for name, scheme in (("ClassCode", DE_CLASS_CODE), ("TypeCode", DE_TYPE_CODE),
                         ("PracticeSettingCode", DE_PRACTICE_SETTING),
                         ("HealthcareFacilityTypeCode", DE_FACILITY_TYPE),
                         ("FormatCode", DE_FORMAT_CODE), ("EventCodeList", DE_EVENT_CODE),
                         ("ConfidentialityCode", DE_CONFIDENTIALITY)):
        for group in query.and_groups(f"{de}{name}"):
            checks.append(lambda o, s=scheme, g=group: code_matches(o, s, g))
    for attribute in ("Creation", "ServiceStart", "ServiceStop"):
        start, end = query.one(f"{de}{attribute}TimeFrom"), query.one(f"{de}{attribute}TimeTo")
        if start or end:
            slot = attribute[0].lower() + attribute[1:] + "Time"
            checks.append(lambda o, s=slot, a=start, b=end: in_range(o.slot(s), a, b))
    if query.values(f"{de}AuthorPerson"):
        checks.append(lambda o: _author_matches(o, query.values(f"{de}AuthorPerson"), DE_AUTHOR))
    for group in query.and_groups(f"{de}ReferenceIdList"):
        checks.append(lambda o, g=set(group): bool(g & set(o.slots.get(REFERENCE_ID_LIST, []))))
    return checks


def _same_patient(obj: RegistryObject, scheme: str, patient_id: str) -> bool:
    return patient_key(obj.external(scheme)) == patient_key(patient_id)


def _document_narrowing(query: sq.StoredQuery) -> Narrowing:
    de = "$XDSDocumentEntry"
    class_groups = query.and_groups(f"{de}ClassCode")
    return Narrowing(
        statuses=frozenset(query.values(f"{de}Status")),
        class_codes=frozenset(value.partition("^^")[0] for value in class_groups[0])
        if len(class_groups) == 1 else frozenset(),
        time_from=query.one(f"{de}CreationTimeFrom"), time_to=query.one(f"{de}CreationTimeTo"))


def _find_documents(query: sq.StoredQuery, registry: RegistryView, visible: Visible) -> QueryResult:
    patient_id = query.one("$XDSDocumentEntryPatientId")
    checks = _document_filters(query)
    found = [o for o in registry.documents_for_patient(patient_id, _document_narrowing(query))
             if _same_patient(o, DE_PATIENT_ID, patient_id)
             and all(check(o) for check in checks) and visible(o)]
    return QueryResult(found)


def _find_submission_sets(query: sq.StoredQuery, registry: RegistryView,
                          visible: Visible) -> QueryResult:
    ss = "$XDSSubmissionSet"
    patient_id = query.one(f"{ss}PatientId")
    statuses, sources = set(query.values(f"{ss}Status")), set(query.values(f"{ss}SourceId"))
    start, end = query.one(f"{ss}SubmissionTimeFrom"), query.one(f"{ss}SubmissionTimeTo")
    author, content = query.one(f"{ss}AuthorPerson"), query.values(f"{ss}ContentType")
    narrowing = Narrowing(statuses=frozenset(statuses), time_from=start, time_to=end)
    found = [o for o in registry.submission_sets_for_patient(patient_id, narrowing)
             if _same_patient(o, SS_PATIENT_ID, patient_id) and o.status in statuses
             and (not sources or o.external(SS_SOURCE_ID) in sources)
             and in_range(o.slot("submissionTime"), start, end)
             and (not author or _author_matches(o, [author], SS_AUTHOR))
             and (not content or code_matches(o, SS_CONTENT_TYPE, content)) and visible(o)]
    return QueryResult(found)


def _shown(obj: RegistryObject | None, visible: Visible) -> bool:
    return obj is not None and obj.status != DELETED and visible(obj)


def _documents_by_id(query: sq.StoredQuery, registry: RegistryView,
                     visible: Visible) -> list[RegistryObject]:
    found: list[RegistryObject] = []
    for uuid in query.values("$XDSDocumentEntryEntryUUID"):
        found.append(registry.object_by_uuid(uuid))
    for unique_id in query.values("$XDSDocumentEntryUniqueId"):
        versions = registry.documents_by_unique_id(unique_id)
        current = [v for v in versions if v.status != DEPRECATED]
        found.extend(current or versions)
    unique, seen = [], set()
    for obj in found:
        if obj is not None and obj.kind == "ExtrinsicObject" and obj.id not in seen \
                and _shown(obj, visible):
            seen.add(obj.id)
            unique.append(obj)
    return unique


def _associations(uuids: list[str], registry: RegistryView, visible: Visible) -> list[Association]:
    """Associations touching ``uuids`` whose both ends the caller may see (an end the
    registry does not hold as an object, e.g. another association, is not checked)."""
    result, seen = [], set()
    for association in registry.associations_for(uuids):
        if association.id in seen:
            continue
        ends = [registry.object_by_uuid(u) for u in (association.source, association.target)]
        if all(end is None or _shown(end, visible) for end in ends):
            seen.add(association.id)
            result.append(association)
    return result


@dataclass(frozen=True)
class DocumentFind:
    """A FindDocuments whose every condition a registry can check on stored columns
    (patient, statuses, entry types, one group of class codes, creation time range), so
    that it counts and answers without decoding an entry (issue 15)."""

    patient_id: str
    statuses: frozenset[str]
    types: frozenset[str]
    class_codes: tuple[str, ...] | None  # code^^scheme values, any of them; None: any class
    time_from: str | None
    time_to: str | None


_DE = "$XDSDocumentEntry"
_STORED_COLUMNS = frozenset(f"{_DE}{name}" for name in (
    "PatientId", "Status", "Type", "ClassCode", "CreationTimeFrom", "CreationTimeTo"))


def document_find(query: sq.StoredQuery) -> DocumentFind | None:
    """The :class:`DocumentFind` of a FindDocuments that names nothing else, or None
    (the query is then run by :func:`run_query` on decoded entries)."""
    if query.query_id != sq.FIND_DOCUMENTS or not set(query.params) <= _STORED_COLUMNS:
        return None
    class_groups = query.and_groups(f"{_DE}ClassCode")
    if len(class_groups) > 1 or any(not group for group in class_groups):
        return None
    return DocumentFind(
        patient_id=query.one(f"{_DE}PatientId"),
        statuses=frozenset(query.values(f"{_DE}Status")),
        types=frozenset(query.values(f"{_DE}Type")) or frozenset({DOCUMENT_ENTRY_TYPE}),
        class_codes=tuple(class_groups[0]) if class_groups else None,
        time_from=query.one(f"{_DE}CreationTimeFrom"),
        time_to=query.one(f"{_DE}CreationTimeTo"))


def run_query(query: sq.StoredQuery, registry: RegistryView, *, visible: Visible) -> QueryResult:
    """Run a parsed stored query; ``visible(obj)`` says whether the caller may see an
    object (masking, visibility, and that it belongs to the VIHF's patient)."""
    if query.query_id in (sq.FIND_DOCUMENTS, sq.FIND_DOCUMENTS_BY_REFERENCE_ID):
        return _find_documents(query, registry, visible)
    if query.query_id == sq.FIND_SUBMISSION_SETS:
        return _find_submission_sets(query, registry, visible)
    if query.query_id == sq.GET_DOCUMENTS:
        return QueryResult(_documents_by_id(query, registry, visible))
    if query.query_id == sq.GET_DOCUMENTS_AND_ASSOCIATIONS:
        documents = _documents_by_id(query, registry, visible)
        return QueryResult(documents, _associations([d.id for d in documents], registry, visible))
    if query.query_id == sq.GET_ASSOCIATIONS:
        return QueryResult([], _associations(query.values("$uuid"), registry, visible))
    raise ValueError(f"no engine for stored query {query.query_id}")
