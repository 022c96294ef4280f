"""The stored queries of the DMP registry (TD3.1, ITI-18) and the parsing of a request.

Catalogue: the six queries DMP clients use (DMP brief §2.5), with their parameters as
IHE ITI TF-2a §3.18.4.1.2.3.7 defines them: required or optional, one value or several,
and, for the list-valued codes, AND/OR semantics.

Value syntax (ITI TF-2a §3.18.4.1.2.3.5): each ``rim:Value`` holds a quoted string
(``'a'``, a quote inside doubled: ``'O''Brien'``), a number, or a parenthesised list of
them (``('a','b')``). Choices made here, where the TF leaves room:

* every value of one ``rim:Slot`` (several ``Value`` elements, or a list) is an OR;
* several ``Slot`` elements of the same name are AND-ed for the parameters the TF marks
  AND/OR ($XDSDocumentEntryEventCodeList, $XDSDocumentEntryConfidentialityCode, and
  $XDSDocumentEntryReferenceIdList, a list attribute like the event codes); for the other
  multi-valued parameters they are merged into one OR; for a single-valued parameter
  they are an error (XDSStoredQueryParamNumber);
* time values may be sent as numbers (as the TF writes them) or quoted; they must be
  UTC DTM digits of 4, 6, 8, 10, 12 or 14 characters;
* a parameter a query does not define is ignored (kept in :attr:`StoredQuery.ignored`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from simulator.services.dmp.xds.errors import (
    REGISTRY_ERROR, STORED_QUERY_MISSING_PARAM, STORED_QUERY_PARAM_NUMBER,
    UNKNOWN_STORED_QUERY, XdsError, XdsFailure)
from simulator.services.dmp.xds.model import QUERY, RIM

FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
FIND_SUBMISSION_SETS = "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
GET_ASSOCIATIONS = "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155"
GET_DOCUMENTS_AND_ASSOCIATIONS = "urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a"
FIND_DOCUMENTS_BY_REFERENCE_ID = "urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492"

LEAF_CLASS = "LeafClass"
OBJECT_REF = "ObjectRef"


@dataclass(frozen=True)
class Param:
    """One stored-query parameter: how many values, how they combine, their type."""

    name: str
    required: bool = False
    multiple: bool = False
    and_or: bool = False
    kind: str = "string"  # string | code | time


@dataclass(frozen=True)
class QuerySpec:
    """A stored query: id, name, parameters, and groups of which exactly one is given."""

    query_id: str
    name: str
    params: tuple[Param, ...]
    one_of: tuple[tuple[str, ...], ...] = ()

    def param(self, name: str) -> Param | None:
        """The parameter called ``name``, or None."""
        return next((p for p in self.params if p.name == name), None)


def _codes(*names: str, and_or: tuple[str, ...] = ()) -> tuple[Param, ...]:
    return tuple(Param(n, multiple=True, and_or=n in and_or, kind="code") for n in names)


def _times(prefix: str, *attributes: str) -> tuple[Param, ...]:
    return tuple(Param(f"{prefix}{a}Time{end}", kind="time")
                 for a in attributes for end in ("From", "To"))


_DE = "$XDSDocumentEntry"
_FIND_DOCUMENTS_PARAMS = (
    Param(f"{_DE}PatientId", required=True),
    *_codes(f"{_DE}ClassCode", f"{_DE}TypeCode", f"{_DE}PracticeSettingCode",
            f"{_DE}HealthcareFacilityTypeCode", f"{_DE}EventCodeList",
            f"{_DE}ConfidentialityCode", f"{_DE}FormatCode",
            and_or=(f"{_DE}EventCodeList", f"{_DE}ConfidentialityCode")),
    *_times(_DE, "Creation", "ServiceStart", "ServiceStop"),
    Param(f"{_DE}AuthorPerson", multiple=True),
    Param(f"{_DE}Status", required=True, multiple=True),
    Param(f"{_DE}Type", multiple=True),
)
_BY_ENTRY = (Param(f"{_DE}EntryUUID", multiple=True), Param(f"{_DE}UniqueId", multiple=True),
             Param("$homeCommunityId"))

CATALOGUE: dict[str, QuerySpec] = {spec.query_id: spec for spec in (
    QuerySpec(FIND_DOCUMENTS, "FindDocuments", _FIND_DOCUMENTS_PARAMS),
    QuerySpec(FIND_DOCUMENTS_BY_REFERENCE_ID, "FindDocumentsByReferenceId", (
        *_FIND_DOCUMENTS_PARAMS,
        Param(f"{_DE}ReferenceIdList", required=True, multiple=True, and_or=True))),
    QuerySpec(FIND_SUBMISSION_SETS, "FindSubmissionSets", (
        Param("$XDSSubmissionSetPatientId", required=True),
        Param("$XDSSubmissionSetSourceId", multiple=True),
        *_times("$XDSSubmissionSet", "Submission"),
        Param("$XDSSubmissionSetAuthorPerson"),
        *_codes("$XDSSubmissionSetContentType"),
        Param("$XDSSubmissionSetStatus", required=True, multiple=True))),
    QuerySpec(GET_DOCUMENTS, "GetDocuments", _BY_ENTRY,
              one_of=((f"{_DE}EntryUUID", f"{_DE}UniqueId"),)),
    QuerySpec(GET_ASSOCIATIONS, "GetAssociations", (
        Param("$uuid", required=True, multiple=True), Param("$homeCommunityId"))),
    QuerySpec(GET_DOCUMENTS_AND_ASSOCIATIONS, "GetDocumentsAndAssociations", _BY_ENTRY,
              one_of=((f"{_DE}EntryUUID", f"{_DE}UniqueId"),)),
)}


@dataclass
class StoredQuery:
    """A parsed ITI-18 request.

    ``params`` maps each given parameter to all its values (OR); ``groups`` keeps them
    per ``Slot`` for the AND/OR parameters (AND of the groups, OR inside one).
    """

    query_id: str
    name: str
    return_type: str  # LeafClass | ObjectRef
    params: dict[str, list[str]]
    groups: dict[str, list[list[str]]] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()

    def one(self, name: str) -> str | None:
        """The value of a single-valued parameter, or None when absent."""
        values = self.params.get(name)
        return values[0] if values else None

    def values(self, name: str) -> list[str]:
        """Every value of a parameter (empty when absent)."""
        return self.params.get(name, [])

    def and_groups(self, name: str) -> list[list[str]]:
        """The AND-ed groups of an AND/OR parameter (one OR group when sent in one Slot)."""
        return self.groups.get(name) or ([self.params[name]] if name in self.params else [])


# --- value syntax ---------------------------------------------------------------------

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_DTM = re.compile(r"\d{4}(\d{2}){0,5}")


def _bad(param: str, text: str, why: str) -> XdsFailure:
    return XdsFailure([XdsError(REGISTRY_ERROR, f"{param}: value {text!r} {why} (ITI TF-2a "
                                f"§3.18.4.1.2.3.5: 'string', number or ('a','b') list)", param)])


def _scalar(text: str, param: str, whole: str) -> tuple[str, str]:
    """Read one quoted string or number at the start of ``text``; return (value, rest)."""
    if text.startswith("'"):
        value, i = [], 1
        while i < len(text):
            if text[i] == "'":
                if text[i + 1:i + 2] == "'":
                    value.append("'")
                    i += 2
                    continue
                return "".join(value), text[i + 1:]
            value.append(text[i])
            i += 1
        raise _bad(param, whole, "has an unterminated quoted string")
    number = _NUMBER.match(text)
    if not number:
        raise _bad(param, whole, "is neither a quoted string nor a number")
    return number.group(0), text[number.end():]


def parse_value(text: str, param: str) -> list[str]:
    """The values written in one ``rim:Value`` (one, or several for a list)."""
    whole = text
    text = text.strip()
    if not text:
        raise _bad(param, whole, "is empty")
    if not text.startswith("("):
        value, rest = _scalar(text, param, whole)
        if rest.strip():
            raise _bad(param, whole, "has text after the value")
        return [value]
    if not text.endswith(")"):
        raise _bad(param, whole, "opens a list it does not close")
    inner, values = text[1:-1].strip(), []
    while True:
        value, inner = _scalar(inner, param, whole)
        values.append(value)
        inner = inner.strip()
        if not inner:
            return values
        if not inner.startswith(","):
            raise _bad(param, whole, "has list items not separated by commas")
        inner = inner[1:].strip()


# --- request --------------------------------------------------------------------------

def _fail(code: str, message: str, location: str = "") -> XdsFailure:
    return XdsFailure([XdsError(code, message, location)])


def _read_slots(adhoc: etree._Element) -> dict[str, list[list[str]]]:
    slots: dict[str, list[list[str]]] = {}
    for slot in adhoc.findall(f"{{{RIM}}}Slot"):
        name = slot.get("name", "")
        values: list[str] = []
        for value in slot.findall(f"{{{RIM}}}ValueList/{{{RIM}}}Value"):
            values.extend(parse_value(value.text or "", name))
        slots.setdefault(name, []).append(values)
    return slots


def _check(spec: QuerySpec, slots: dict[str, list[list[str]]]) -> None:
    for param in spec.params:
        groups = slots.get(param.name)
        if not groups or not any(groups):
            if param.required:
                raise _fail(STORED_QUERY_MISSING_PARAM, f"{spec.name} requires {param.name}",
                            param.name)
            continue
        if not param.multiple and (len(groups) > 1 or len(groups[0]) > 1):
            raise _fail(STORED_QUERY_PARAM_NUMBER, f"{param.name} takes a single value in "
                        f"{spec.name}, got {sum(len(g) for g in groups)}", param.name)
        if param.kind == "time" and not _DTM.fullmatch(groups[0][0]):
            raise _bad(param.name, groups[0][0], "is not a UTC DTM time (YYYY[MM[DD[hh[mm[ss]]]]])")
    for names in spec.one_of:
        given = [n for n in names if slots.get(n) and any(slots[n])]
        if not given:
            raise _fail(STORED_QUERY_MISSING_PARAM, f"{spec.name} requires one of "
                        f"{' or '.join(names)}", names[0])
        if len(given) > 1:
            raise _fail(STORED_QUERY_PARAM_NUMBER, f"{spec.name} takes {' or '.join(names)}, "
                        "not both", given[1])


def parse_adhoc_query(body: etree._Element) -> StoredQuery:
    """Read a ``query:AdhocQueryRequest`` into a :class:`StoredQuery`; raise
    :class:`XdsFailure` (XDSUnknownStoredQuery, XDSStoredQueryMissingParam,
    XDSStoredQueryParamNumber, XDSRegistryError) when it cannot be run."""
    if body.tag != f"{{{QUERY}}}AdhocQueryRequest":
        raise _fail(REGISTRY_ERROR, f"expected query:AdhocQueryRequest, got {body.tag}")
    option = body.find(f"{{{QUERY}}}ResponseOption")
    return_type = option.get("returnType", "RegistryObject") if option is not None else ""
    if return_type not in (LEAF_CLASS, OBJECT_REF):
        raise _fail(REGISTRY_ERROR, f"ResponseOption/@returnType must be LeafClass or ObjectRef "
                    f"(ITI TF-2a §3.18.4.1.2.2), got {return_type or 'no ResponseOption'!r}",
                    "returnType")
    adhoc = body.find(f"{{{RIM}}}AdhocQuery")
    query_id = adhoc.get("id", "") if adhoc is not None else ""
    spec = CATALOGUE.get(query_id)
    if spec is None:
        raise _fail(UNKNOWN_STORED_QUERY, f"unknown stored query id {query_id!r}: the DMP "
                    f"serves {', '.join(s.name for s in CATALOGUE.values())}", query_id)
    slots = _read_slots(adhoc)
    _check(spec, slots)
    params, groups, ignored = {}, {}, []
    for name, slot_groups in slots.items():
        param = spec.param(name)
        if param is None:
            ignored.append(name)
            continue
        params[name] = [v for group in slot_groups for v in group]
        if param.and_or:
            groups[name] = [group for group in slot_groups if group]
    return StoredQuery(query_id, spec.name, return_type, params, groups, tuple(ignored))
