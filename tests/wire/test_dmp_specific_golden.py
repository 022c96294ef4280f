"""The DMP-specific services at their endpoints (habilitations TD0.3 / TD1.6,
patientsSpecific TD0.4): whole envelopes in, the soap:Body child of the answer compared
by exclusive C14N with hand-written golden messages and validated against the project's
published XSDs (wsdl/dmp/xsd), and the WS-Addressing headers of each answer checked on
their own (WS-Addressing 1.0 SOAP binding §3: reply action, RelatesTo, fresh MessageID,
To anonymous)."""
from __future__ import annotations

from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from dmp_builders.client import (
    Answer, Dmp, HAB, NOW, PAT, SET_AUTHORIZATION, assert_reply_addressing, c14n, golden,
    set_authorization)
from simulator.settings import parse_datetime

LIST_AUTHORIZATIONS = f"{HAB}:HabilitationsEndPoint:listAuthorizationByPatient"
PATIENT_LIST = f"{PAT}:PatientSpecificEndPoint:patientList"
PROJECT = Path(__file__).resolve().parents[2]
XSD = PROJECT / "wsdl" / "dmp" / "xsd"


def list_authorizations(mode: str = "TOUTE") -> str:
    return (f'<h:listAuthorizationByPatient xmlns:h="{HAB}"><h:mode>{mode}</h:mode>'
            "</h:listAuthorizationByPatient>")


def patient_list(since: str = "2024-01-01", date_type: str = "LASTAUTORIZATION") -> str:
    return (f'<p:patientList xmlns:p="{PAT}"><p:date>{since}</p:date>'
            f"<p:dateType>{date_type}</p:dateType></p:patientList>")


@pytest.fixture
def dmp(make_app) -> Dmp:
    return Dmp(make_app(date=parse_datetime(NOW), frozen=True, population=0))


@pytest.fixture(scope="module")
def habilitations_xsd():
    return xmlschema.XMLSchema(str(XSD / "si-dmp-habilitations.xsd"))


@pytest.fixture(scope="module")
def patients_xsd():
    return xmlschema.XMLSchema(str(XSD / "si-dmp-patients.xsd"))


def assert_valid(schema, element) -> None:
    errors = [f"{error.path}: {error.reason}" for error in schema.iter_errors(element)]
    assert not errors, errors


def assert_golden_answer(answer: Answer, name: str, reply_action: str, schema) -> None:
    assert answer.response.status_code == 200
    assert answer.response.headers["Content-Type"].startswith("application/soap+xml")
    assert_reply_addressing(answer, reply_action)
    assert c14n(answer.body) == c14n(golden(name))
    assert_valid(schema, answer.body)


# --- TD0.3 setAuthorization --------------------------------------------------------------

def test_set_authorization_on_an_open_dmp_is_dmpok(dmp, habilitations_xsd):
    dmp.create_dmp()
    assert_valid(habilitations_xsd, etree.fromstring(set_authorization("AJOUT")))
    assert_golden_answer(dmp.authorise(), "specific-set-authorization-ok.xml",
                         f"{SET_AUTHORIZATION}Response", habilitations_xsd)


def test_set_authorization_without_a_dmp_is_refused_with_dmpnotfound(dmp, habilitations_xsd):
    assert_golden_answer(dmp.authorise(), "specific-set-authorization-dmp-not-found.xml",
                         f"{SET_AUTHORIZATION}Response", habilitations_xsd)


def test_set_authorization_with_an_unknown_action_is_dmpinvalidparameter(dmp,
                                                                          habilitations_xsd):
    dmp.create_dmp()
    answer = dmp.call("habilitations", set_authorization("AJOUTER"), SET_AUTHORIZATION)
    assert_golden_answer(answer, "specific-set-authorization-invalid-parameter.xml",
                         f"{SET_AUTHORIZATION}Response", habilitations_xsd)


def test_a_refused_authorization_is_not_recorded(dmp):
    dmp.create_dmp()
    dmp.call("habilitations", set_authorization("AJOUTER"), SET_AUTHORIZATION)
    listing = dmp.call("habilitations", list_authorizations(), LIST_AUTHORIZATIONS).body
    assert listing.findtext(f"{{{HAB}}}context") == "0 professional(s)"
    assert listing.find(f".//{{{HAB}}}authorization") is None


# --- TD1.6 listAuthorizationByPatient ---------------------------------------------------

def test_list_authorizations_names_the_one_authorised_professional(dmp, habilitations_xsd):
    dmp.create_dmp()
    assert dmp.authorise("MEDECIN_TRAITANT").body.findtext(f"{{{HAB}}}status") == "DMPOK"
    request = list_authorizations()
    assert_valid(habilitations_xsd, etree.fromstring(request))
    answer = dmp.call("habilitations", request, LIST_AUTHORIZATIONS)
    assert_golden_answer(answer, "specific-list-authorizations-one.xml",
                         f"{LIST_AUTHORIZATIONS}Response", habilitations_xsd)


# --- TD0.4 patientList -------------------------------------------------------------------

def test_patient_list_names_the_dmp_the_structure_was_authorised_on(dmp, patients_xsd):
    dmp.create_dmp()
    dmp.authorise()
    request = patient_list()
    assert_valid(patients_xsd, etree.fromstring(request))
    answer = dmp.call("patientsSpecific", request, PATIENT_LIST, patient=None)
    assert_golden_answer(answer, "specific-patient-list.xml", f"{PATIENT_LIST}Response",
                         patients_xsd)


def test_patient_list_since_after_the_authorisation_is_empty_and_valid(dmp, patients_xsd):
    dmp.create_dmp()
    dmp.authorise()
    answer = dmp.call("patientsSpecific", patient_list("2024-03-02"), PATIENT_LIST,
                      patient=None)
    assert answer.body.findtext(f"{{{PAT}}}status") == "DMPOK"
    assert answer.body.find(f"{{{PAT}}}patientlistData") is None
    assert_valid(patients_xsd, answer.body)


# --- the WS-Addressing headers -----------------------------------------------------------

def test_every_answer_has_its_own_message_id_and_relates_to_its_request(dmp):
    first = dmp.authorise()
    second = dmp.authorise()
    for answer in (first, second):
        assert_reply_addressing(answer, f"{SET_AUTHORIZATION}Response")
    assert first.header("MessageID")[0].text != second.header("MessageID")[0].text
    assert first.header("RelatesTo")[0].text != second.header("RelatesTo")[0].text
