"""The content of fed documents (DMP.md §5.3): a text/xml document is a CDA R2 with the
CI-SIS header whose metadata agree with it; an unstructured body, or a document sent as
itself, is what its formatCode says; SIM_DMP_CDA_CHECKS=patient keeps the INS check only."""
from __future__ import annotations

import base64

import pytest
from lxml import etree

from simulator.kit.soap import ADRUN, TEST_OID
from simulator.kit.xds import Doc, cda_document, provide_and_register
from simulator.services.dmp.xds.cda_checks import _same_time
from simulator.services.dmp.xds.coded_metadata import ContentPolicy
from simulator.services.dmp.xds.errors import XdsFailure
from simulator.services.dmp.xds.model import DE_FORMAT_CODE
from simulator.services.dmp.xds.rules import check_submission
from simulator.services.dmp.xds.submission import parse_provide_and_register
from simulator.services.dmp.xds.value_sets import load_terminology

PDF_B64 = base64.b64encode(b"%PDF-1.4\n% simulated report\n%%EOF\n").decode()


class Registry:
    def unique_id_exists(self, unique_id):
        return False

    def entry(self, entry_uuid):
        return None


def errors_for(content: bytes | None = None, cda: str = "strict", **doc):
    request = provide_and_register((Doc(content=content, **doc),))
    sub = parse_provide_and_register(etree.fromstring(request.body))
    policy = ContentPolicy(load_terminology(), cda=cda)
    try:
        check_submission(sub, vihf_patient=(ADRUN, TEST_OID), lookup=Registry(), policy=policy)
    except XdsFailure as failure:
        return [(e.code, e.location, e.message) for e in failure.errors]
    return []


def edited(old: str, new: str) -> bytes:
    document = cda_document()
    assert old.encode() in document, old
    return document.replace(old.encode(), new.encode())


def only(errors, *words):
    assert len(errors) == 1, errors
    code, location, message = errors[0]
    assert (code, location) == ("XDSRegistryMetadataError", "DocumentCDA")
    assert all(w in message for w in words), message


def test_the_builders_cda_passes():
    assert errors_for() == []


@pytest.mark.parametrize("content, words", [
    (b"<foo/>", ("not a CDA R2", "foo")),
    (b"<ClinicalDocument/>", ("not a CDA R2", "urn:hl7-org:v3")),
])
def test_a_text_xml_document_that_is_not_a_cda_is_refused(content, words):
    only(errors_for(content), *words)


def test_a_text_xml_document_that_is_not_xml_is_refused():
    request = provide_and_register((Doc(),))
    sub = parse_provide_and_register(etree.fromstring(request.body))
    sub.contents["DocumentCDA"] = b"not xml at all"
    with pytest.raises(XdsFailure) as caught:
        check_submission(sub, vihf_patient=(ADRUN, TEST_OID), lookup=Registry())
    assert any(e.code == "XDSRegistryMetadataError" and "not well-formed XML" in e.message
               for e in caught.value.errors)


@pytest.mark.parametrize("old, new, words", [
    ('<typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>', "",
     ("lacks typeId",)),
    ('extension="POCD_HD000040"', 'extension="POCD_HD000041"', ("not CDA R2",)),
    ('<realmCode code="FR"/>', '<realmCode code="US"/>', ("realmCode 'US'", "FR")),
    ('<templateId root="1.2.250.1.213.1.1.1.1"/>', '<templateId root="1.2.3"/>',
     ("1.2.250.1.213.1.1.1.1",)),
    ('<languageCode code="fr-FR"/>', "", ("lacks languageCode",)),
    ("<custodian>", "<custodianX>", ("custodian",)),
])
def test_the_cda_r2_and_ci_sis_header_are_required(old, new, words):
    if new == "<custodianX>":
        content = edited("<custodian>", "<custodianX>").replace(b"</custodian>",
                                                               b"</custodianX>")
    else:
        content = edited(old, new)
    errors = errors_for(content)
    assert any(all(w in e[2] for w in words) for e in errors), errors


@pytest.mark.parametrize("old, new, words", [
    ('<id root="1.2.250.1.999.1.1.8121.21.1"/>', '<id root="1.2.250.1.999.1.1.8121.21.9"/>',
     ("uniqueId", "id/@root", "21.9")),
    ('<effectiveTime value="20240301093000+0100"/>',
     '<effectiveTime value="20240301093000+0000"/>', ("creationTime", "effectiveTime")),
    ('code="18748-4" codeSystem="2.16.840.1.113883.6.1"',
     'code="11490-0" codeSystem="2.16.840.1.113883.6.1"', ("typeCode", "11490-0")),
    ("<title>CR d&#x27;imagerie médicale</title>", "<title>Autre titre</title>",
     ("title", "Autre titre")),
    ('<confidentialityCode code="N"', '<confidentialityCode code="R"',
     ("confidentialityCode", "'R'")),
])
def test_the_metadata_must_agree_with_the_cda(old, new, words):
    document = cda_document()
    if old.startswith("<title>"):
        old = old.replace("&#x27;", "'")
    only(errors_for(document.replace(old.encode(), new.encode())), *words)


def test_header_parts_a_cda_may_omit_decide_the_metadata_when_present():
    extra = ('<documentationOf><serviceEvent><effectiveTime><low value="20240301090000+0100"/>'
             '<high value="20240301093000+0100"/></effectiveTime><performer typeCode="PRF">'
             '<assignedEntity><id root="1.2.250.1.71.4.2.1" extension="00B1022322"/>'
             '<representedOrganization><standardIndustryClassCode code="AMBULATOIRE"/>'
             "</representedOrganization></assignedEntity></performer></serviceEvent>"
             "</documentationOf><componentOf><encompassingEncounter><effectiveTime "
             'value="20240301"/><location><healthCareFacility><code code="SA07"/>'
             "</healthCareFacility></location></encompassingEncounter></componentOf><component>")
    messages = " | ".join(e[2] for e in errors_for(edited("<component>", extra)))
    # Metadata: start 080000 (= 09:00+01:00, agrees), stop 083000 (agrees),
    # SA01 and ETABLISSEMENT (disagree).
    assert "serviceStartTime" not in messages and "serviceStopTime" not in messages
    assert "healthcareFacilityTypeCode 'SA01'" in messages and "'SA07'" in messages
    assert "practiceSettingCode 'ETABLISSEMENT'" in messages and "'AMBULATOIRE'" in messages


@pytest.mark.parametrize("old, new, words", [
    (PDF_B64, base64.b64encode(b"GIF89a not a pdf").decode(), ("not application/pdf",)),
    (PDF_B64, "%%% not base64 %%%", ("not base64",)),
    ('mediaType="application/pdf"', 'mediaType="text/plain"',
     ("does not go with the CDA body", "urn:ihe:iti:xds-sd:text:2008")),
    ('mediaType="application/pdf"', 'mediaType="application/zip"', ("application/zip",)),
])
def test_the_unstructured_body_is_what_the_format_code_says(old, new, words):
    only(errors_for(edited(old, new)), *words)


def test_an_unstructured_format_code_needs_an_unstructured_body():
    structured = edited(f'<nonXMLBody><text mediaType="application/pdf" '
                        f'representation="B64">{PDF_B64}</text>\n  </nonXMLBody>',
                        "<structuredBody/>")
    only(errors_for(structured), "urn:ihe:iti:xds-sd:pdf:2008", "announces an unstructured")


@pytest.mark.parametrize("mime, content, words", [
    ("application/pdf", b"%PDF-1.4 report", ()),
    ("application/pdf", b"GIF89a", ("not application/pdf",)),
    ("application/octet-stream", b"%PDF-1.4", ("neither text/xml",)),
])
def test_a_document_sent_as_itself_is_what_its_mime_type_and_format_say(mime, content, words):
    errors = errors_for(content, mime_type=mime)
    if words:
        only(errors, *words)
    else:
        assert errors == []


def test_the_patient_setting_keeps_only_the_ins_check():
    assert errors_for(b"<foo/>", cda="patient") == []
    assert errors_for(edited('extension="POCD_HD000040"', 'extension="X"'), cda="patient") == []
    errors = errors_for(cda_document(ins="180012A01234567"), cda="patient")
    assert [e[0] for e in errors] == ["XDSPatientIdDoesNotMatch"]


def test_a_dicom_kos_is_not_read_as_a_cda():
    request = provide_and_register((Doc(content=b"DICM...", mime_type="application/dicom"),))
    sub = parse_provide_and_register(etree.fromstring(request.body))
    entry = sub.entry("DocumentCDA")
    fmt = next(c for c in entry.classifications if c.scheme == DE_FORMAT_CODE)
    fmt.node, fmt.slots["codingScheme"] = "1.2.840.10008.5.1.4.1.1.88.59", ["1.2.840.10008.2.6.1"]
    policy = ContentPolicy(load_terminology(), coded="off")
    check_submission(sub, vihf_patient=(ADRUN, TEST_OID), lookup=Registry(), policy=policy)


@pytest.mark.parametrize("cda, xds, same", [
    ("20240301093000+0100", "20240301083000", True),
    ("20240301093000+0100", "20240301093000", False),
    ("20240301", "20240301083000", True),
    ("202403010930-0130", "20240301110000", True),
    ("20241301093000+0100", "20241301083000", False),  # month 13: no crash
    ("garbage", "20240301", False),
])
def test_times_are_compared_in_utc_at_the_shorter_precision(cda, xds, same):
    assert _same_time(cda, xds) is same
