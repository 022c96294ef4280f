"""The content of a fed document: a CDA R2 with the CI-SIS header whose XDS metadata
agree with it (DMP.md §5.3), and whose unstructured body is what the formatCode says.

Sources: the CDA R2 header cardinalities and ``typeId`` are HL7 CDA R2 (verified); the
CI-SIS header (``realmCode FR``, the common-structure templateId, title, languageCode)
and the XDS <- CDA mapping are the ANS mapping table (DMP.md §5.3, S11; verified as a
mapping); that the DMP *refuses* a mismatch is inferred (DMP.md §5.3: "rejection codes
unknown"), hence ``SIM_DMP_CDA_CHECKS=patient`` keeps only the INS check.
"""
from __future__ import annotations

import base64
import binascii
import functools
import re
from datetime import datetime, timedelta, timezone

from lxml import etree

from simulator.services.dmp.vihf import PATIENT_OIDS
from simulator.services.dmp.xds.cda import HL7, parse_cda, record_target_ins
from simulator.services.dmp.xds.errors import (
    PATIENT_ID_DOES_NOT_MATCH, REGISTRY_METADATA_ERROR, XdsError)
from simulator.services.dmp.xds.model import (
    DE_CONFIDENTIALITY, DE_FACILITY_TYPE, DE_FORMAT_CODE, DE_PRACTICE_SETTING, DE_TYPE_CODE,
    DE_UNIQUE_ID, RegistryObject)
from simulator.soap.parsing import child_text, descendant

CDA_TYPE_ID = ("2.16.840.1.113883.1.3", "POCD_HD000040")  # HL7 CDA R2
CISIS_TEMPLATE = "1.2.250.1.213.1.1.1.1"  # CI-SIS common structure of CDA documents
HL7_CONFIDENTIALITY = "2.16.840.1.113883.5.25"
# Key Object Selection (DICOM KOS, typeCode IMG-KOS): a DICOM object, not a CDA.
KOS_FORMAT = "1.2.840.10008.5.1.4.1.1.88.59"
# CDA R2 header elements with a minimum cardinality of 1 (CDA R2 schema), then those the
# CI-SIS common structure adds (realmCode, title, languageCode).
_REQUIRED = ("typeId", "id", "code", "effectiveTime", "confidentialityCode", "recordTarget",
             "author", "custodian", "component")
_CISIS_REQUIRED = ("realmCode", "templateId", "title", "languageCode")
# First bytes of the unstructured body per mediaType (the file formats' signatures).
_MAGIC = {"application/pdf": (b"%PDF",), "image/jpeg": (b"\xff\xd8\xff",),
          "image/tiff": (b"II*\x00", b"MM\x00*"), "text/rtf": (b"{\\rtf",)}
_TS = re.compile(r"^(?P<digits>[0-9]{4,14})(?:\.[0-9]+)?(?P<zone>[+-][0-9]{4})?$")


@functools.lru_cache(maxsize=64)  # the paths are this module's constants
def _tags(path: str) -> tuple[str, ...]:
    return tuple(f"{{{HL7}}}{step}" for step in path.split("/"))


def _find(element, path: str):
    """``element.find`` of an HL7 path ("a/b/c") without lxml's ElementPath, which cost
    a feed about 200 µs in these checks (issue 15)."""
    return descendant(element, *_tags(path))


def cda_errors(entry: RegistryObject, content: bytes, patient, version: str,
               policy) -> list[XdsError]:
    """Every content error of a (non-signature) document entry's bytes."""
    formats = [c.code for c in entry.codes(DE_FORMAT_CODE)]
    if KOS_FORMAT in formats or not entry.mime_type:
        return []  # a DICOM object; or no mimeType, reported as missing
    if policy.cda == "patient":
        return _patient_only(entry, content, patient, version)
    if entry.mime_type != "text/xml":
        return _raw_document_errors(entry, content, formats, policy.terminology)
    document, problem = parse_cda(content)
    if document is None:
        return [_error(entry, f"the document is not a CDA R2: {problem}")]
    errors = _header_errors(entry, document)
    errors += _agreement_errors(entry, document)
    errors += _body_errors(entry, document, formats, policy.terminology)
    if patient is not None:
        errors += _patient_errors(entry, document, patient, version)
    return errors


def _patient_only(entry, content, patient, version) -> list[XdsError]:
    # The check made before the CDA rules: a text/xml ClinicalDocument names the patient.
    if entry.mime_type != "text/xml" or patient is None:
        return []
    document, _ = parse_cda(content)
    return [] if document is None else _patient_errors(entry, document, patient, version)


def _header_errors(entry, document) -> list[XdsError]:
    errors = []
    missing = [name for name in (*_REQUIRED, *_CISIS_REQUIRED)
               if _find(document, name) is None]
    if missing:
        errors.append(_error(entry, "the CDA header lacks " + ", ".join(missing)
                             + " (CDA R2 and the CI-SIS common structure)"))
    type_id = _find(document, "typeId")
    if type_id is not None and (type_id.get("root"), type_id.get("extension")) != CDA_TYPE_ID:
        errors.append(_error(entry, (
            f"typeId root={type_id.get('root')!r} extension={type_id.get('extension')!r} is "
            f"not CDA R2 (root={CDA_TYPE_ID[0]} extension={CDA_TYPE_ID[1]})")))
    realm = _find(document, "realmCode")
    if realm is not None and realm.get("code") != "FR":
        errors.append(_error(entry, f"realmCode {realm.get('code')!r} must be FR (CI-SIS)"))
    templates = {t.get("root") for t in document.iterchildren(*_tags("templateId"))}
    if templates and CISIS_TEMPLATE not in templates:
        errors.append(_error(entry, f"no templateId {CISIS_TEMPLATE} (CI-SIS common "
                                    f"structure) among {', '.join(sorted(map(str, templates)))}"))
    return errors


def _agreement_errors(entry, document) -> list[XdsError]:
    errors = []

    def differ(item: str, cda_path: str, cda_value, xds_value) -> None:
        errors.append(_error(entry, f"{item} {xds_value!r} is not the CDA {cda_path} "
                                    f"{cda_value!r}: the CI-SIS metadata of a CDA document "
                                    "are those of its header"))

    cda_id = _find(document, "id")
    if cda_id is not None:
        expected = cda_id.get("root", "") + (f"^{cda_id.get('extension')}"
                                             if cda_id.get("extension") else "")
        unique_id = entry.external(DE_UNIQUE_ID)
        if unique_id and unique_id != expected:
            differ("uniqueId", "id/@root", expected, unique_id)
    created = _find(document, "effectiveTime")
    if created is not None and entry.slot("creationTime") and not _same_time(
            created.get("value"), entry.slot("creationTime")):
        differ("creationTime", "effectiveTime/@value (in UTC)", created.get("value"),
               entry.slot("creationTime"))
    code = _find(document, "code")
    for xds in entry.codes(DE_TYPE_CODE)[:1]:
        if code is not None and (code.get("code"), code.get("codeSystem")) != (
                xds.code, xds.scheme):
            differ("typeCode", "code", f"{code.get('code')}^{code.get('codeSystem')}",
                   f"{xds.code}^{xds.scheme}")
    title = child_text(document, *_tags("title"))
    if title is not None and entry.name and " ".join(title.split()) != " ".join(
            entry.name.split()):
        differ("title", "title", " ".join(title.split()), entry.name)
    confidentiality = _find(document, "confidentialityCode")
    hl7 = [c.code for c in entry.codes(DE_CONFIDENTIALITY) if c.scheme == HL7_CONFIDENTIALITY]
    if confidentiality is not None and hl7 and confidentiality.get("code") not in hl7:
        differ("confidentialityCode", "confidentialityCode", confidentiality.get("code"),
               hl7[0])
    _optional_agreement(entry, document, differ)
    return errors


def _optional_agreement(entry, document, differ) -> None:
    # Header parts a CDA may leave out; when present they decide the metadata (§5.3).
    facility = _find(document,
                     "componentOf/encompassingEncounter/location/healthCareFacility/code")
    practice = _find(document, "documentationOf/serviceEvent/performer/assignedEntity/"
                               "representedOrganization/standardIndustryClassCode")
    for element, scheme, item in ((facility, DE_FACILITY_TYPE, "healthcareFacilityTypeCode"),
                                  (practice, DE_PRACTICE_SETTING, "practiceSettingCode")):
        codes = entry.codes(scheme)
        if element is not None and codes and element.get("code") != codes[0].code:
            differ(item, etree.QName(element).localname, element.get("code"), codes[0].code)
    period = _find(document, "documentationOf/serviceEvent/effectiveTime")
    for bound, slot in (("low", "serviceStartTime"), ("high", "serviceStopTime")):
        element = _find(period, bound) if period is not None else None
        value = entry.slot(slot)
        if element is not None and element.get("value") and value and not _same_time(
                element.get("value"), value):
            differ(slot, f"documentationOf/serviceEvent/effectiveTime/{bound} (in UTC)",
                   element.get("value"), value)


def _body_errors(entry, document, formats, terminology) -> list[XdsError]:
    text = _find(document, "component/nonXMLBody/text")
    unstructured = {target: media for media, target in
                    terminology.media_type_to_format.pairs.items()}
    table = terminology.media_type_to_format.label
    if text is None:
        announced = [f for f in formats if f in unstructured]
        return [_error(entry, (
            f"formatCode {announced[0]} announces an unstructured body "
            f"(component/nonXMLBody/text mediaType {unstructured[announced[0]]}, {table}), "
            "the CDA has none"))] if announced else []
    media = text.get("mediaType", "")
    expected = terminology.media_type_to_format.pairs.get(media)
    if expected is None:
        return [_error(entry, f"nonXMLBody/text mediaType {media!r} is not in {table} "
                              f"({', '.join(terminology.media_type_to_format.pairs)})")]
    errors = []
    if formats and expected not in formats:
        errors.append(_error(entry, f"formatCode {formats[0]} does not go with the CDA body "
                                    f"mediaType {media}: {table} gives {expected}"))
    if text.get("representation") == "B64":
        try:
            data = base64.b64decode("".join((text.text or "").split()), validate=True)
        except (binascii.Error, ValueError):
            return errors + [_error(entry, "nonXMLBody/text representation B64 holds text "
                                           "that is not base64")]
        errors += _magic_errors(entry, media, data, "the decoded nonXMLBody/text")
    return errors


def _raw_document_errors(entry, content, formats, terminology) -> list[XdsError]:
    # A document sent as itself, not wrapped in a CDA (inferred: the simulator takes the
    # unstructured formats of ASS_A12 under their own mimeType).
    table = terminology.media_type_to_format
    expected = table.pairs.get(entry.mime_type)
    if expected is None:
        return [_error(entry, (
            f"mimeType {entry.mime_type!r} is neither text/xml (a CDA R2) nor a format of "
            f"{table.label} ({', '.join(table.pairs)})"))]
    errors = []
    if formats and expected not in formats:
        errors.append(_error(entry, f"formatCode {formats[0]} does not go with mimeType "
                                    f"{entry.mime_type}: {table.label} gives {expected}"))
    return errors + _magic_errors(entry, entry.mime_type, content, "the document")


def _magic_errors(entry, media: str, data: bytes, what: str) -> list[XdsError]:
    magic = _MAGIC.get(media)
    if magic and not data.startswith(magic):
        return [_error(entry, (
            f"{what} is not {media}: it starts with {_shown(data[:8])}, where {media} "
            f"starts with {' or '.join(_shown(m) for m in magic)}"))]
    return []


def _shown(data: bytes) -> str:
    return repr(data.decode("latin-1"))


def _patient_errors(entry, document, patient, version) -> list[XdsError]:
    found = record_target_ins(document)
    if not found:
        return [XdsError(PATIENT_ID_DOES_NOT_MATCH, (
            f"the CDA recordTarget/patientRole/id carries no "
            f"{'INS-C' if version == 'v1' else 'INS'} (root {', '.join(PATIENT_OIDS[version])}),"
            f" the XDS patientId is {_cx(patient)}"), entry.id)]
    if patient not in found:
        return [XdsError(PATIENT_ID_DOES_NOT_MATCH, (
            "the CDA recordTarget/patientRole/id INS "
            f"{' / '.join(f'{ins} (root {oid})' for ins, oid in found)} is not the XDS "
            f"patientId {_cx(patient)}"), entry.id)]
    return []


def _same_time(cda_value: str | None, xds_value: str) -> bool:
    """An HL7 TS (local time with an offset) and an XDS UTC DTM name the same moment, at
    the precision of the shorter; a TS without offset is read as UTC."""
    found = _TS.match(cda_value or "")
    if not found:
        return False
    digits, zone = found["digits"], found["zone"]
    if zone and len(digits) >= 10:
        try:
            moment = datetime.strptime(digits.ljust(14, "0"), "%Y%m%d%H%M%S")
        except ValueError:
            return False
        sign = 1 if zone[0] == "+" else -1
        moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
        digits = moment.replace(tzinfo=timezone.utc).strftime("%Y%m%d%H%M%S")[:len(digits)]
    length = min(len(digits), len(xds_value))
    return digits[:length] == xds_value[:length]


def _error(entry, message: str) -> XdsError:
    return XdsError(REGISTRY_METADATA_ERROR, message, entry.id)


def _cx(patient: tuple[str, str]) -> str:
    return f"{patient[0]}^^^&{patient[1]}&ISO^NH"
