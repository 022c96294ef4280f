"""The patient identifier of each DMP API version (DMP.md §3.1, §5.1): v1 takes the INS-C
(OID 1.2.250.1.213.1.4.2, 22 digits) and refuses the INS; v2 takes the INS and refuses
the INS-C. The same rule in the VIHF, the HL7 v3 patient messages and the XDS metadata,
and the resolution of an INS-C to the INS that keys the patient's DMP."""
from __future__ import annotations

from datetime import timedelta

import pytest
from lxml import etree

from simulator.kit import hl7 as build
from simulator.kit import soap
from simulator.kit.xds import Doc, cda_document, provide_and_register
from simulator.identities.insc import compute_insc
from simulator.identities.model import Identity, Matricule
from simulator.services.dmp.hl7.requests import Hl7RequestError, parse_patient_request
from simulator.services.dmp.v1.insc_patient import UnknownInsc, ins_of_insc
from simulator.services.dmp.vihf import (
    INS_C_OID, PATIENT_OIDS, RESOURCE_ID, VihfError, identifier_refusal, read_vihf)
from simulator.services.dmp.xds.errors import XdsFailure
from simulator.services.dmp.xds.rules import check_submission, parse_patient_id
from simulator.services.dmp.xds.submission import parse_provide_and_register
from simulator.settings import parse_datetime
from simulator.soap.parsing import safe_parser

INSC = compute_insc("2751263220749", "ZOE", "1975-12-31")
BAD_KEY_INSC = INSC[:20] + ("%02d" % ((int(INSC[20:]) + 1) % 100))
INS_OIDS = ("1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9", "1.2.250.1.213.1.4.10",
            "1.2.250.1.213.1.4.11")
V1_WORDS = "DMP API v1 identifies patients by the INS-C"
V2_WORDS = "l'INSc n'est plus reconnu par le DMP en V2"


# --- one rule, per version --------------------------------------------------------

def test_each_version_takes_its_own_identifier_only():
    assert set(PATIENT_OIDS["v1"]) == {INS_C_OID}
    assert set(PATIENT_OIDS["v2"]) == set(INS_OIDS)
    assert identifier_refusal("v1", INS_C_OID) is None
    for oid in INS_OIDS:
        assert identifier_refusal("v2", oid) is None
        refusal = identifier_refusal("v1", oid)
        assert V1_WORDS in refusal and oid in refusal and "API v2" in refusal
    assert V2_WORDS in identifier_refusal("v2", INS_C_OID)
    assert "not an INS OID" in identifier_refusal("v2", "1.2.250.1.999")
    assert V1_WORDS in identifier_refusal("v1", "1.2.250.1.999")


# --- HL7 v3 -------------------------------------------------------------------------

def tree(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, safe_parser())


def refused(xml: bytes, **options) -> Hl7RequestError:
    with pytest.raises(Hl7RequestError) as caught:
        parse_patient_request(tree(xml), **options)
    return caught.value


@pytest.mark.parametrize("message", [build.query, build.create, build.close])
def test_v1_hl7_messages_name_the_patient_by_insc(message):
    request = parse_patient_request(tree(message(ins=INSC, ins_oid=INS_C_OID)), version="v1")
    assert (request.patient_ins, request.patient_oid) == (INSC, INS_C_OID)


def test_v1_picks_the_insc_among_several_patient_ids():
    root = tree(build.create())  # the INS of ADRUN ...
    patient_id = root.find(".//{urn:hl7-org:v3}subject1/{urn:hl7-org:v3}patient/"
                           "{urn:hl7-org:v3}id")
    insc = etree.Element("{urn:hl7-org:v3}id", root=INS_C_OID, extension=INSC)
    patient_id.addnext(insc)  # ... and, after it, the INS-C
    assert parse_patient_request(root, version="v1").patient_ins == INSC
    assert parse_patient_request(root, version="v2").patient_ins == soap.ADRUN


@pytest.mark.parametrize("oid", INS_OIDS)
def test_v1_refuses_the_ins_saying_v1_takes_the_insc(oid):
    error = refused(build.query(ins=soap.ADRUN, ins_oid=oid), version="v1")
    assert V1_WORDS in error.message and oid in error.message
    assert error.location.endswith("/patientIdentifier/value/@root")


def test_v1_checks_the_insc_digits_and_key():
    error = refused(build.query(ins=BAD_KEY_INSC, ins_oid=INS_C_OID), version="v1")
    assert "22 digits" in error.message and BAD_KEY_INSC in error.message
    assert error.location.endswith("/patientIdentifier/value/@extension")
    assert "22 digits" in refused(build.create(ins=INSC[:15], ins_oid=INS_C_OID),
                                  version="v1").message


def test_v2_still_refuses_the_insc():
    error = refused(build.query(ins=INSC, ins_oid=INS_C_OID), version="v2")
    assert V2_WORDS in error.message


# --- XDS ----------------------------------------------------------------------------

def v1_submission(patient_id=f"{INSC}^^^&{INS_C_OID}&ISO^NH", cda_ins=INSC, cda_oid=INS_C_OID):
    request = provide_and_register((Doc(content=cda_document(ins=cda_ins, oid=cda_oid)),),
                                   patient_id=patient_id)
    return parse_provide_and_register(etree.fromstring(request.body))


def xds_errors(sub, version, vihf_patient=(INSC, INS_C_OID)):
    try:
        check_submission(sub, vihf_patient=vihf_patient, lookup=_EmptyRegistry(),
                         version=version)
    except XdsFailure as failure:
        return [(e.code, e.location, e.message) for e in failure.errors]
    return []


class _EmptyRegistry:
    def unique_id_exists(self, unique_id):
        return False

    def entry(self, entry_uuid):
        return None


@pytest.mark.parametrize("cx5", ["NH", "INS-C"])
def test_a_v1_submission_by_insc_passes(cx5):
    assert xds_errors(v1_submission(f"{INSC}^^^&{INS_C_OID}&ISO^{cx5}"), "v1") == []


def test_a_v1_submission_by_insc_is_refused_by_v2():
    errors = xds_errors(v1_submission(), "v2", vihf_patient=None)
    assert any(code == "XDSRegistryMetadataError" and V2_WORDS in message
               for code, _, message in errors), errors


def test_a_v1_submission_by_ins_is_refused_saying_v1_takes_the_insc():
    ins_cx = f"{soap.ADRUN}^^^&{soap.TEST_OID}&ISO^NH"
    errors = xds_errors(v1_submission(ins_cx, soap.ADRUN, soap.TEST_OID), "v1",
                        vihf_patient=None)
    assert ("XDSRegistryMetadataError", "SubmissionSet01") in {e[:2] for e in errors}
    assert all(V1_WORDS in message for code, _, message in errors
               if code == "XDSRegistryMetadataError" and "patientId" in message)


def test_a_v1_cda_must_carry_the_insc_of_the_patient_id():
    errors = xds_errors(v1_submission(cda_ins=soap.ADRUN, cda_oid=soap.TEST_OID), "v1")
    assert [(code, location) for code, location, _ in errors] == [
        ("XDSPatientIdDoesNotMatch", "DocumentCDA")]
    assert "carries no INS-C" not in errors[0][2] and INSC in errors[0][2]


def test_a_v1_patient_id_must_have_22_digits():
    errors = xds_errors(v1_submission(f"{INSC[:21]}^^^&{INS_C_OID}&ISO^NH"), "v1",
                        vihf_patient=None)
    assert any("22 digits" in message for _, _, message in errors), errors


def test_cx5_insc_goes_with_the_insc_oid_only():
    assert parse_patient_id(f"{INSC}^^^&{INS_C_OID}&ISO^INS-C") == (INSC, INS_C_OID)
    assert parse_patient_id(f"{soap.ADRUN}^^^&{soap.TEST_OID}&ISO^INS-C") is None


# --- VIHF ---------------------------------------------------------------------------

NOW = parse_datetime("2024-03-01T10:00:00Z")


def vihf_with(resource_id: str):
    header = etree.fromstring(
        '<soap:Header xmlns:soap="http://www.w3.org/2003/05/soap-envelope">'
        + soap.vihf("2024-03-01T10:00:00Z", **{RESOURCE_ID: resource_id}) + "</soap:Header>")
    return read_vihf(header, NOW, max_skew=timedelta(minutes=5), require_patient=True)


@pytest.mark.parametrize("cx5", ["NH", "INS-C"])
def test_the_vihf_names_a_patient_by_insc(cx5):
    vihf = vihf_with(f"{INSC}^^^&{INS_C_OID}&ISO^{cx5}")
    assert (vihf.patient_ins, vihf.patient_oid) == (INSC, INS_C_OID)


def test_the_vihf_refuses_cx5_insc_on_an_ins():
    with pytest.raises(VihfError, match="INS\\^\\^\\^&OID&ISO\\^NH"):
        vihf_with(f"{soap.ADRUN}^^^&{soap.TEST_OID}&ISO^INS-C")


# --- INS-C -> INS -------------------------------------------------------------------

class _Registry:
    """The one store lookup the resolution uses."""

    def __init__(self, known: dict[str, Identity]):
        self.known = known
        self.asked: list[str] = []

    def identity_by_insc(self, insc):
        self.asked.append(insc)
        return self.known.get(insc)


def _identity(oid: str) -> Identity:
    return Identity(key="x", birth_name="ADRUN", first_names=("ZOE",), sex="F",
                    birth_date="1975-12-31", birth_place="75056",
                    active=Matricule("2751263220749", "74", oid))


def test_an_insc_resolves_to_the_active_ins_and_its_oid():
    store = _Registry({INSC: _identity(soap.TEST_OID)})
    assert ins_of_insc(store, INSC) == ("275126322074974", soap.TEST_OID)


def test_an_unknown_insc_is_refused_naming_it():
    store = _Registry({})
    with pytest.raises(UnknownInsc, match=f"no patient .* has the INS-C {INSC}"):
        ins_of_insc(store, INSC)


def test_a_malformed_insc_is_refused_before_any_lookup():
    store = _Registry({BAD_KEY_INSC: _identity(soap.TEST_OID)})
    with pytest.raises(UnknownInsc, match="is not an INS-C"):
        ins_of_insc(store, BAD_KEY_INSC)
    assert store.asked == []
