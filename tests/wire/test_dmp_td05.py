"""TD0.5 (patient search without INS, ``patientsPDQ``, IHE PDQ v3) at the endpoint:
whole envelopes in, the answer's PRPA_IN201306UV02 compared by exclusive C14N with
hand-written goldens (the answer's own message id, fresh per call, set to the golden's
before the comparison), and the search rules through the wire."""
from __future__ import annotations

import pytest
from lxml import etree

from simulator.kit import hl7
from dmp_builders.client import Answer, Dmp, NOW, assert_reply_addressing, c14n, golden
from simulator.services.dmp.records import PatientTraits
from simulator.settings import parse_datetime

HL7 = "urn:hl7-org:v3"
IHE_ACTION = "urn:hl7-org:v3:PRPA_IN201305UV02"
KIT_ACTION = "urn:ihe:iti:pdqv3:2007:PDQSupplier_Service:findCandidatesQuery"
GOLDEN_MESSAGE_ID = "2b7c1e44-9f0d-4c1a-8e65-3d9a0b7f5c21"
ADRDEUX = "181016322075140"
ADRDEUX_TRAITS = PatientTraits(birth_name="ADRDEUX", given_names="LAURENT", sex="M",
                               birth_date="1981-01-01", used_name="MARTIN",
                               address=("2 place de Jaude", "63000", "CLERMONT-FERRAND"))


@pytest.fixture
def dmp(make_app) -> Dmp:
    return Dmp(make_app(date=parse_datetime(NOW), frozen=True, population=0))


def create(dmp: Dmp, ins: str = hl7.ADRUN, traits: PatientTraits = hl7.ADRUN_TRAITS) -> None:
    answer = dmp.call("patients", hl7.create(ins=ins, traits=traits, vitale=traits),
                      "urn:hl7-org:v3:PRPA_IN201311UV02", patient=ins)
    assert answer.body.find(f"{{{HL7}}}acknowledgement").get("typeCode") == "AA"


def search(dmp: Dmp, action: str = IHE_ACTION, **criteria) -> Answer:
    answer = dmp.call("patientsPDQ", hl7.find_candidates(**criteria), action, patient=None)
    assert answer.response.status_code == 200, answer.response.data[:800]
    assert_reply_addressing(answer, "urn:hl7-org:v3:PRPA_IN201306UV02")
    return answer


def assert_golden(answer: Answer, name: str) -> None:
    body = answer.body
    body.find(f"{{{HL7}}}id").set("extension", GOLDEN_MESSAGE_ID)
    assert c14n(body) == c14n(golden(name))


def candidates(answer: Answer) -> list[str]:
    return [i.get("extension") for i in answer.body.iterfind(
        f".//{{{HL7}}}subject1/{{{HL7}}}patient/{{{HL7}}}id")]


def response_code(answer: Answer) -> str:
    return answer.body.find(f".//{{{HL7}}}queryAck/{{{HL7}}}queryResponseCode").get("code")


def test_the_kits_query_finds_the_patient_with_every_criterion(dmp):
    create(dmp)
    answer = search(dmp, KIT_ACTION, name="Adrun", given="Zoé", birth_date="19751231",
                    sex="F", city="Paris", postcode="75005")
    assert_golden(answer, "pdq-td05-found.xml")


def test_no_candidate_is_nf(dmp):
    create(dmp)
    assert_golden(search(dmp, name="ADRUN", birth_date="19751230"), "pdq-td05-not-found.xml")


def test_a_one_letter_name_is_a_query_error(dmp):
    assert_golden(search(dmp, name="A", approximate_name=True), "pdq-td05-name-too-short.xml")


def test_more_candidates_than_answered_is_dmptoomanyresults(make_app):
    dmp = Dmp(make_app(date=parse_datetime(NOW), frozen=True, population=0,
                       dmp_pdq_max_results=1))
    create(dmp)
    create(dmp, ADRDEUX, ADRDEUX_TRAITS)
    assert_golden(search(dmp, name="ADR", approximate_name=True), "pdq-td05-too-many.xml")
    assert candidates(search(dmp, name="ADR", given="LAU", approximate_name=True)) == [ADRDEUX]


@pytest.mark.parametrize("criteria, found", [
    ({"name": "ADR", "approximate_name": True}, [ADRDEUX, hl7.ADRUN]),
    ({"name": "ADR"}, []),
    ({"name": "MARTIN"}, [ADRDEUX]),  # the used name
    ({"name": "adrdeux", "given": "laurent", "sex": "M"}, [ADRDEUX]),
    ({"name": "ADRDEUX", "sex": "F"}, []),
    ({"name": "ADRDEUX", "sex": "U"}, [ADRDEUX]),
    ({"name": "ADR", "approximate_name": True, "city": "clermont ferrand"}, [ADRDEUX]),
    ({"name": "ADR", "approximate_name": True, "city": "CLERMONT"}, []),
    ({"name": "ADR", "approximate_name": True, "city": "CLERMONT", "approximate_city": True},
     [ADRDEUX]),
    ({"name": "ADR", "approximate_name": True, "postcode": "75005"}, [hl7.ADRUN]),
    ({"name": "ADR", "approximate_name": True, "birth_date": "19810101"}, [ADRDEUX]),
])
def test_search_rules(dmp, criteria, found):
    create(dmp)
    create(dmp, ADRDEUX, ADRDEUX_TRAITS)
    answer = search(dmp, **criteria)
    assert candidates(answer) == found
    assert response_code(answer) == ("OK" if found else "NF")


def test_a_closed_dmp_is_found_with_its_status(dmp):
    create(dmp)
    closed = dmp.call("patients", hl7.close(), "urn:hl7-org:v3:PRPA_IN201314UV02")
    assert closed.body.find(f"{{{HL7}}}acknowledgement").get("typeCode") == "AA"
    patient = search(dmp, name="ADRUN").body.find(f".//{{{HL7}}}patient")
    assert patient.find(f"{{{HL7}}}statusCode").get("code") == "terminated"


@pytest.mark.parametrize("criteria, location", [
    ({"name": None}, "/parameterList/livingSubjectName"),
    ({"birth_date": "31/12/1975"}, "/livingSubjectBirthTime/value/@value"),
    ({"sex": "X"}, "/livingSubjectAdministrativeGender/value"),
])
def test_bad_criteria_are_query_errors_naming_the_element(dmp, criteria, location):
    answer = search(dmp, **{"name": "ADRUN", **criteria})
    assert response_code(answer) == "QE"
    ack = answer.body.find(f"{{{HL7}}}acknowledgement")
    assert ack.get("typeCode") == "AE"
    assert ack.findtext(f"{{{HL7}}}acknowledgementDetail/{{{HL7}}}location").endswith(location)


def test_a_message_for_another_receiver_is_an_application_error(dmp):
    answer = search(dmp, receiver_oid="1.2.3")
    assert response_code(answer) == "AE"


def test_the_vihf_names_no_patient_and_every_mode_may_search(dmp):
    create(dmp)
    for mode in ("DIRECTE", "INDIRECTE", "INDIRECTE_RENFORCEE"):
        answer = dmp.call("patientsPDQ", hl7.find_candidates(), IHE_ACTION, patient=None,
                          **{"Authentification_Mode": mode, "signed": mode != "DIRECTE"})
        assert candidates(answer) == [hl7.ADRUN], mode


def test_an_unknown_action_is_refused(dmp):
    answer = dmp.call("patientsPDQ", hl7.find_candidates(), "urn:hl7-org:v3:PRPA_IN201307UV02",
                      patient=None)
    assert answer.response.status_code == 500
    assert b"ActionMismatch" in answer.response.data


def test_the_published_wsdl_names_the_kits_operation(dmp):
    wsdl = etree.fromstring(dmp.http.get("/si-dmp-server/v2/services/patientsPDQ",
                                         query_string="wsdl").data)
    names = [op.get("name") for op in wsdl.iter("{http://schemas.xmlsoap.org/wsdl/}operation")]
    assert set(names) == {"findCandidatesQuery"}


def test_the_authentication_mode_rule_applies_to_td05(make_app):
    dmp = Dmp(make_app(date=parse_datetime(NOW), frozen=True, population=0,
                       dmp_indirect_denied=("TD0.5",)))
    create(dmp)
    answer = dmp.call("patientsPDQ", hl7.find_candidates(), IHE_ACTION, patient=None,
                      Authentification_Mode="INDIRECTE")
    assert response_code(answer) == "AE" and candidates(answer) == []
    detail = answer.body.find(f"{{{HL7}}}acknowledgement/{{{HL7}}}acknowledgementDetail")
    assert detail.find(f"{{{HL7}}}code").get("code") == "DMPAccessDenied"
    assert "AUTH_MODE" in detail.findtext(f"{{{HL7}}}text")
    assert candidates(search(dmp)) == [hl7.ADRUN]  # AIR, the builders' default
