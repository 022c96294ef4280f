"""The CI-SIS / DMP rules a TD2.1 submission must follow before it is registered.

:func:`check_submission` reports every problem at once (a vendor fixes them in one
round), each with the IHE error code, the id of the object concerned as location, and
a message naming the metadata item and what was expected (DMP.md §2.5, §5.1, §5.2).
The value-set checks are in :mod:`coded_metadata`, the document content checks in
:mod:`cda_checks`; both follow a :class:`ContentPolicy` (settings and value sets).
"""
from __future__ import annotations

import hashlib
import re
from typing import Protocol

from simulator.services.dmp.vihf import INS_C_OID, PATIENT_OIDS, identifier_refusal
from simulator.services.dmp.xds.cda_checks import cda_errors
from simulator.services.dmp.xds.coded_metadata import ContentPolicy, coded_metadata_errors
from simulator.services.dmp.xds.errors import (
    DEPRECATED_DOCUMENT, DUPLICATE_UNIQUE_ID, NON_IDENTICAL_HASH, NON_IDENTICAL_SIZE,
    PATIENT_ID_DOES_NOT_MATCH, REGISTRY_METADATA_ERROR, UNKNOWN_PATIENT_ID, XdsError,
    XdsFailure)
from simulator.services.dmp.xds.lot_signature import NO_TRUST, lot_signature_errors
from simulator.services.dmp.xds.model import (
    APPROVED, DE_AUTHOR, DE_CLASS_CODE, DE_CONFIDENTIALITY, DE_EVENT_CODE, DE_FACILITY_TYPE,
    DE_FORMAT_CODE, DE_PATIENT_ID, DE_PRACTICE_SETTING, DE_TYPE_CODE, DE_UNIQUE_ID,
    DOCUMENT_ENTRY_TYPE, HAS_MEMBER, RPLC, SS_AUTHOR, SS_CONTENT_TYPE, SS_PATIENT_ID,
    SS_SOURCE_ID, SS_UNIQUE_ID, RegistryObject)
from simulator.services.dmp.xds.submission import Submission, is_signature
from simulator.services.dmp.xmldsig import SignatureVerifier

# API v2 identifies patients by the INS only; the INS-C is not recognised (DMP.md §3.1).
V2_INS_OIDS = PATIENT_OIDS["v2"]
# CX ``INS^^^&OID&ISO^NH``; further components (the kit sends CX.7) are tolerated. An
# INS-C may have CX.5 ``INS-C``, as some v1 clients wrote it (DMP.md §5.1).
_CX = re.compile(r"^(?P<ins>[^^&]*)\^\^\^&(?P<oid>[^&^]*)&ISO\^(?P<type>NH|INS-C)(?:\^.*)?$")
_INS = re.compile(r"^[0-9]{6}[0-9AB][0-9]{8}$")  # NIR/NIA with key; 2A/2B for Corsica
_INS_C = re.compile(r"^[0-9]{22}$")
_DTM = re.compile(r"^[0-9]{4}(?:[0-9]{2}){0,5}$")  # HL7 DTM, UTC, down to the second
_OID = re.compile(r"^[0-2](?:\.(?:0|[1-9][0-9]*))+$")
_UNIQUE_ID = re.compile(r"^[0-2](?:\.(?:0|[1-9][0-9]*))+(?:\^[^^]{1,16})?$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")

_ENTRY_CODES = {DE_CLASS_CODE: "classCode", DE_TYPE_CODE: "typeCode",
                DE_FORMAT_CODE: "formatCode", DE_FACILITY_TYPE: "healthcareFacilityTypeCode",
                DE_PRACTICE_SETTING: "practiceSettingCode"}
_ENTRY_SLOTS = ("creationTime", "serviceStartTime", "languageCode", "sourcePatientId",
                "sourcePatientInfo", "legalAuthenticator")
# The signature entry describes no care event and no patient record: DRIMbox, which
# feeds the real DMP, sends it without sourcePatientInfo (DMP.md §2.5).
_NOT_FOR_SIGNATURES = ("serviceStartTime", "sourcePatientInfo")
_TIME_SLOTS = ("creationTime", "serviceStartTime", "serviceStopTime")


class RegistryLookup(Protocol):
    """What the rules need to know about documents already registered."""

    def unique_id_exists(self, unique_id: str) -> bool:
        """A document or submission set with this uniqueId is registered."""

    def entry(self, entry_uuid: str) -> RegistryObject | None:
        """The registered DocumentEntry with this entryUUID, or None."""


def parse_patient_id(value: str | None) -> tuple[str, str] | None:
    """(INS, OID) of a CX ``INS^^^&OID&ISO^NH`` (or ``INS-C^^^&1.2.250.1.213.1.4.2&ISO^INS-C``),
    or None when it has another shape."""
    found = _CX.match(value or "")
    if not found or (found["type"] == "INS-C" and found["oid"] != INS_C_OID):
        return None
    return found["ins"], found["oid"]


def check_submission(submission: Submission, *, vihf_patient: tuple[str, str] | None,
                     lookup: RegistryLookup, version: str = "v2",
                     policy: ContentPolicy | None = None,
                     ins_oid_refusal=None,
                     signatures: SignatureVerifier | None = NO_TRUST) -> None:
    """Apply every TD2.1 metadata rule; raise :class:`XdsFailure` with all the errors
    found. The business rules (access, qualified INS) come after, in the service.

    ``vihf_patient``: (INS, OID) of the VIHF resource-id, when the VIHF names one.
    ``version``: the API (``v1`` takes the INS-C as patientId, ``v2`` the INS).
    ``policy``: value sets and strictness of the coded-metadata and CDA checks
    (default: strict, shipped value sets).
    ``ins_oid_refusal(ins, oid)``: why an INS may not be named under that OID (brief
    §3.2, :mod:`..ins_oid`), or None; a patientId so named is ``XDSUnknownPatientId``
    (that identifier names no patient of the domain), a sourcePatientId
    ``XDSRegistryMetadataError``.
    ``signatures``: verifies the lot signature's SignedInfo (None: not verified,
    SIM_DMP_RELAXED_SECURITY).
    """
    policy = policy or ContentPolicy.default()
    errors: list[XdsError] = []
    patient = _check_patient_ids(submission, vihf_patient, errors, version, ins_oid_refusal)
    _check_submission_set(submission.submission_set, errors)
    errors += coded_metadata_errors(submission.submission_set, policy)
    for entry in submission.entries:
        _check_entry(entry, errors, policy)
        errors += coded_metadata_errors(entry, policy)
        _check_content(entry, submission.contents.get(entry.id), patient, errors, version,
                       policy)
    _check_unique_ids(submission, lookup, errors)
    _check_members(submission, errors)
    _check_replacements(submission, patient, lookup, errors)
    errors += lot_signature_errors(submission, signatures)
    if errors:
        raise XdsFailure(errors)


def check_registry_state(submission: Submission, lookup: RegistryLookup) -> None:
    """The checks of :func:`check_submission` that read the registry (uniqueIds and
    entryUUIDs not registered yet, RPLC targets registered and Approved), run again
    inside the write transaction of a submission that passed :func:`check_submission`
    outside it: what another feed registered meanwhile is refused as if it had been
    there all along. Raise :class:`XdsFailure`."""
    errors: list[XdsError] = []
    _check_unique_ids(submission, lookup, errors)
    patient = parse_patient_id(submission.submission_set.external(SS_PATIENT_ID))
    _check_replacements(submission, patient, lookup, errors)
    if errors:
        raise XdsFailure(errors)


def _check_patient_ids(submission, vihf_patient, errors, version,
                       ins_oid_refusal) -> tuple[str, str] | None:
    submission_set = submission.submission_set
    patient = _patient_id(submission_set, SS_PATIENT_ID, errors, version, ins_oid_refusal)
    if patient and vihf_patient and patient != tuple(vihf_patient):
        errors.append(XdsError(PATIENT_ID_DOES_NOT_MATCH, (
            f"the submission set patientId {_cx(patient)} is not the patient of the VIHF "
            f"(resource-id {_cx(vihf_patient)})"), submission_set.id))
    for entry in submission.entries:
        own = _patient_id(entry, DE_PATIENT_ID, errors, version, ins_oid_refusal)
        if own and patient and own != patient:
            errors.append(XdsError(PATIENT_ID_DOES_NOT_MATCH, (
                f"DocumentEntry patientId {_cx(own)} differs from the submission set "
                f"patientId {_cx(patient)}"), entry.id))
        # An INS as sourcePatientId (no IPP, DMP.md §5.1) follows the patientId's rule;
        # the patientId itself is reported once, above.
        source_value = entry.slot("sourcePatientId")
        source = parse_patient_id(source_value) \
            if source_value != entry.external(DE_PATIENT_ID) else None
        refusal = ins_oid_refusal(*source) if source and ins_oid_refusal else None
        if refusal is not None:
            errors.append(XdsError(REGISTRY_METADATA_ERROR, (
                f"sourcePatientId {entry.slot('sourcePatientId')!r}: {refusal}"), entry.id))
    return patient


def _patient_id(obj: RegistryObject, scheme: str, errors, version,
                ins_oid_refusal=None) -> tuple[str, str] | None:
    value = obj.external(scheme)
    if value is None:
        errors.append(_missing(obj, f"patientId (ExternalIdentifier {scheme})"))
        return None
    parsed = parse_patient_id(value)
    refusal = identifier_refusal(version, parsed[1]) if parsed is not None else None
    if refusal is not None:
        errors.append(XdsError(REGISTRY_METADATA_ERROR, f"patientId {value!r}: {refusal}",
                               obj.id))
        return None
    if version == "v1":
        if parsed is None or not _INS_C.match(parsed[0]):
            errors.append(XdsError(REGISTRY_METADATA_ERROR, (
                f"patientId {value!r} must be the INS-C as CX INS-C^^^&{INS_C_OID}&ISO^NH "
                "(22 digits)"), obj.id))
            return None
        return parsed
    if parsed is None or not _INS.match(parsed[0]):
        errors.append(XdsError(REGISTRY_METADATA_ERROR, (
            f"patientId {value!r} must be the INS as CX INS^^^&OID&ISO^NH, e.g. "
            "275126322074974^^^&1.2.250.1.213.1.4.10&ISO^NH (15-character matricule)"),
            obj.id))
        return None
    refusal = ins_oid_refusal(*parsed) if ins_oid_refusal else None
    if refusal is not None:
        errors.append(XdsError(UNKNOWN_PATIENT_ID, f"patientId {value!r}: {refusal}", obj.id))
        return None
    return parsed


def _check_submission_set(submission_set: RegistryObject, errors) -> None:
    submission_time = submission_set.slot("submissionTime")
    if not submission_time:
        errors.append(_missing(submission_set, "the submissionTime slot"))
    elif not _DTM.match(submission_time):
        errors.append(_bad_time(submission_set, "submissionTime", submission_time))
    _check_authors(submission_set, SS_AUTHOR, errors)
    _check_codes(submission_set, {SS_CONTENT_TYPE: "contentTypeCode"}, errors)
    for scheme, label in ((SS_UNIQUE_ID, "uniqueId"), (SS_SOURCE_ID, "sourceId")):
        value = submission_set.external(scheme)
        if not value:
            errors.append(_missing(submission_set, f"{label} (ExternalIdentifier {scheme})"))
        elif not _OID.match(value):
            errors.append(XdsError(REGISTRY_METADATA_ERROR, f"submission set {label} "
                                   f"{value!r} must be an OID", submission_set.id))


def _check_entry(entry: RegistryObject, errors, policy: ContentPolicy) -> None:
    signature = is_signature(entry)
    if entry.object_type != DOCUMENT_ENTRY_TYPE:
        errors.append(XdsError(REGISTRY_METADATA_ERROR, (
            f"ExtrinsicObject objectType must be {DOCUMENT_ENTRY_TYPE} (stable "
            f"DocumentEntry), got {entry.object_type!r}"), entry.id))
    if not entry.mime_type:
        errors.append(_missing(entry, "the mimeType attribute"))
    for name in _ENTRY_SLOTS:
        if not (signature and name in _NOT_FOR_SIGNATURES) and not entry.slot(name):
            errors.append(_missing(entry, f"the {name} slot"))
    for name in _TIME_SLOTS:
        value = entry.slot(name)
        if value and not _DTM.match(value):
            errors.append(_bad_time(entry, name, value))
    if not entry.name:
        errors.append(_missing(entry, "the title (Name/LocalizedString)"))
    _check_authors(entry, DE_AUTHOR, errors)
    _check_codes(entry, _ENTRY_CODES, errors)
    _check_confidentiality(entry, errors, policy)
    if not entry.external(DE_UNIQUE_ID):
        errors.append(_missing(entry, f"uniqueId (ExternalIdentifier {DE_UNIQUE_ID})"))


def _check_authors(obj: RegistryObject, scheme: str, errors) -> None:
    authors = [c for c in obj.classifications if c.scheme == scheme]
    if not authors:
        errors.append(_missing(obj, f"author (Classification {scheme})"))
    for author in authors:
        if not any(v.strip() for v in author.slots.get("authorPerson", [])):
            errors.append(XdsError(REGISTRY_METADATA_ERROR, (
                f"author Classification {author.id or '(no id)'} has no authorPerson slot "
                "(XCN PSIdNat^NOM^PRENOM^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS)"), obj.id))


def _check_codes(obj: RegistryObject, required: dict[str, str], errors) -> None:
    for scheme, label in required.items():
        count = len(obj.codes(scheme))
        if count != 1:
            errors.append(XdsError(REGISTRY_METADATA_ERROR, (
                f"{label} (Classification {scheme}) is missing" if count == 0 else
                f"{label} must be given once, found {count} times"), obj.id))
    coded = {*required, DE_CONFIDENTIALITY, DE_EVENT_CODE}
    for classification in obj.classifications:
        if classification.scheme in coded and not classification.code.scheme:
            label = required.get(classification.scheme) or (
                "confidentialityCode" if classification.scheme == DE_CONFIDENTIALITY
                else "eventCodeList")
            errors.append(XdsError(REGISTRY_METADATA_ERROR, (
                f"{label} {classification.node!r} has no codingScheme slot"), obj.id))


def _check_confidentiality(entry: RegistryObject, errors, policy: ContentPolicy) -> None:
    codes = entry.codes(DE_CONFIDENTIALITY)
    if not 1 <= len(codes) <= 4:
        errors.append(XdsError(REGISTRY_METADATA_ERROR, (
            f"confidentialityCode must be given 1 to 4 times, found {len(codes)}"), entry.id))
    # Checked against JDV_J58 whatever SIM_DMP_CODED_METADATA says, as before that setting.
    value_set = policy.terminology.for_slot("confidentialityCode")
    seen = set()
    for code in codes:
        scheme = value_set.codes.get(code.code, (None,))[0]
        if code.code not in value_set.codes:
            errors.append(XdsError(REGISTRY_METADATA_ERROR, (
                f"confidentialityCode {code.code!r} is not in {value_set.label} (allowed: "
                f"{', '.join(value_set.codes)})"), entry.id))
        elif code.scheme and scheme and code.scheme != scheme:
            errors.append(XdsError(REGISTRY_METADATA_ERROR, (
                f"confidentialityCode {code.code} must have codingScheme {scheme}, got "
                f"{code.scheme!r}"), entry.id))
        if code.code in seen:
            errors.append(XdsError(REGISTRY_METADATA_ERROR, (
                f"confidentialityCode {code.code} is given twice"), entry.id))
        seen.add(code.code)


def _check_content(entry, content: bytes | None, patient, errors, version,
                   policy: ContentPolicy) -> None:
    if content is None:
        return
    declared_hash, declared_size = entry.slot("hash"), entry.slot("size")
    actual_hash = hashlib.sha1(content).hexdigest()
    wrong_hash = declared_hash is not None and not (
        _SHA1.match(declared_hash) and declared_hash.lower() == actual_hash)
    wrong_size = declared_size is not None and declared_size.strip() != str(len(content))
    # The hint hashes the content twice more: only for an answer that carries it.
    hint = _line_break_hint(content, declared_hash, declared_size) \
        if wrong_hash or wrong_size else ""
    if wrong_hash:
        errors.append(XdsError(NON_IDENTICAL_HASH, (
            f"hash slot {declared_hash!r} is not the SHA-1 of the document received "
            f"({actual_hash}, {len(content)} bytes){hint}"), entry.id))
    if wrong_size:
        errors.append(XdsError(NON_IDENTICAL_SIZE, (
            f"size slot {declared_size!r} is not the size of the document received "
            f"({len(content)} bytes){hint}"), entry.id))
    if not is_signature(entry):
        errors += cda_errors(entry, content, patient, version, policy)


def _line_break_hint(content: bytes, declared_hash, declared_size) -> str:
    # A frequent client slip: hashing the MIME part with the line break that precedes
    # the next boundary, which belongs to the boundary (RFC 2046 §5.1.1).
    for extra in (b"\n", b"\r\n"):
        if (declared_hash or "").lower() == hashlib.sha1(content + extra).hexdigest() or \
                (declared_size or "").strip() == str(len(content + extra)):
            return (f"; the declared value is that of the document followed by "
                    f"{extra!r}: the line break before a MIME boundary is not part of "
                    "the document (RFC 2046)")
    return ""


def _check_unique_ids(submission: Submission, lookup: RegistryLookup, errors) -> None:
    owners: dict[str, str] = {}
    objects = [(submission.submission_set, SS_UNIQUE_ID)] + \
        [(entry, DE_UNIQUE_ID) for entry in submission.entries]
    for obj, scheme in objects:
        # Entry ids the client chose as UUIDs are kept as entryUUIDs (registration.py).
        if obj.id.startswith("urn:uuid:") and lookup.entry(obj.id) is not None:
            errors.append(XdsError(DUPLICATE_UNIQUE_ID, (
                f"entryUUID {obj.id} is already registered"), obj.id))
        uid = obj.external(scheme)
        if not uid:
            continue  # reported as missing
        if scheme == DE_UNIQUE_ID and not _UNIQUE_ID.match(uid):
            errors.append(XdsError(REGISTRY_METADATA_ERROR, (
                f"uniqueId {uid!r} must be an OID (or OID^extension)"), obj.id))
        if uid in owners:
            errors.append(XdsError(DUPLICATE_UNIQUE_ID, (
                f"uniqueId {uid} is used by both {owners[uid]} and {obj.id} in this "
                "submission"), obj.id))
        elif lookup.unique_id_exists(uid):
            errors.append(XdsError(DUPLICATE_UNIQUE_ID, (
                f"uniqueId {uid} is already registered: a new document needs a new uniqueId "
                "(a new version of a document is a replacement, RPLC)"), obj.id))
        owners.setdefault(uid, obj.id)


def _check_members(submission: Submission, errors) -> None:
    set_id = submission.submission_set.id
    known = {set_id, *(e.id for e in submission.entries)}
    for association in submission.associations:
        for end, value in (("sourceObject", association.source),
                           ("targetObject", association.target)):
            if value not in known and not value.startswith("urn:uuid:"):
                errors.append(XdsError(REGISTRY_METADATA_ERROR, (
                    f"association {association.id}: {end} {value!r} is neither an object of "
                    "this submission nor a registered entryUUID"), association.id))
    for entry in submission.entries:
        members = [a for a in submission.associations if a.type == HAS_MEMBER
                   and a.source == set_id and a.target == entry.id]
        if not members:
            errors.append(XdsError(REGISTRY_METADATA_ERROR, (
                f"no {HAS_MEMBER} association from the submission set {set_id} to "
                f"{entry.id}"), entry.id))
        for member in members:
            if member.slot("SubmissionSetStatus") != "Original":
                errors.append(XdsError(REGISTRY_METADATA_ERROR, (
                    f"HasMember association {member.id} must carry the slot "
                    f"SubmissionSetStatus=Original, got {member.slot('SubmissionSetStatus')!r}"),
                    member.id))


def _check_replacements(submission, patient, lookup: RegistryLookup, errors) -> None:
    documents = {d.id for d in submission.documents}
    for association in (a for a in submission.associations if a.type == RPLC):
        if association.source not in documents:
            errors.append(XdsError(REGISTRY_METADATA_ERROR, (
                f"RPLC association {association.id} must go from a new DocumentEntry of this "
                f"submission, got sourceObject {association.source!r}"), association.id))
        target = lookup.entry(association.target)
        if target is None:
            errors.append(XdsError(REGISTRY_METADATA_ERROR, (
                f"RPLC association {association.id}: the document to replace "
                f"{association.target} is not registered (targetObject must be the "
                "entryUUID of the current version, found with TD3.1)"), association.id))
        elif target.status != APPROVED:
            errors.append(XdsError(DEPRECATED_DOCUMENT, (
                f"RPLC association {association.id}: the document {association.target} is "
                f"not Approved (status {target.status}); only the current version can be "
                "replaced"), association.id))
        elif patient and parse_patient_id(target.external(DE_PATIENT_ID)) != patient:
            errors.append(XdsError(PATIENT_ID_DOES_NOT_MATCH, (
                f"RPLC association {association.id}: the document {association.target} "
                f"belongs to {target.external(DE_PATIENT_ID)}, not to {_cx(patient)}"),
                association.id))


def _missing(obj: RegistryObject, item: str) -> XdsError:
    what = "submission set" if obj.is_submission_set else "DocumentEntry"
    return XdsError(REGISTRY_METADATA_ERROR, f"{what} {obj.id}: {item} is missing", obj.id)


def _bad_time(obj: RegistryObject, name: str, value: str) -> XdsError:
    return XdsError(REGISTRY_METADATA_ERROR, (
        f"{name} {value!r} must be a UTC date-time YYYYMMDDhhmmss (or a shorter "
        "precision)"), obj.id)


def _cx(patient: tuple[str, str]) -> str:
    return f"{patient[0]}^^^&{patient[1]}&ISO^NH"
