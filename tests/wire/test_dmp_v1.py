"""DMP API v1 at /si-dmp-server/v1/services: the v2 transactions with patients named by
INS-C, one DMP per patient whichever version is used, v1 feeds counted as INS-C, the
published WSDLs at the v1 address, and the timeline (open, grace, closed)."""
from __future__ import annotations

import uuid

import pytest
from lxml import etree

from simulator.kit import hl7, registry, xds
from dmp_builders.client import (
    CREATE, HAB, SET_AUTHORIZATION, SOAP, Answer, Dmp, c14n, golden, set_authorization)
from simulator.kit.soap import ADRUN, RESOURCE_ID, SOAP_CT, TEST_OID, envelope
from simulator.identities.insc import insc_of
from simulator.settings import parse_datetime
from simulator.soap.mtom import split_related
from simulator.soap.parsing import content_type_parts

V1 = "/si-dmp-server/v1/services"
INS_C = "1.2.250.1.213.1.4.2"
QUERY = "urn:hl7-org:v3:PRPA_IN201307UV02"
STORED_QUERY = "urn:ihe:iti:2007:RegistryStoredQuery"
UPDATE = "urn:ihe:iti:2010:UpdateDocumentSet"
HL7 = "{urn:hl7-org:v3}"
RS = "{urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0}"
RIM = "{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
DE_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
DE_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
REPORT = "1.2.250.1.999.1.1.8121.21.1"  # uniqueId of the report fed through v1
SOFTWARE = "MON-DPI-4.2"  # LPS_Nom-LPS_Version of the builders' VIHF


class DmpV1(Dmp):
    """The wire-test client, sending to the v1 services, the VIHF naming the patient by
    ``insc``."""

    def __init__(self, app, now: str, insc: str):
        super().__init__(app, now)
        self.insc = insc

    def send(self, service, raw, message_id, content_type=SOAP_CT):
        raw = raw.replace(b"/si-dmp-server/v2/services/", f"{V1}/".encode())  # wsa:To
        return Answer(self.http.post(f"{V1}/{service}", data=raw, content_type=content_type),
                      message_id)

    def call(self, service, body, action, **options):
        options.setdefault("patient", self.insc)
        options.setdefault("oid", INS_C)
        return super().call(service, body, action, **options)

    def query(self, **options) -> Answer:
        """TD0.2 by INS-C."""
        return self.call("patients", hl7.query(ins=self.insc, ins_oid=INS_C), QUERY, **options)

    def create_dmp(self) -> None:
        answer = self.call("patients", hl7.create(ins=self.insc, ins_oid=INS_C), CREATE)
        assert ack(answer) == "AA", etree.tostring(answer.body)

    def feed(self, unique_id: str = "1.2.250.1.999.1.1.8121.21.1", patient_id: str | None = None
             ) -> Answer:
        """TD2.1 (MTOM) of a CDA report whose recordTarget and patientId are the INS-C."""
        cx = patient_id or f"{self.insc}^^^&{INS_C}&ISO^NH"
        suffix = unique_id.rsplit(".", 1)[-1]
        request = xds.provide_and_register(
            (xds.Doc(unique_id=unique_id, content=xds.cda_document(
                ins=self.insc, oid=INS_C, unique_id=unique_id)),),
            patient_id=cx, xop=True, set_unique_id=f"1.2.250.1.999.1.1.8121.7.{suffix}",
            signature_unique_id=f"1.2.250.1.999.1.1.8121.9.{suffix}")
        message_id = f"urn:uuid:{uuid.uuid4()}"
        root = envelope(request.body, action=xds.PNR_ACTION, service="repository",
                        issue_instant=self.now, message_id=message_id, patient=self.insc,
                        oid=INS_C)
        content_type, raw = xds.mtom_package(
            root, [(request.content_ids[e], c) for e, c in request.contents.items()])
        return self.send("repository", raw, message_id, content_type)

    def find_documents(self, patient_id: str | None = None) -> Answer:
        return self.call("registry", registry.find_documents(
            patient_id or f"{self.insc}^^^&{INS_C}&ISO^NH"), STORED_QUERY)

    def retrieve(self, unique_id: str) -> dict[str, bytes]:
        """TD3.2: {content-id: bytes} of the MTOM answer's parts."""
        raw = envelope(xds.retrieve_body((xds.REPOSITORY, unique_id)), action=xds.RETRIEVE_ACTION,
                       service="repository", issue_instant=self.now, patient=self.insc,
                       oid=INS_C)
        response = self.http.post(f"{V1}/repository", data=raw, content_type=SOAP_CT)
        media_type, params = content_type_parts(response.headers["Content-Type"])
        assert (response.status_code, media_type) == (200, "multipart/related"), response.data
        return split_related(response.data, params)[1]


def simulator_at(make_app, now: str):
    return make_app(date=parse_datetime(now), frozen=True, population=0)


def insc_of_ins(app, ins: str) -> str:
    store = app.simulator.store
    return insc_of(store.identities_by_matricule(ins[:13], ("active",))[0])


def clients(make_app, now: str) -> tuple[Dmp, DmpV1]:
    """A v2 and a v1 client of one fresh simulator, both for ADRUN Zoé."""
    app = simulator_at(make_app, now)
    return Dmp(app, now), DmpV1(app, now, insc_of_ins(app, ADRUN))


def ack(answer: Answer) -> str:
    return answer.body.find(f"{HL7}acknowledgement").get("typeCode")


def td02(answer: Answer) -> tuple[str, list[tuple[str, str]]]:
    """(queryResponseCode, [(root, extension)] of subject1/patient/id)."""
    code = answer.body.find(f".//{HL7}queryAck/{HL7}queryResponseCode").get("code")
    ids = [(i.get("root"), i.get("extension")) for i in answer.body.iterfind(
        f".//{HL7}registrationEvent/{HL7}subject1/{HL7}patient/{HL7}id")]
    return code, ids


def fault(answer: Answer) -> tuple[int, str, str | None]:
    """(HTTP status, reason, subcode) of a SOAP fault answer."""
    body = answer.body
    assert body.tag == f"{{{SOAP}}}Fault", etree.tostring(body)
    return (answer.response.status_code, body.findtext(f"{{{SOAP}}}Reason/{{{SOAP}}}Text"),
            body.findtext(f"{{{SOAP}}}Code/{{{SOAP}}}Subcode/{{{SOAP}}}Value"))


def external_ids(answer: Answer, scheme: str) -> set[str]:
    """Values of the DocumentEntry ExternalIdentifiers of ``scheme`` in a LeafClass answer
    (the report and its lot signature)."""
    return {ei.get("value") for ei in answer.body.iterfind(f".//{RIM}ExternalIdentifier")
            if ei.get("identificationScheme") == scheme}


def external_ids_of(obj: etree._Element, scheme: str) -> set[str]:
    return {ei.get("value") for ei in obj.iterfind(f"{RIM}ExternalIdentifier")
            if ei.get("identificationScheme") == scheme}


def reports(answer: Answer) -> set[str]:
    """uniqueIds of the documents found, lot signatures aside."""
    return {uid for uid in external_ids(answer, DE_UNIQUE_ID) if ".8121.21." in uid}


# --- the transactions by INS-C --------------------------------------------------------

def test_a_v1_client_runs_the_dmp_by_insc(make_app):
    _, v1 = clients(make_app, "2022-12-10T09:00:00Z")
    assert td02(v1.query()) == ("NF", [])
    v1.create_dmp()
    code, ids = td02(v1.query())
    assert (code, ids) == ("OK", [(INS_C, v1.insc)])  # v1 answers name the INS-C only
    assert v1.call("habilitations", set_authorization(), SET_AUTHORIZATION).body.findtext(
        f"{{{HAB}}}status") == "DMPOK"
    assert v1.feed().body.get("status") == SUCCESS
    found = v1.find_documents()
    assert found.body.get("status") == SUCCESS and reports(found) == {REPORT}
    assert external_ids(found, DE_PATIENT_ID) == {f"{v1.insc}^^^&{INS_C}&ISO^NH"}
    content = xds.cda_document(ins=v1.insc, oid=INS_C, unique_id=REPORT)
    assert list(v1.retrieve(REPORT).values()) == [content]
    entry = next(o.get("id") for o in found.body.iter(f"{RIM}ExtrinsicObject")
                 if REPORT in external_ids_of(o, DE_UNIQUE_ID))
    deleted = v1.call("registry", registry.delete(
        entry, patient=f"{v1.insc}^^^&{INS_C}&ISO^NH"), UPDATE)
    assert deleted.body.get("status") == SUCCESS
    assert reports(v1.find_documents()) == set()
    timeline = v1.http.application.simulator.store.timeline
    assert [(f["kind"], f["documents"], f["software"]) for f in timeline.feeds()] == [
        ("ins-c", 1, SOFTWARE)]
    usage = {(u["api"], u["identifier"]) for u in timeline.usage()}
    assert usage == {("dmp-v1", "INS-C")}


def test_the_vihf_may_write_cx5_insc(make_app):
    _, v1 = clients(make_app, "2022-12-10T09:00:00Z")
    v1.create_dmp()
    answer = v1.query(**{RESOURCE_ID: f"{v1.insc}^^^&{INS_C}&ISO^INS-C"})
    assert td02(answer)[0] == "OK"


def test_a_dmp_created_in_v2_is_the_one_v1_sees_by_insc(make_app):
    v2, v1 = clients(make_app, "2022-12-10T09:00:00Z")
    v2.create_dmp_and_authorise()
    answer = v1.query()
    assert td02(answer) == ("OK", [(INS_C, v1.insc)])
    line = answer.body.find(f"{HL7}attentionLine/{HL7}value")
    assert line.get("code") == "VALIDE"  # the v2 authorisation is on the same DMP
    again = v1.call("patients", hl7.create(ins=v1.insc, ins_oid=INS_C), CREATE)
    assert ack(again) == "AE"
    assert again.body.find(f".//{HL7}acknowledgementDetail/{HL7}code").get("code") == "DMPFound"


def test_a_dmp_created_in_v1_is_the_one_v2_sees_by_ins(make_app):
    v2, v1 = clients(make_app, "2022-12-10T09:00:00Z")
    v1.create_dmp()
    code, ids = td02(v2.call("patients", hl7.query(), QUERY))
    # v2 lists the INS (with the OID the registry gives it, as INSi does) and, for
    # compatibility, the INS-C the DMP was created with.
    identity = v2.http.application.simulator.store.identity_by_insc(v1.insc)
    assert (code, ids) == ("OK", [(identity.active.oid, ADRUN), (INS_C, v1.insc)])
    again = v2.call("patients", hl7.create(), CREATE)
    assert ack(again) == "AE"


def test_v1_fed_documents_carry_the_insc_and_v2_queries_by_ins_do_not_find_them(make_app):
    v2, v1 = clients(make_app, "2022-12-10T09:00:00Z")
    v2.create_dmp_and_authorise()
    assert v1.feed().body.get("status") == SUCCESS
    assert reports(v1.find_documents()) == {REPORT}
    by_ins = v2.call("registry", registry.find_documents(), STORED_QUERY)
    assert by_ins.body.get("status") == SUCCESS and reports(by_ins) == set()
    fed_by_ins = "1.2.250.1.999.1.1.8121.21.9"
    assert v2.feed(documents=(xds.Doc(unique_id=fed_by_ins),),
                   set_unique_id="1.2.250.1.999.1.1.8121.7.9",
                   signature_unique_id="1.2.250.1.999.1.1.8121.9.9").body.get("status") == SUCCESS
    by_ins = v2.call("registry", registry.find_documents(), STORED_QUERY)
    assert reports(by_ins) == {fed_by_ins}
    assert reports(v1.find_documents()) == {REPORT}  # each sees the documents of its id
    v2_entry = next(o.get("id") for o in by_ins.body.iter(f"{RIM}ExtrinsicObject")
                    if fed_by_ins in external_ids_of(o, DE_UNIQUE_ID))
    across = v1.call("registry", registry.delete(
        v2_entry, patient=f"{v1.insc}^^^&{INS_C}&ISO^NH"), UPDATE)
    assert across.body.get("status") == FAILURE
    assert "XDSPatientIdDoesNotMatch" in {e.get("errorCode")
                                          for e in across.body.iter(f"{RS}RegistryError")}


# --- identifiers refused ------------------------------------------------------------

def test_v1_refuses_the_ins_in_the_vihf(make_app):
    v2, v1 = clients(make_app, "2022-12-10T09:00:00Z")
    v2.create_dmp()
    status, reason, subcode = fault(v1.query(patient=ADRUN, oid=TEST_OID))
    assert (status, subcode) == (500, "wsse:InvalidSecurity")
    assert "DMP API v1 identifies patients by the INS-C" in reason and TEST_OID in reason


def test_v1_refuses_the_ins_in_an_hl7_message_and_in_xds(make_app):
    v2, v1 = clients(make_app, "2022-12-10T09:00:00Z")
    v2.create_dmp_and_authorise()
    answer = v1.call("patients", hl7.query(), QUERY)  # the VIHF by INS-C, the body by INS
    assert answer.body.find(f"{HL7}acknowledgement").get("typeCode") == "AE"
    assert "DMP API v1 identifies patients by the INS-C" in answer.body.findtext(
        f".//{HL7}acknowledgementDetail/{HL7}text")
    fed = v1.feed(patient_id=xds.PATIENT_ID)
    assert fed.body.get("status") == FAILURE
    assert any("DMP API v1 identifies patients by the INS-C" in e.get("codeContext")
               for e in fed.body.iter(f"{RS}RegistryError"))
    assert v1.http.application.simulator.store.dmp.count_documents() == 0


def test_v2_refuses_the_insc(make_app):
    v2, v1 = clients(make_app, "2022-12-10T09:00:00Z")
    v2.create_dmp()
    status, reason, subcode = fault(v2.call("patients", hl7.query(ins=v1.insc, ins_oid=INS_C),
                                            QUERY, patient=v1.insc, oid=INS_C))
    assert (status, subcode) == (500, "wsse:InvalidSecurity")
    assert "l'INSc n'est plus reconnu par le DMP en V2" in reason


@pytest.mark.parametrize("which", ["unknown", "bad key"])
def test_an_insc_of_nobody_is_refused_with_the_vihf_fault(make_app, which):
    _, v1 = clients(make_app, "2022-12-10T09:00:00Z")
    body = v1.insc[:20]
    if which == "unknown":  # another body with its right key
        body = "%020d" % ((int(body) + 1) % 10 ** 20)
        insc = body + "%02d" % (97 - int(body) % 97)
        expected = f"has the INS-C {insc}"
    else:
        insc = body + "%02d" % ((int(v1.insc[20:]) + 1) % 100)
        expected = "is not an INS-C"
    status, reason, subcode = fault(v1.query(patient=insc))
    assert (status, subcode) == (500, "wsse:InvalidSecurity") and expected in reason


# --- what v1 offers and publishes ----------------------------------------------------

@pytest.mark.parametrize("service", ["patients", "habilitations", "registry", "repository"])
def test_v1_wsdls_are_served_with_the_v1_address(make_app, service):
    _, v1 = clients(make_app, "2022-12-10T09:00:00Z")
    response = v1.http.get(f"{V1}/{service}", query_string="wsdl")
    assert response.status_code == 200
    wsdl = etree.fromstring(response.data)
    addresses = [a.get("location") for a in wsdl.iter(
        "{http://schemas.xmlsoap.org/wsdl/soap12/}address")]
    assert addresses == [f"http://localhost{V1}/{service}"]


@pytest.mark.parametrize("service", ["patientsSpecific", "patientCertif"])
def test_v2_only_services_are_not_in_v1(make_app, service):
    _, v1 = clients(make_app, "2022-12-10T09:00:00Z")
    assert v1.http.get(f"{V1}/{service}", query_string="wsdl").status_code == 404
    assert v1.http.post(f"{V1}/{service}", data=b"<x/>", content_type=SOAP_CT).status_code == 404


# --- the timeline -------------------------------------------------------------------

OTHER = {"LPS_Nom": "AUTRE-DPI", "Identifiant_Structure": "10B0999999"}


def test_in_december_2022_a_v1_call_registers_the_software_for_the_grace(make_app):
    _, v1 = clients(make_app, "2022-12-10T09:00:00Z")
    answer = v1.query()
    assert answer.response.status_code == 200 and "Deprecation" not in answer.response.headers
    registrations = v1.http.application.simulator.store.timeline.registrations()
    assert {(r["kind"], r["name"], r["api"], r["source"]) for r in registrations} == {
        ("software", SOFTWARE, "dmp-v1", "flow"), ("structure", "10B0167011", "dmp-v1", "flow")}


def test_in_november_2022_a_v1_call_registers_nothing(make_app):
    _, v1 = clients(make_app, "2022-11-20T09:00:00Z")
    assert v1.query().response.status_code == 200
    assert v1.http.application.simulator.store.timeline.registrations() == []


def test_in_the_grace_registered_software_is_served_deprecated_and_others_refused(make_app):
    v2, v1 = clients(make_app, "2023-01-15T09:00:00Z")
    sim = v1.http.application.simulator
    sim.store.timeline.register_grace("software", SOFTWARE, "dmp-v1", "admin",
                                      sim.clock.now())
    v2.create_dmp()
    served = v1.query()
    assert served.response.status_code == 200 and td02(served)[0] == "OK"
    assert served.response.headers["Deprecation"] == "@1672531200"  # 2023-01-01
    assert served.response.headers["Sunset"] == "Sat, 29 Apr 2023 00:00:00 GMT"
    status, reason, subcode = fault(v1.query(**OTHER))
    assert status == 500 and subcode is None
    assert reason.startswith("This DMP interface is closed to this software: dmp-v1-grace:")
    assert "AUTRE-DPI-4.2" in reason and "2022-12-01 to 2022-12-31" in reason
    assert fault(v1.query(**OTHER))[1] == reason  # the same every time
    assert "Deprecation" not in v2.call("patients", hl7.query(), QUERY).response.headers


def test_from_2023_04_29_v1_is_refused_for_everyone(make_app):
    v2, v1 = clients(make_app, "2023-04-29T09:00:00Z")
    sim = v1.http.application.simulator
    sim.store.timeline.register_grace("software", SOFTWARE, "dmp-v1", "admin",
                                      sim.clock.now())
    for options in ({}, OTHER, {"patient": ADRUN, "oid": TEST_OID}):
        status, reason, _ = fault(v1.query(**options))
        assert reason.startswith("This DMP interface is closed to this software: "
                                 "dmp-v1-closed: DMP API v1 refused for everyone since "
                                 "2023-04-29"), reason
    assert c14n(v1.query().body) == c14n(golden("fault-v1-closed.xml"))
    v2.create_dmp_and_authorise()
    assert v2.feed().body.get("status") == SUCCESS  # a qualified INS on v2 still feeds


def test_v1_applies_the_authentication_modes_as_v2(make_app):
    # DMP brief §4.1 for every API: INDIRECTE feeds and finds its entry (TD3.1b) by INS-C,
    # but does not search nor retrieve.
    _, v1 = clients(make_app, "2022-12-10T09:00:00Z")
    v1.create_dmp()
    indirect = {"Authentification_Mode": "INDIRECTE"}
    assert v1.call("habilitations", set_authorization(), SET_AUTHORIZATION, **indirect
                   ).body.findtext(f"{{{HAB}}}status") == "DMPOK"
    refused = v1.call("registry", registry.find_documents(f"{v1.insc}^^^&{INS_C}&ISO^NH"),
                      STORED_QUERY, **indirect)
    assert [(e.get("errorCode"), e.get("codeContext")[:34]) for e in refused.body.iter(
        f"{RS}RegistryError")] == [("XDSRegistryError", "DMPAccessDenied: AUTH_MODE: TD3.1a")]
    assert v1.feed().body.get("status") == SUCCESS
    found = v1.call("registry", registry.get_documents(unique_ids=[REPORT]), STORED_QUERY,
                    **indirect)
    assert found.body.get("status") == SUCCESS
    assert len(list(found.body.iter(f"{RIM}ObjectRef"))) == 1
