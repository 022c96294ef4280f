"""An in-process DMP client for wire tests: sends the kit's envelopes (simulator.kit) to
a simulator app through werkzeug's test client and reads the answers."""
from __future__ import annotations

import re
import uuid
from pathlib import Path

from lxml import etree
from werkzeug.test import Client

from simulator.kit import hl7, registry, xds
from simulator.kit.habilitations import (  # noqa: F401 - set_authorization: for tests
    HAB, SET_AUTHORIZATION, set_authorization)
from simulator.kit.soap import SOAP_CT, envelope
from simulator.soap.mtom import split_related
from simulator.soap.parsing import content_type_parts, safe_parser

NOW = "2024-03-01T08:30:00Z"  # the simulated clock and every VIHF IssueInstant
BASE = "/si-dmp-server/v2/services"
SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
PAT = "urn:si-dmp-patients"
CREATE = "urn:hl7-org:v3:PRPA_IN201311UV02"
GOLDEN = Path(__file__).resolve().parents[1] / "wire" / "golden" / "dmp"
UUID_URN = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# A request each DMP v2 endpoint (TD0.0 included) answers in-band (HTTP 200) on an empty
# store, for ADRUN Zoé: {service: (body, action, reply action, envelope options)}
# (patientsSpecific, TD0.0 and TD0.5 name no patient in the VIHF).
IN_BAND_REQUESTS = {
    "patients": (hl7.query().decode(), "urn:hl7-org:v3:PRPA_IN201307UV02",
                 "urn:hl7-org:v3:PRPA_IN201308UV02", {}),
    "habilitations": (
        f'<h:listAuthorizationByPatient xmlns:h="{HAB}"><h:mode>TOUTE</h:mode>'
        "</h:listAuthorizationByPatient>",
        f"{HAB}:HabilitationsEndPoint:listAuthorizationByPatient",
        f"{HAB}:HabilitationsEndPoint:listAuthorizationByPatientResponse", {}),
    "patientsSpecific": (
        f'<p:patientList xmlns:p="{PAT}"><p:date>2022-01-01</p:date>'
        "<p:dateType>LASTAUTORIZATION</p:dateType></p:patientList>",
        f"{PAT}:PatientSpecificEndPoint:patientList",
        f"{PAT}:PatientSpecificEndPoint:patientListResponse", {"patient": None}),
    "registry": (registry.find_documents(), "urn:ihe:iti:2007:RegistryStoredQuery",
                 "urn:ihe:iti:2007:RegistryStoredQueryResponse", {}),
    "repository": (xds.retrieve_body((xds.REPOSITORY, xds.Doc().unique_id)),
                   xds.RETRIEVE_ACTION, "urn:ihe:iti:2007:RetrieveDocumentSetResponse", {}),
    "patientsPDQ": (hl7.find_candidates().decode(), "urn:hl7-org:v3:PRPA_IN201305UV02",
                    "urn:hl7-org:v3:PRPA_IN201306UV02", {"patient": None}),
    "patientCertif": (
        f'<p:identityCertification xmlns:p="{PAT}"><p:nirOD>2760763220901</p:nirOD>'
        "<p:dateNaissance>2012-05-10</p:dateNaissance><p:rangNaissance>1</p:rangNaissance>"
        "</p:identityCertification>",
        f"{PAT}:PatientCertificationEndPoint:identityCertification",
        f"{PAT}:PatientCertificationEndPoint:identityCertificationResponse", {"patient": None}),
}


class Answer:
    """One exchange: the HTTP response, the request's MessageID and the parsed envelope."""

    def __init__(self, response, request_message_id: str | None, root: bytes | None = None):
        self.response = response
        self.request_message_id = request_message_id
        self.envelope = etree.fromstring(response.data if root is None else root,
                                         safe_parser())

    def header(self, local_name: str) -> list[etree._Element]:
        """Every WS-Addressing header block of this name."""
        return self.envelope.findall(f"{{{SOAP}}}Header/{{{WSA}}}{local_name}")

    @property
    def body(self) -> etree._Element:
        """The one element child of soap:Body."""
        children = [c for c in self.envelope.find(f"{{{SOAP}}}Body") if isinstance(c.tag, str)]
        assert len(children) == 1, children
        return children[0]


class Dmp:
    """A DMP client of one simulator app, sending the builders' envelopes."""

    def __init__(self, app, now: str = NOW):
        self.http = Client(app)
        self.now = now  # the VIHF IssueInstant: the app's simulated time

    def call(self, service: str, body: str | bytes, action: str, **options) -> Answer:
        """Send ``body`` with WS-Addressing and a VIHF dated ``self.now``."""
        message_id = f"urn:uuid:{uuid.uuid4()}"
        body = body.decode("utf-8") if isinstance(body, bytes) else body
        raw = envelope(body, action=action, service=service, issue_instant=self.now,
                       message_id=message_id, **options)
        return self.send(service, raw, message_id)

    def send(self, service: str, raw: bytes, message_id: str | None,
             content_type: str = SOAP_CT) -> Answer:
        """Send prepared bytes."""
        return Answer(self.http.post(f"{BASE}/{service}", data=raw, content_type=content_type),
                      message_id)

    def create_dmp(self) -> None:
        """TD1.1 for ADRUN Zoé, the patient every VIHF of these tests names."""
        answer = self.call("patients", hl7.create(), CREATE)
        assert answer.body.find("{urn:hl7-org:v3}acknowledgement").get("typeCode") == "AA"

    def authorise(self, role: str | None = None) -> Answer:
        """TD0.3 AJOUT (with the médecin traitant role when asked)."""
        return self.call("habilitations", set_authorization("AJOUT", role), SET_AUTHORIZATION)

    def create_dmp_and_authorise(self) -> None:
        """TD1.1 then TD0.3 AJOUT, both accepted."""
        self.create_dmp()
        assert self.authorise().body.findtext(f"{{{HAB}}}status") == "DMPOK"

    def feed(self, **options) -> Answer:
        """TD2.1 of the builders' CDA document and its lot signature, as MTOM."""
        content_type, raw, _ = xds.iti41_mtom(issue_instant=self.now, **options)
        message_id = etree.fromstring(split_related(raw, content_type_parts(content_type)[1])[0]
                                      ).findtext(f".//{{{WSA}}}MessageID")
        return self.send("repository", raw, message_id, content_type)


def c14n(element: etree._Element) -> bytes:
    """Exclusive canonical form, for golden comparisons."""
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def golden(name: str) -> etree._Element:
    """A golden file of tests/wire/golden/dmp, blank text removed."""
    return etree.parse(str(GOLDEN / name), etree.XMLParser(remove_blank_text=True)).getroot()


def assert_reply_addressing(answer: Answer, action: str) -> None:
    """Each WS-Addressing header once: ``action``, a fresh urn:uuid MessageID, the
    request's MessageID in RelatesTo (when it had one), To anonymous."""
    expected = {"Action": 1, "MessageID": 1, "RelatesTo": int(bool(answer.request_message_id)),
                "To": 1}
    assert {name: len(answer.header(name)) for name in expected} == expected
    assert answer.header("Action")[0].text == action
    message_id = answer.header("MessageID")[0].text
    assert UUID_URN.match(message_id) and message_id != answer.request_message_id
    if answer.request_message_id:
        assert answer.header("RelatesTo")[0].text == answer.request_message_id
        assert answer.header("RelatesTo")[0].get("RelationshipType") in (
            None, "http://www.w3.org/2005/08/addressing/reply")
    assert answer.header("To")[0].text == ANONYMOUS
