"""A DMP client that reads XDS answers the way the ANS's public DMP client does: with
string splits on literal text, no XML parser.

The reads reimplement, in Python, what DRIMbox (ansforge/DRIM-M_DRIMbox, brief S1) looks
for in the real platform's answers (facts only, none of its code):

* FrontendConso/src/app/request/documents.service.ts, ``parsing3_1Response``: the status
  after ``ResponseStatusType:``, ``totalResultCount="``, the first ``repositoryUniqueId``
  value, each document between ``<ns4:ExtrinsicObject`` and ``</ns4:ExtrinsicObject>``;
  ``fillInfoPatient``: ``sourcePatientInfo`` then ``PID-5|`` and ``PID-8|``;
  ``retrieveInformations``: the ``value="`` after ``XDSDocumentEntry.patientId`` and after
  the uniqueId scheme, ``mimeType="``, the title after ``<ns4:Name>``, ``creationTime``
  then ``Value>``, ``referenceIdList`` up to ``</ns4:ValueList>`` split on
  ``<ns4:Value>``, and per eventCode classification the first ``<ns4:Value>`` (its
  codingScheme), ``nodeRepresentation="`` and `` value="``.
* Backend/src/main/java/com/bcom/drimbox/api/conso/DmpAPI.java, ``updateKOS``:
  ``totalResultCount="`` (read before any status check) and ``ObjectRef id="``.
* DmpAPI.java ``retrieve``: the ``boundary=`` of the Content-Type, then the MIME part whose
  content-type is ``application/octet-stream``.

DRIMbox reads only FindDocuments answers, and loops ``totalResultCount`` times over the
ExtrinsicObjects. This client generalises that loop to every TD3.1 answer: the count must
equal the top-level entries (ExtrinsicObject, RegistryPackage, Association, ObjectRef) its
splits find, and every ExtrinsicObject is read. Any missing marker raises
:class:`SplitReadError`, as DRIMbox throws on ``undefined.split``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

DE_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
DE_EVENT_CODE = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
RIM = "ns4"  # the prefix DRIMbox's splits spell out
ENTRY_KINDS = ("ExtrinsicObject", "RegistryPackage", "Association", "ObjectRef")


class SplitReadError(Exception):
    """A marker the client splits on is not in the answer."""


def _after(text: str, marker: str, occurrence: int = 1) -> str:
    parts = text.split(marker)
    if len(parts) <= occurrence:
        raise SplitReadError(f"{marker!r} occurs {len(parts) - 1} time(s), the client "
                             f"needs occurrence {occurrence}")
    return parts[occurrence]


def _until(text: str, marker: str) -> str:
    return text.split(marker)[0]


@dataclass
class ReadDocument:
    """What the client takes from one ``ExtrinsicObject``."""

    unique_id: str  # the value after the uniqueId scheme (DRIMbox's sopInstance)
    id_after_patient_id: str  # the next value=" after XDSDocumentEntry.patientId
    mime_type: str
    title: str
    creation_time: str
    reference_ids: list[str] = field(default_factory=list)
    event_codes: list[tuple[str, str, str]] = field(default_factory=list)  # code, scheme, name


@dataclass
class ReadQueryAnswer:
    """What the client takes from a TD3.1 ``AdhocQueryResponse``."""

    status: str  # the text after ResponseStatusType: ("Success", "Failure"...)
    total: int
    entries: dict[str, int] = field(default_factory=dict)  # top-level kind -> count
    object_refs: list[str] = field(default_factory=list)
    repository_id: str = ""
    patient_name: str = ""
    patient_sex: str = ""
    documents: list[ReadDocument] = field(default_factory=list)


def read_query_answer(text: str) -> ReadQueryAnswer:
    """Read a TD3.1 answer (the whole HTTP body as text) with the client's splits."""
    total = int(_until(_after(text, 'totalResultCount="'), '"'))
    answer = ReadQueryAnswer(_until(_after(text, "ResponseStatusType:"), '"'), total)
    if answer.status != "Success":
        return answer
    answer.entries = {kind: text.count(f"<{RIM}:{kind} ") + text.count(f"<{RIM}:{kind}>")
                      for kind in ENTRY_KINDS}
    if sum(answer.entries.values()) != total:
        raise SplitReadError(f"totalResultCount={total} but the splits find {answer.entries}")
    answer.object_refs = [_until(part, '"') for part in text.split('ObjectRef id="')[1:]]
    documents = answer.entries["ExtrinsicObject"]
    if documents:
        answer.repository_id = _until(_after(_after(text, "repositoryUniqueId"), "Value>"), "</")
    if "sourcePatientInfo" in text:
        info = _after(text, "sourcePatientInfo")
        answer.patient_name = _until(_after(info, "PID-5|"), "^")
        answer.patient_sex = _until(_after(info, "PID-8|"), "<")
    for index in range(1, documents + 1):
        entry = _until(_after(text, f"<{RIM}:ExtrinsicObject", index),
                       f"</{RIM}:ExtrinsicObject>")
        answer.documents.append(read_document(entry))
    return answer


def read_document(entry: str) -> ReadDocument:
    """One ExtrinsicObject's text (after its opening ``<ns4:ExtrinsicObject``)."""
    title = ""
    if f"<{RIM}:Name>" in entry:
        title = _until(_after(_after(entry, f"<{RIM}:Name>"), 'value="'), '"')
    document = ReadDocument(
        unique_id=_until(_after(_after(entry, DE_UNIQUE_ID), 'value="'), '"'),
        id_after_patient_id=_until(_after(_after(entry, "XDSDocumentEntry.patientId"),
                                          'value="'), '"'),
        mime_type=_until(_after(entry, 'mimeType="'), '"'), title=title,
        creation_time=_until(_after(_after(entry, "creationTime"), "Value>"), "<"))
    if "referenceIdList" in entry:
        values = _until(_after(entry, "referenceIdList"), f"</{RIM}:ValueList>")
        document.reference_ids = [_until(v, f"</{RIM}:Value>")
                                  for v in values.split(f"<{RIM}:Value>")[1:]]
    for segment in entry.split(DE_EVENT_CODE)[1:]:
        document.event_codes.append((
            _until(_after(segment, 'nodeRepresentation="'), '"'),
            _until(_after(segment, f"<{RIM}:Value>"), f"</{RIM}:Value>"),
            _until(_after(segment, ' value="'), '"')))
    return document


def read_registry_response(text: str) -> tuple[str, list[str]]:
    """(status, error codes) of a TD2.1 / TD3.3 answer, by the same splits."""
    status = _until(_after(text, "ResponseStatusType:"), '"')
    return status, [_until(part, '"') for part in text.split('errorCode="')[1:]]


def read_retrieve(content_type: str, body: bytes) -> tuple[str, list[bytes]]:
    """(status, documents) of a TD3.2 MTOM answer: the boundary from the Content-Type,
    the status by split, every ``application/octet-stream`` part's bytes."""
    boundary = next((p.strip()[len("boundary="):].replace('"', "")
                     for p in content_type.split(";") if p.strip().startswith("boundary=")),
                    None)
    if boundary is None:
        raise SplitReadError(f"no boundary= in {content_type!r}")
    documents, status = [], ""
    for part in body.split(b"--" + boundary.encode())[1:]:
        head, _, content = part.partition(b"\r\n\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(":") for line in head.decode("ascii").splitlines() if line)}
        if headers.get("content-type") == "application/octet-stream":
            documents.append(content[:-2] if content.endswith(b"\r\n") else content)
        elif "xop+xml" in headers.get("content-type", ""):
            status = _until(_after(content.decode("utf-8"), "ResponseStatusType:"), '"')
    return status, documents
