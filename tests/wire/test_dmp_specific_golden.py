"""The DMP-specific services at their endpoints (habilitations TD0.3 / TD1.6,
patientsSpecific TD0.4): whole envelopes in, the soap:Body child of the answer compared
by exclusive C14N with hand-written golden messages and validated against the project's
published XSDs (wsdl/dmp/xsd), and the WS-Addressing headers of each answer checked on
their own (WS-Addressing 1.0 SOAP binding §3: reply action, RelatesTo, fresh MessageID,
To anonymous)."""
from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import xmlschema
from lxml import etree
from werkzeug.test import Client

from dmp_builders import hl7
from dmp_builders.soap import SOAP_CT, envelope
from simulator.settings import parse_datetime
from simulator.soap.parsing import safe_parser

NOW = "2024-03-01T08:30:00Z"  # the simulated clock and every VIHF IssueInstant
BASE = "/si-dmp-server/v2/services"
SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
HAB = "urn:si-dmp-habilitations"
PAT = "urn:si-dmp-patients"
SET_AUTHORIZATION = f"{HAB}:HabilitationsEndPoint:setAuthorization"
LIST_AUTHORIZATIONS = f"{HAB}:HabilitationsEndPoint:listAuthorizationByPatient"
PATIENT_LIST = f"{PAT}:PatientSpecificEndPoint:patientList"
CREATE = "urn:hl7-org:v3:PRPA_IN201311UV02"
PROJECT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden" / "dmp"
XSD = PROJECT / "wsdl" / "dmp" / "xsd"
UUID_URN = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Answer:
    """One exchange: the HTTP response, the request's MessageID and the parsed envelope."""

    def __init__(self, response, request_message_id: str):
        self.response = response
        self.request_message_id = request_message_id
        self.envelope = etree.fromstring(response.data, safe_parser())

    def header(self, local_name: str) -> list[etree._Element]:
        """Every WS-Addressing header block of this name."""
        return self.envelope.findall(f"{{{SOAP}}}Header/{{{WSA}}}{local_name}")

    @property
    def body(self) -> etree._Element:
        """The first element child of soap:Body."""
        children = [c for c in self.envelope.find(f"{{{SOAP}}}Body") if isinstance(c.tag, str)]
        assert len(children) == 1, children
        return children[0]


class Dmp:
    """A DMP client of one simulator app, sending the builders' envelopes."""

    def __init__(self, app):
        self.http = Client(app)

    def call(self, service: str, body: str | bytes, action: str, **options) -> Answer:
        message_id = f"urn:uuid:{uuid.uuid4()}"
        body = body.decode("utf-8") if isinstance(body, bytes) else body
        raw = envelope(body, action=action, service=service, issue_instant=NOW,
                       message_id=message_id, **options)
        return Answer(self.http.post(f"{BASE}/{service}", data=raw, content_type=SOAP_CT),
                      message_id)

    def create_dmp(self) -> None:
        """TD1.1 for ADRUN Zoé, the patient every VIHF of these tests names."""
        answer = self.call("patients", hl7.create(), CREATE)
        assert answer.body.find("{urn:hl7-org:v3}acknowledgement").get("typeCode") == "AA"

    def authorise(self, role: str | None = None) -> Answer:
        """TD0.3 AJOUT (with the médecin traitant role when asked)."""
        return self.call("habilitations", set_authorization("AJOUT", role), SET_AUTHORIZATION)


def set_authorization(action: str, role: str | None = None) -> str:
    role_xml = f"<h:role>{role}</h:role>" if role else ""
    return (f'<h:setAuthorization xmlns:h="{HAB}"><h:action>{action}</h:action>{role_xml}'
            "</h:setAuthorization>")


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


def c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def golden(name: str) -> etree._Element:
    return etree.parse(str(GOLDEN / name), etree.XMLParser(remove_blank_text=True)).getroot()


def assert_valid(schema, element) -> None:
    errors = [f"{error.path}: {error.reason}" for error in schema.iter_errors(element)]
    assert not errors, errors


def assert_reply_addressing(answer: Answer, action: str) -> None:
    """Each WS-Addressing header once: the reply action, a fresh urn:uuid MessageID, the
    request's MessageID in RelatesTo, To anonymous."""
    counts = {name: len(answer.header(name))
              for name in ("Action", "MessageID", "RelatesTo", "To")}
    assert counts == {"Action": 1, "MessageID": 1, "RelatesTo": 1, "To": 1}, counts
    assert answer.header("Action")[0].text == action
    message_id = answer.header("MessageID")[0].text
    assert UUID_URN.match(message_id) and message_id != answer.request_message_id
    assert answer.header("RelatesTo")[0].text == answer.request_message_id
    assert answer.header("RelatesTo")[0].get("RelationshipType") in (
        None, "http://www.w3.org/2005/08/addressing/reply")
    assert answer.header("To")[0].text == ANONYMOUS


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
