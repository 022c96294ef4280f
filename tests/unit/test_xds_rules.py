"""The TD2.1 rules (DMP.md §2.5, §5): each fires with its IHE code and location, all
problems are reported at once, and a submission shaped like DRIMbox's passes."""
from __future__ import annotations

import hashlib

import pytest
from lxml import etree

from simulator.kit.soap import ADRUN, TEST_OID
from simulator.kit.xds import PATIENT_ID, Doc, cda_document, provide_and_register
from simulator.services.dmp.xds.errors import XdsFailure
from simulator.services.dmp.xds.model import (
    APPROVED, DE_AUTHOR, DE_CLASS_CODE, DE_CONFIDENTIALITY, DE_FACILITY_TYPE, DE_FORMAT_CODE,
    DE_PATIENT_ID, DE_PRACTICE_SETTING, DE_TYPE_CODE, DE_UNIQUE_ID, DEPRECATED, HAS_MEMBER,
    SIGNS, SS_AUTHOR, SS_CONTENT_TYPE, SS_PATIENT_ID, SS_SOURCE_ID, SS_UNIQUE_ID,
    ExternalId, RegistryObject)
from simulator.services.dmp.xds.rules import check_submission
from simulator.services.dmp.xds.submission import parse_provide_and_register

VIHF_PATIENT = (ADRUN, TEST_OID)
OLD_UUID = "urn:uuid:0b1c6b9e-49a4-4c43-9d0b-0e7c3c0f6a11"
OTHER_INS = "180012A01234567"


class Registry:
    """A registry lookup holding what the test puts in it."""

    def __init__(self, unique_ids=(), entries=()):
        self.unique_ids = set(unique_ids)
        self.entries = {e.id: e for e in entries}

    def unique_id_exists(self, unique_id):
        return unique_id in self.unique_ids

    def entry(self, entry_uuid):
        return self.entries.get(entry_uuid)


def submission(*documents, **options):
    request = provide_and_register(documents or (Doc(),), **options)
    return parse_provide_and_register(etree.fromstring(request.body))


def errors_of(sub, vihf_patient=VIHF_PATIENT, registry=None):
    with pytest.raises(XdsFailure) as caught:
        check_submission(sub, vihf_patient=vihf_patient, lookup=registry or Registry())
    return [(e.code, e.location, e.message) for e in caught.value.errors]


def assert_one(errors, code, location, *words):
    matching = [e for e in errors if e[0] == code and e[1] == location
                and all(w in e[2] for w in words)]
    assert matching, f"no {code} at {location} with {words} in {errors}"


def registered(patient_id=PATIENT_ID, status=APPROVED):
    return RegistryObject("ExtrinsicObject", OLD_UUID, status=status, external_ids=[
        ExternalId(DE_PATIENT_ID, patient_id), ExternalId(DE_UNIQUE_ID, "1.2.250.1.999.7")])


def without_classification(obj, scheme):
    obj.classifications = [c for c in obj.classifications if c.scheme != scheme]


def without_external(obj, scheme):
    obj.external_ids = [e for e in obj.external_ids if e.scheme != scheme]


def set_external(obj, scheme, value):
    next(e for e in obj.external_ids if e.scheme == scheme).value = value


@pytest.mark.parametrize("documents, options", [
    ((Doc(),), {}),
    ((Doc(), Doc("DocumentPDF", "1.2.250.1.999.1.1.8121.21.2", b"%PDF-1.4 report",
                 "application/pdf", confidentiality=(
                     ("N", "2.16.840.1.113883.5.25"),
                     ("MASQUE_PS", "1.2.250.1.213.1.1.4.13"),
                     ("INVISIBLE_PATIENT", "1.2.250.1.213.1.1.4.13")))), {}),
    ((Doc(hash_and_size=False),), {"set_classification_apart": True}),
])
def test_a_well_formed_submission_passes(documents, options):
    check_submission(submission(*documents, **options), vihf_patient=VIHF_PATIENT,
                     lookup=Registry())


def test_patient_ids_with_a_cx7_component_are_tolerated():
    # The ANS kit appends ^^20100907 (CX.7) to patientId (DMP.md §5.1).
    sub = submission()
    for obj in [sub.submission_set, *sub.entries]:
        for ext in obj.external_ids:
            if ext.scheme in (SS_PATIENT_ID, DE_PATIENT_ID):
                ext.value += "^^20100907"
    check_submission(sub, vihf_patient=VIHF_PATIENT, lookup=Registry())


def test_an_entry_for_another_patient_does_not_match():
    sub = submission(Doc(patient_id=f"{OTHER_INS}^^^&{TEST_OID}&ISO^NH",
                         content=cda_document(ins=OTHER_INS)))
    errors = errors_of(sub)
    assert_one(errors, "XDSPatientIdDoesNotMatch", "DocumentCDA", OTHER_INS, ADRUN)


def test_the_vihf_patient_must_be_the_submission_patient():
    errors = errors_of(submission(), vihf_patient=(OTHER_INS, TEST_OID))
    assert_one(errors, "XDSPatientIdDoesNotMatch", "SubmissionSet01", "VIHF", OTHER_INS)


@pytest.mark.parametrize("patient_id, words", [
    ("1234567890123456789012^^^&1.2.250.1.213.1.4.2&ISO^NH", ("INS-C", "API v2")),
    (f"{ADRUN}^^^&1.2.250.1.999.9&ISO^NH", ("not an INS OID", "1.2.250.1.213.1.4.8")),
    (f"{ADRUN}^^^&{TEST_OID}&ISO^PI", ("INS^^^&OID&ISO^NH",)),
    (f"{ADRUN}^^^{TEST_OID}", ("INS^^^&OID&ISO^NH",)),
])
def test_a_patient_id_that_is_not_a_v2_ins_is_refused(patient_id, words):
    errors = errors_of(submission(patient_id=patient_id), vihf_patient=None)
    assert_one(errors, "XDSRegistryMetadataError", "SubmissionSet01", *words)


@pytest.mark.parametrize("slot", ["creationTime", "serviceStartTime", "languageCode",
                                  "sourcePatientId", "sourcePatientInfo", "legalAuthenticator"])
def test_each_required_entry_slot_is_named_when_missing(slot):
    sub = submission()
    del sub.entry("DocumentCDA").slots[slot]
    assert_one(errors_of(sub), "XDSRegistryMetadataError", "DocumentCDA", slot, "missing")


@pytest.mark.parametrize("scheme, label", [
    (DE_CLASS_CODE, "classCode"), (DE_TYPE_CODE, "typeCode"), (DE_FORMAT_CODE, "formatCode"),
    (DE_FACILITY_TYPE, "healthcareFacilityTypeCode"),
    (DE_PRACTICE_SETTING, "practiceSettingCode"), (DE_AUTHOR, "author"),
    (DE_CONFIDENTIALITY, "confidentialityCode")])
def test_each_required_entry_classification_is_named_when_missing(scheme, label):
    sub = submission()
    without_classification(sub.entry("DocumentCDA"), scheme)
    assert_one(errors_of(sub), "XDSRegistryMetadataError", "DocumentCDA", label)


@pytest.mark.parametrize("scheme, label", [(DE_UNIQUE_ID, "uniqueId"),
                                           (DE_PATIENT_ID, "patientId")])
def test_entry_identifiers_are_required(scheme, label):
    sub = submission()
    without_external(sub.entry("DocumentCDA"), scheme)
    assert_one(errors_of(sub), "XDSRegistryMetadataError", "DocumentCDA", label, "missing")


def test_title_mime_type_and_object_type_are_required():
    sub = submission()
    entry = sub.entry("DocumentCDA")
    entry.name, entry.mime_type, entry.object_type = "", "", "urn:uuid:on-demand"
    errors = errors_of(sub)
    for words in (("title",), ("mimeType",), ("objectType", "urn:uuid:on-demand")):
        assert_one(errors, "XDSRegistryMetadataError", "DocumentCDA", *words)


def test_codes_need_a_coding_scheme_and_authors_a_person():
    sub = submission()
    entry = sub.entry("DocumentCDA")
    next(c for c in entry.classifications if c.scheme == DE_TYPE_CODE).slots.clear()
    next(c for c in entry.classifications if c.scheme == DE_AUTHOR).slots.pop("authorPerson")
    errors = errors_of(sub)
    assert_one(errors, "XDSRegistryMetadataError", "DocumentCDA", "typeCode", "codingScheme")
    assert_one(errors, "XDSRegistryMetadataError", "DocumentCDA", "authorPerson")


def test_dates_must_be_hl7_utc_timestamps():
    sub = submission()
    sub.entry("DocumentCDA").slots["creationTime"] = ["2024-03-01T08:30:00Z"]
    assert_one(errors_of(sub), "XDSRegistryMetadataError", "DocumentCDA", "creationTime",
               "YYYYMMDDhhmmss")


@pytest.mark.parametrize("codes, words", [
    ((("N", "2.16.840.1.113883.5.25"), ("U", "2.16.840.1.113883.5.25")), ("'U'", "JDV_J58")),
    ((("MASQUE_PS", "2.16.840.1.113883.5.25"),), ("MASQUE_PS", "1.2.250.1.213.1.1.4.13")),
    ((("N", "2.16.840.1.113883.5.25"),) * 2, ("given twice",)),
    ((("N", "2.16.840.1.113883.5.25"), ("MASQUE_PS", "1.2.250.1.213.1.1.4.13"),
      ("INVISIBLE_PATIENT", "1.2.250.1.213.1.1.4.13"),
      ("INVISIBLE_REPRESENTANTS_LEGAUX", "1.2.250.1.213.1.1.4.13"),
      ("MASQUE_PS", "1.2.250.1.213.1.1.4.13")), ("1 to 4", "found 5")),
])
def test_confidentiality_codes_come_from_jdv_j58(codes, words):
    errors = errors_of(submission(Doc(confidentiality=codes)))
    assert_one(errors, "XDSRegistryMetadataError", "DocumentCDA", *words)


@pytest.mark.parametrize("scheme, words", [
    (SS_AUTHOR, ("author",)), (SS_CONTENT_TYPE, ("contentTypeCode",))])
def test_submission_set_classifications_are_required(scheme, words):
    sub = submission()
    without_classification(sub.submission_set, scheme)
    assert_one(errors_of(sub), "XDSRegistryMetadataError", "SubmissionSet01", *words)


@pytest.mark.parametrize("scheme, label", [(SS_UNIQUE_ID, "uniqueId"), (SS_SOURCE_ID, "sourceId"),
                                           (SS_PATIENT_ID, "patientId")])
def test_submission_set_identifiers_are_required(scheme, label):
    sub = submission()
    without_external(sub.submission_set, scheme)
    assert_one(errors_of(sub), "XDSRegistryMetadataError", "SubmissionSet01", label, "missing")


def test_submission_time_is_required():
    sub = submission()
    del sub.submission_set.slots["submissionTime"]
    assert_one(errors_of(sub), "XDSRegistryMetadataError", "SubmissionSet01", "submissionTime")


def test_hash_and_size_must_be_those_of_the_document_received():
    sub = submission()
    entry = sub.entry("DocumentCDA")
    entry.slots["hash"] = ["da39a3ee5e6b4b0d3255bfef95601890afd80709"]
    entry.slots["size"] = ["12"]
    errors = errors_of(sub)
    actual = len(sub.contents["DocumentCDA"])
    assert_one(errors, "XDSNonIdenticalHash", "DocumentCDA", "da39a3ee", f"{actual} bytes")
    assert_one(errors, "XDSNonIdenticalSize", "DocumentCDA", "'12'", f"{actual} bytes")


def test_a_hash_taken_with_the_mime_line_break_is_explained():
    # DRIMbox hashes its signature part followed by "\n" and declares size + 1.
    sub = submission()
    signature = sub.entry("Signature01")
    content = sub.contents["Signature01"]
    signature.slots["hash"] = [hashlib.sha1(content + b"\n").hexdigest()]
    signature.slots["size"] = [str(len(content) + 1)]
    errors = errors_of(sub)
    assert_one(errors, "XDSNonIdenticalHash", "Signature01", "followed by b'\\n'", "RFC 2046")
    assert_one(errors, "XDSNonIdenticalSize", "Signature01", "followed by b'\\n'")


def test_unique_ids_are_unique_in_the_submission_and_the_registry():
    sub = submission(Doc(), Doc("DocumentBis", "1.2.250.1.999.1.1.8121.21.1", b"other",
                                "application/pdf"))
    errors = errors_of(sub, registry=Registry(unique_ids={"1.2.250.1.999.1.1.8121.7.4242"}))
    assert_one(errors, "XDSDuplicateUniqueIdInRegistry", "DocumentBis", "DocumentCDA",
               "this submission")
    assert_one(errors, "XDSDuplicateUniqueIdInRegistry", "SubmissionSet01",
               "already registered")


def test_a_client_entry_uuid_already_registered_is_refused():
    errors = errors_of(submission(Doc(entry_id=OLD_UUID)),
                       registry=Registry(entries=[registered()]))
    assert [e[:2] for e in errors] == [("XDSDuplicateUniqueIdInRegistry", OLD_UUID)]
    assert "entryUUID" in errors[0][2]


def test_an_unsigned_submission_is_refused():
    errors = errors_of(submission(signed=False))
    assert_one(errors, "XDSRegistryMetadataError", "SubmissionSet01", "not signed",
               "http://www.w3.org/2000/09/xmldsig#", SIGNS)


def test_a_signature_without_its_signs_association_is_refused():
    sub = submission()
    sub.associations = [a for a in sub.associations if a.type != SIGNS]
    assert_one(errors_of(sub), "XDSRegistryMetadataError", "Signature01", SIGNS)


def test_the_manifest_must_reference_the_set_and_every_document():
    sub = submission(Doc(), signed=True)
    set_external(sub.submission_set, SS_UNIQUE_ID, "1.2.250.1.999.1.1.8121.7.1")
    set_external(sub.entry("DocumentCDA"), DE_UNIQUE_ID, "1.2.250.1.999.1.1.8121.21.99")
    errors = errors_of(sub)
    assert_one(errors, "XDSRegistryMetadataError", "Signature01",
               'URI="urn:oid:1.2.250.1.999.1.1.8121.7.1"', "submission set")
    assert_one(errors, "XDSRegistryMetadataError", "Signature01",
               'URI="urn:oid:1.2.250.1.999.1.1.8121.21.99"', "DocumentCDA")
    assert_one(errors, "XDSRegistryMetadataError", "Signature01",
               "urn:oid:1.2.250.1.999.1.1.8121.21.1", "neither")


def test_a_document_digest_in_the_manifest_is_checked():
    sub = submission(Doc(hash_and_size=False))
    sub.contents["DocumentCDA"] = cda_document().replace(b"ZOE", b"ZOA")
    assert_one(errors_of(sub), "XDSRegistryMetadataError", "DocumentCDA",
               "urn:oid:1.2.250.1.999.1.1.8121.21.1", "SHA-1", "canonical XML")


def test_a_signature_that_is_not_xml_is_refused():
    sub = submission()
    sub.contents["Signature01"] = b"\x30\x82 CMS, not XAdES"
    sub.entry("Signature01").slots.pop("hash")
    sub.entry("Signature01").slots.pop("size")
    assert_one(errors_of(sub), "XDSRegistryMetadataError", "Signature01", "not well-formed")


def test_every_entry_needs_an_original_has_member_association():
    sub = submission()
    member = next(a for a in sub.associations if a.target == "Signature01")
    member.slots["SubmissionSetStatus"] = ["Reference"]
    sub.associations = [a for a in sub.associations
                        if not (a.type == HAS_MEMBER and a.target == "DocumentCDA")]
    errors = errors_of(sub)
    assert_one(errors, "XDSRegistryMetadataError", "DocumentCDA", "HasMember")
    assert_one(errors, "XDSRegistryMetadataError", member.id, "SubmissionSetStatus=Original")


def test_associations_name_known_objects():
    sub = submission()
    member = next(a for a in sub.associations if a.target == "DocumentCDA")
    member.target = "DocumentTypo"
    assert_one(errors_of(sub), "XDSRegistryMetadataError", member.id, "DocumentTypo")


def test_a_replacement_of_an_approved_document_of_the_patient_passes():
    sub = submission(replaces={"DocumentCDA": OLD_UUID})
    check_submission(sub, vihf_patient=VIHF_PATIENT, lookup=Registry(entries=[registered()]))


@pytest.mark.parametrize("registry, code, words", [
    (Registry(), "XDSRegistryMetadataError", ("not registered", OLD_UUID)),
    (Registry(entries=[registered(status=DEPRECATED)]), "XDSRegistryDeprecatedDocumentError",
     ("not Approved", "Deprecated")),
    (Registry(entries=[registered(f"{OTHER_INS}^^^&{TEST_OID}&ISO^NH")]),
     "XDSPatientIdDoesNotMatch", (OTHER_INS, ADRUN)),
])
def test_a_replacement_needs_an_approved_document_of_the_same_patient(registry, code, words):
    sub = submission(replaces={"DocumentCDA": OLD_UUID})
    rplc = sub.associations[-1]
    assert_one(errors_of(sub, registry=registry), code, rplc.id, *words)


def test_the_cda_patient_must_be_the_xds_patient():
    sub = submission(Doc(content=cda_document(ins=OTHER_INS)))
    assert_one(errors_of(sub), "XDSPatientIdDoesNotMatch", "DocumentCDA",
               f"{OTHER_INS} (root {TEST_OID})", f"{ADRUN}^^^&{TEST_OID}&ISO^NH")


def test_a_cda_without_ins_in_record_target_is_refused():
    content = cda_document().replace(f'<id root="{TEST_OID}" extension="{ADRUN}"/>'.encode(),
                                     b"")
    errors = errors_of(submission(Doc(content=content)))
    assert_one(errors, "XDSPatientIdDoesNotMatch", "DocumentCDA", "no INS")


def test_xml_documents_that_are_not_cda_are_refused_and_not_read_as_cda():
    errors = errors_of(submission(Doc(content=b"<report><patient>someone else</patient></report>")))
    assert [(code, where) for code, where, _ in errors] == [
        ("XDSRegistryMetadataError", "DocumentCDA")]
    assert_one(errors, "XDSRegistryMetadataError", "DocumentCDA", "not a CDA R2", "report")


def test_every_problem_is_reported_at_once():
    sub = submission()
    entry = sub.entry("DocumentCDA")
    del entry.slots["languageCode"]
    without_classification(entry, DE_CLASS_CODE)
    entry.slots["size"] = ["1"]
    codes = [code for code, _, _ in errors_of(sub, vihf_patient=(OTHER_INS, TEST_OID))]
    assert codes.count("XDSRegistryMetadataError") == 2
    assert {"XDSNonIdenticalSize", "XDSPatientIdDoesNotMatch"} <= set(codes)


def test_a_signature_entry_needs_no_clinical_slots_but_documents_do():
    sub = submission()
    for entry in sub.entries:
        entry.slots.pop("serviceStartTime", None)
    errors = errors_of(sub)
    assert [e[1] for e in errors] == ["DocumentCDA"]

