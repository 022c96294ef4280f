"""Builders of DMP registry bodies: ITI-18 stored queries (TD3.1) and ITI-57 updates
(TD3.3), shaped like the clients of the DMP brief §2.5 send them (S1 Find*Request and
DeleteRequest, S2 MaskMessage). Every builder returns the body element as XML text,
to send with :data:`STORED_QUERY_ACTION` or :data:`UPDATE_ACTION` to ``registry``.

Example (delete a document the caller fed, by its entryUUID)::

    from simulator.kit import registry, soap
    raw = soap.envelope(registry.delete("urn:uuid:..."), action=registry.UPDATE_ACTION,
                        service="registry", issue_instant=now)
"""
from __future__ import annotations

import uuid

from xml.sax.saxutils import quoteattr

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
NS = f'xmlns:rim="{RIM}"'
STORED_QUERY_ACTION = "urn:ihe:iti:2007:RegistryStoredQuery"  # TD3.1 (ITI-18)
UPDATE_ACTION = "urn:ihe:iti:2010:UpdateDocumentSet"  # TD3.3 (ITI-57)

ADRUN = "275126322074974"  # a CNDA test person (INS-NIR test OID)
TEST_OID = "1.2.250.1.213.1.4.10"
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
ARCHIVED = "urn:asip:ci-sis:2010:StatusType:Archived"
DELETED = "urn:asip:ci-sis:2010:StatusType:Deleted"
AUTHOR = "801234567897^DUPONT^JEAN^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
VISIBILITY_OID = "1.2.250.1.213.1.1.4.13"

FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
FIND_SUBMISSION_SETS = "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
GET_ASSOCIATIONS = "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155"
GET_DOCUMENTS_AND_ASSOCIATIONS = "urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a"
FIND_DOCUMENTS_BY_REFERENCE_ID = "urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492"


def cx(ins: str = ADRUN, oid: str = TEST_OID) -> str:
    """A patientId CX (brief §5.1)."""
    return f"{ins}^^^&{oid}&ISO^NH"


def quoted(value: str) -> str:
    """An IHE stored-query string value: ``'value'``, inner quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def listed(values) -> str:
    """An IHE stored-query list value: ``('a','b')``."""
    return "(" + ",".join(quoted(v) for v in values) + ")"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slot(name: str, values) -> str:
    return (f'<rim:Slot name="{name}"><rim:ValueList>'
            + "".join(f"<rim:Value>{_esc(v)}</rim:Value>" for v in values)
            + "</rim:ValueList></rim:Slot>")


def adhoc_query(query_id: str, slots: list[tuple[str, list[str]]],
                return_type: str = "LeafClass") -> str:
    """An AdhocQueryRequest; ``slots`` are (name, raw Value texts), one Slot each."""
    body = "".join(_slot(name, values) for name, values in slots)
    return (f'<query:AdhocQueryRequest xmlns:query="{QUERY}" {NS}>'
            f'<query:ResponseOption returnComposedObjects="true" returnType="{return_type}"/>'
            f'<rim:AdhocQuery id="{query_id}">{body}</rim:AdhocQuery></query:AdhocQueryRequest>')


_DE = "$XDSDocumentEntry"
_FILTERS = {  # keyword -> (parameter, kind): list values, time numbers, or AND-ed groups
    "class_codes": (f"{_DE}ClassCode", "list"), "type_codes": (f"{_DE}TypeCode", "list"),
    "practice_setting_codes": (f"{_DE}PracticeSettingCode", "list"),
    "facility_type_codes": (f"{_DE}HealthcareFacilityTypeCode", "list"),
    "format_codes": (f"{_DE}FormatCode", "list"), "author_persons": (f"{_DE}AuthorPerson", "list"),
    "entry_types": (f"{_DE}Type", "list"),
    "event_codes": (f"{_DE}EventCodeList", "groups"),
    "confidentiality_codes": (f"{_DE}ConfidentialityCode", "groups"),
    "reference_ids": (f"{_DE}ReferenceIdList", "groups"),
    "creation_from": (f"{_DE}CreationTimeFrom", "time"),
    "creation_to": (f"{_DE}CreationTimeTo", "time"),
    "service_start_from": (f"{_DE}ServiceStartTimeFrom", "time"),
    "service_start_to": (f"{_DE}ServiceStartTimeTo", "time"),
    "service_stop_from": (f"{_DE}ServiceStopTimeFrom", "time"),
    "service_stop_to": (f"{_DE}ServiceStopTimeTo", "time"),
}


def _filter_slots(filters: dict) -> list[tuple[str, list[str]]]:
    slots = []
    for keyword, value in filters.items():
        name, kind = _FILTERS[keyword]
        if kind == "time":
            slots.append((name, [value]))
        elif kind == "list":
            slots.append((name, [listed(value)]))
        else:  # several groups: one Slot each (AND), a list inside (OR)
            groups = value if value and not isinstance(value[0], str) else [value]
            slots.extend((name, [listed(group)]) for group in groups)
    return slots


def find_documents(patient: str | None = None, statuses=(APPROVED,), *,
                   return_type: str = "LeafClass", **filters) -> str:
    """FindDocuments (TD3.1a, S1 FindAllDocumentRequest); ``filters``: class_codes,
    type_codes, practice_setting_codes, facility_type_codes, format_codes,
    author_persons, entry_types, event_codes / confidentiality_codes (a list, or a list of AND-ed
    lists), creation_from/to, service_start_from/to, service_stop_from/to (DTM)."""
    slots = [(f"{_DE}PatientId", [quoted(patient or cx())]),
             (f"{_DE}Status", [listed(statuses)])] + _filter_slots(filters)
    return adhoc_query(FIND_DOCUMENTS, slots, return_type)


def find_documents_by_reference_id(reference_ids, patient: str | None = None,
                                   statuses=(APPROVED,), *, return_type: str = "LeafClass",
                                   **filters) -> str:
    """FindDocumentsByReferenceId (S1) with $XDSDocumentEntryReferenceIdList."""
    slots = [(f"{_DE}PatientId", [quoted(patient or cx())]),
             (f"{_DE}Status", [listed(statuses)])] + _filter_slots(
        dict(filters, reference_ids=reference_ids))
    return adhoc_query(FIND_DOCUMENTS_BY_REFERENCE_ID, slots, return_type)


def find_submission_sets(patient: str | None = None, statuses=(APPROVED,), *,
                         submission_from: str | None = None, submission_to: str | None = None,
                         source_ids=(), content_types=(), author: str | None = None,
                         return_type: str = "LeafClass") -> str:
    """FindSubmissionSets (brief §2.5, exemples_usage_dmp)."""
    ss = "$XDSSubmissionSet"
    slots = [(f"{ss}PatientId", [quoted(patient or cx())]), (f"{ss}Status", [listed(statuses)])]
    for name, value in ((f"{ss}SubmissionTimeFrom", submission_from),
                        (f"{ss}SubmissionTimeTo", submission_to)):
        if value:
            slots.append((name, [value]))
    if source_ids:
        slots.append((f"{ss}SourceId", [listed(source_ids)]))
    if content_types:
        slots.append((f"{ss}ContentType", [listed(content_types)]))
    if author:
        slots.append((f"{ss}AuthorPerson", [quoted(author)]))
    return adhoc_query(FIND_SUBMISSION_SETS, slots, return_type)


def _by_entry(query_id: str, entry_uuids, unique_ids, return_type: str) -> str:
    slots = []
    if entry_uuids:
        slots.append((f"{_DE}EntryUUID", [listed(entry_uuids)]))
    if unique_ids:
        slots.append((f"{_DE}UniqueId", [listed(unique_ids)]))
    return adhoc_query(query_id, slots, return_type)


def get_documents(entry_uuids=(), unique_ids=(), return_type: str = "ObjectRef") -> str:
    """GetDocuments (TD3.1b: by uniqueId, ObjectRef, S1)."""
    return _by_entry(GET_DOCUMENTS, entry_uuids, unique_ids, return_type)


def get_documents_and_associations(entry_uuids=(), unique_ids=(),
                                   return_type: str = "LeafClass") -> str:
    """GetDocumentsAndAssociations (by entryUUID, batches of 20 in the DMP usage guide)."""
    return _by_entry(GET_DOCUMENTS_AND_ASSOCIATIONS, entry_uuids, unique_ids, return_type)


def get_associations(uuids, return_type: str = "LeafClass") -> str:
    """GetAssociations with $uuid."""
    return adhoc_query(GET_ASSOCIATIONS, [("$uuid", [listed(uuids)])], return_type)


# --- metadata ---------------------------------------------------------------------------

def _classification(obj: str, index: int, scheme: str, code: tuple) -> str:
    value, coding_scheme, display = (tuple(code) + ("",) * 3)[:3]
    name = (f"<rim:Name><rim:LocalizedString value={quoteattr(display)}/></rim:Name>"
            if display else "")
    return (f'<rim:Classification id="{obj}-cl{index}" classifiedObject="{obj}" '
            f'classificationScheme="{scheme}" nodeRepresentation={quoteattr(value)}>'
            f"{_slot('codingScheme', [coding_scheme])}{name}</rim:Classification>")


def _external(obj: str, scheme: str, value: str, name: str) -> str:
    return (f'<rim:ExternalIdentifier id="{obj}-{name}" registryObject="{obj}" '
            f'identificationScheme="{scheme}" value={quoteattr(value)}>'
            f'<rim:Name><rim:LocalizedString value="{name}"/></rim:Name></rim:ExternalIdentifier>')


def document_entry(entry_id: str = "Document01", *, patient: str | None = None,
                   unique_id: str = "1.2.250.1.999.1.1.7001", lid: str = "", version: str = "",
                   status: str = "", visibility=(), author: str = AUTHOR,
                   class_code=("10", "1.2.250.1.213.1.1.4.1", "Compte rendu"),
                   type_code=("11490-0", "2.16.840.1.113883.6.1", "Lettre de sortie"),
                   format_code=("urn:ihe:iti:xds-sd:pdf:2008", "1.3.6.1.4.1.19376.1.2.3", "PDF"),
                   facility_code=("SA01", "1.2.250.1.71.4.2.4", "Etablissement public de santé"),
                   practice_code=("ETABLISSEMENT", "1.2.250.1.213.1.1.4.9", "Etablissement"),
                   event_codes=(), reference_ids=(), creation_time: str = "20240110093000",
                   service_start: str | None = "20240108080000",
                   service_stop: str | None = "20240110090000", size: str | None = "1024",
                   hash_: str | None = "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                   title: str = "CR de sortie") -> str:
    """A DocumentEntry ``rim:ExtrinsicObject`` (brief §5), with confidentialityCode N and
    the ``visibility`` codes (MASQUE_PS, INVISIBLE_PATIENT, ...); optional slots given
    as None are left out."""
    patient = patient or cx()
    slots = [(n, [v]) for n, v in (
        ("creationTime", creation_time), ("hash", hash_), ("languageCode", "fr-FR"),
        ("repositoryUniqueId", "1.2.250.1.213.4.1.1.1.2"), ("serviceStartTime", service_start),
        ("serviceStopTime", service_stop), ("size", size), ("sourcePatientId", patient)) if v]
    if reference_ids:
        slots.append(("urn:ihe:iti:xds:2013:referenceIdList", list(reference_ids)))
    attributes = "".join(f' {n}="{v}"' for n, v in (("lid", lid), ("status", status)) if v)
    codes = [("urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a", class_code),
             ("urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f",
              ("N", "2.16.840.1.113883.5.25", "Normal")),
             *[("urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f", (v, VISIBILITY_OID, v))
               for v in visibility],
             *[("urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4", c) for c in event_codes],
             ("urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d", format_code),
             ("urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1", facility_code),
             ("urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead", practice_code),
             ("urn:uuid:f0306f51-975f-434e-a61c-c59651d33983", type_code)]
    author_xml = (f'<rim:Classification id="{entry_id}-author" classifiedObject="{entry_id}" '
                  'classificationScheme="urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d" '
                  f'nodeRepresentation="">{_slot("authorPerson", [author])}</rim:Classification>')
    return (f'<rim:ExtrinsicObject {NS} id="{entry_id}"{attributes} mimeType="application/pdf" '
            'objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1">'
            + "".join(_slot(n, v) for n, v in slots)
            + f'<rim:Name><rim:LocalizedString value={quoteattr(title)}/></rim:Name>'
            + (f'<rim:VersionInfo versionName="{version}"/>' if version else "")
            + author_xml
            + "".join(_classification(entry_id, i, s, c) for i, (s, c) in enumerate(codes))
            + _external(entry_id, "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427", patient,
                        "XDSDocumentEntry.patientId")
            + _external(entry_id, "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab", unique_id,
                        "XDSDocumentEntry.uniqueId")
            + "</rim:ExtrinsicObject>")


def submission_set(set_id: str = "SubmissionSet01", *, patient: str | None = None,
                   unique_id: str = "1.2.250.1.999.1.2.9001", status: str = "",
                   submission_time: str = "20240115103000", author: str = AUTHOR,
                   source_id: str = "1.2.250.1.999.1",
                   content_type=("04", "1.2.250.1.213.2.2", "Hospitalisation de jour")) -> str:
    """A SubmissionSet ``rim:RegistryPackage`` and its classification marker."""
    patient = patient or cx()
    status_attr = f' status="{status}"' if status else ""
    return (f'<rim:RegistryPackage {NS} id="{set_id}"{status_attr}>'
            + _slot("submissionTime", [submission_time])
            + f'<rim:Classification id="{set_id}-author" classifiedObject="{set_id}" '
            'classificationScheme="urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d" '
            f'nodeRepresentation="">{_slot("authorPerson", [author])}</rim:Classification>'
            + _classification(set_id, 0, "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500",
                              content_type)
            + _external(set_id, "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8", unique_id,
                        "XDSSubmissionSet.uniqueId")
            + _external(set_id, "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832", source_id,
                        "XDSSubmissionSet.sourceId")
            + _external(set_id, "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446", patient,
                        "XDSSubmissionSet.patientId")
            + "</rim:RegistryPackage>"
            + f'<rim:Classification {NS} id="{set_id}-marker" classifiedObject="{set_id}" '
            'classificationNode="urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"/>')


def association(assoc_id: str, kind: str, source: str, target: str, slots=()) -> str:
    """A ``rim:Association``; ``slots`` are (name, value) pairs."""
    return (f'<rim:Association {NS} id="{assoc_id}" associationType="{kind}" '
            f'sourceObject="{source}" targetObject="{target}">'
            + "".join(_slot(n, [v]) for n, v in slots) + "</rim:Association>")


def submit_objects(*parts: str) -> str:
    """An ``lcm:SubmitObjectsRequest`` around registry objects."""
    return (f'<lcm:SubmitObjectsRequest xmlns:lcm="{LCM}" {NS}><rim:RegistryObjectList>'
            + "".join(parts) + "</rim:RegistryObjectList></lcm:SubmitObjectsRequest>")


# --- ITI-57 (TD3.3) -------------------------------------------------------------------

HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
UPDATE_AVAILABILITY = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"


def fresh_set_unique_id() -> str:
    """A submission set uniqueId no other request uses (the registry refuses reuse)."""
    return f"1.2.250.1.999.1.2.{uuid.uuid4().int % 10 ** 15}"


def metadata_update(lid: str, previous_version: str, *, entry_id: str = "Document01",
                    patient: str | None = None, set_patient: str | None = None,
                    set_unique_id: str | None = None, **entry_options) -> str:
    """A new version of document ``lid`` (S2 MaskMessage): new submission set, the full
    new DocumentEntry, HasMember with SubmissionSetStatus=Original and PreviousVersion."""
    return submit_objects(
        submission_set(patient=set_patient or patient,
                       unique_id=set_unique_id or fresh_set_unique_id()),
        document_entry(entry_id, lid=lid, patient=patient, **entry_options),
        association("Association01", HAS_MEMBER, "SubmissionSet01", entry_id,
                    [("SubmissionSetStatus", "Original"), ("PreviousVersion", previous_version)]))


def mask(lid: str, previous_version: str, **options) -> str:
    """TD3.3a: mask the document to other professionals (adds MASQUE_PS)."""
    return metadata_update(lid, previous_version, visibility=("MASQUE_PS",), **options)


def unmask(lid: str, previous_version: str, **options) -> str:
    """TD3.3a: unmask (the new version carries no visibility code)."""
    return metadata_update(lid, previous_version, visibility=(), **options)


def set_visibility(lid: str, previous_version: str, codes=("INVISIBLE_PATIENT",), **options) -> str:
    """TD3.3b: hide from the patient and/or the legal representatives."""
    return metadata_update(lid, previous_version, visibility=tuple(codes), **options)


def status_update(target: str, original: str, new: str, *, patient: str | None = None,
                  set_unique_id: str | None = None) -> str:
    """An UpdateAvailabilityStatus request (S1 DeleteRequest)."""
    return submit_objects(
        submission_set(patient=patient, unique_id=set_unique_id or fresh_set_unique_id()),
        association("Association01", UPDATE_AVAILABILITY, "SubmissionSet01", target,
                    [("OriginalStatus", original), ("NewStatus", new)]))


def delete(target: str, original: str = APPROVED, **options) -> str:
    """TD3.3c: logical deletion."""
    return status_update(target, original, DELETED, **options)


def archive(target: str, **options) -> str:
    """TD3.3d: archive."""
    return status_update(target, APPROVED, ARCHIVED, **options)


def unarchive(target: str, **options) -> str:
    """TD3.3d: unarchive."""
    return status_update(target, ARCHIVED, APPROVED, **options)


# --- an in-memory registry ------------------------------------------------------------

class MemoryRegistry:
    """A ``query_engine.RegistryView`` over lists of RegistryObject and Association, as a
    SQLite table of their JSON would offer it (patient filtering is left to the engine)."""

    UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"

    def __init__(self, objects, associations=()):
        self.objects, self.associations = list(objects), list(associations)

    def documents_for_patient(self, patient_id, narrowing=None):
        return [o for o in self.objects if o.kind == "ExtrinsicObject"]

    def submission_sets_for_patient(self, patient_id, narrowing=None):
        return [o for o in self.objects if o.kind == "RegistryPackage"]

    def object_by_uuid(self, uuid):
        return next((o for o in self.objects if o.id == uuid), None)

    def documents_by_unique_id(self, unique_id):
        return [o for o in self.objects if o.external(self.UNIQUE_ID) == unique_id]

    def associations_for(self, uuids):
        uuids = set(uuids)
        return [a for a in self.associations if a.source in uuids or a.target in uuids]
