"""The INS OID rule inside the TD2.1 metadata rules (brief §3.2): a patientId whose OID
may not name its INS is XDSUnknownPatientId, a sourcePatientId XDSRegistryMetadataError;
the rule is the caller's (``ins_oid_refusal``), rules.py only places the errors."""
from __future__ import annotations

import pytest
from lxml import etree

from simulator.kit.soap import ADRUN, TEST_OID
from simulator.kit.xds import Doc, provide_and_register
from simulator.services.dmp.xds.errors import XdsFailure
from simulator.services.dmp.xds.rules import check_submission
from simulator.services.dmp.xds.submission import parse_provide_and_register

NIA_OID = "1.2.250.1.213.1.4.9"


class Registry:
    def unique_id_exists(self, unique_id):
        return False

    def entry(self, entry_uuid):
        return None


def only_test_oid(ins, oid):
    return None if oid == TEST_OID else f"{oid} may not name {ins}"


def errors_of(request, vihf_patient=(ADRUN, TEST_OID), refusal=only_test_oid):
    submission = parse_provide_and_register(etree.fromstring(request.body))
    with pytest.raises(XdsFailure) as caught:
        check_submission(submission, vihf_patient=vihf_patient, lookup=Registry(),
                         ins_oid_refusal=refusal)
    return [(e.code, e.location, e.message) for e in caught.value.errors]


def test_a_patient_id_under_a_refused_oid_is_unknown_patient_id():
    request = provide_and_register(patient_id=f"{ADRUN}^^^&{NIA_OID}&ISO^NH")
    errors = errors_of(request)
    assert [(code, where) for code, where, _ in errors] == [
        ("XDSUnknownPatientId", "SubmissionSet01"), ("XDSUnknownPatientId", "DocumentCDA"),
        ("XDSUnknownPatientId", "Signature01")]
    assert f"{NIA_OID} may not name {ADRUN}" in errors[0][2]


def test_without_the_rule_the_same_patient_id_is_only_compared_with_the_vihf():
    request = provide_and_register(patient_id=f"{ADRUN}^^^&{NIA_OID}&ISO^NH")
    codes = {code for code, _, _ in errors_of(request, refusal=None)}
    assert codes == {"XDSPatientIdDoesNotMatch"}


def test_an_ins_source_patient_id_follows_the_rule_and_an_ipp_does_not():
    request = provide_and_register()
    body = request.body.replace("IPP123456^^^&amp;1.2.250.1.999.1.2.3&amp;ISO^PI",
                                f"{ADRUN}^^^&amp;{NIA_OID}&amp;ISO^NH")
    assert body != request.body
    request.body = body
    assert errors_of(request) == [("XDSRegistryMetadataError", "DocumentCDA",
                                   f"sourcePatientId '{ADRUN}^^^&{NIA_OID}&ISO^NH': "
                                   f"{NIA_OID} may not name {ADRUN}")]


def test_a_document_entry_of_another_patient_is_still_patient_id_does_not_match():
    request = provide_and_register((Doc(patient_id=f"188102B17295264^^^&{TEST_OID}&ISO^NH"),))
    assert [(c, w) for c, w, _ in errors_of(request)] == [
        ("XDSPatientIdDoesNotMatch", "DocumentCDA")]
