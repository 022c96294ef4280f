"""The DMP's access rules and checks over a real socket, each with its real error
carrier (DMP.md §4, §6): XDS RegistryErrors in-band for consultation, feeding and
metadata problems; SOAP 1.2 faults that zeep raises for the VIHF and WS-Addressing.
After every refusal the server keeps answering."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
import requests
import zeep
from lxml import etree

from simulator.kit import hl7, registry as reg, soap, xds
from simulator.kit.hl7 import ADRUN
from dmp_live import (
    COLLEAGUE, DOCTOR, EMERGENCY, FAILURE, NS, REGULATOR, SUCCESS, WSA_HEADER_REQUIRED,
    WSSE_INVALID_SECURITY, entry_for, error_codes, error_contexts, hl7_ack, retrieve_raw,
    simulated_now, td02, unique_ids, unique_oid)

OTHER_INS = "188102B17295264"  # a Corsica-born test INS (DMP.md §7), without a DMP here
OTHER_CX = reg.cx(OTHER_INS)
HTTP_TIMEOUT = 10


def assert_still_serving(dmp) -> None:
    """A valid TD0.2 right after a refusal is answered normally."""
    answer = dmp.patients(hl7.query())
    assert answer.http.status_code == 200
    assert hl7_ack(answer.body)[0] == "AA"


def feed_one(dmp, caller=DOCTOR, **options):
    doc = xds.Doc(unique_id=unique_oid())
    return doc, dmp.feed((doc,), caller, **options)


def assert_refused(element: etree._Element, reason: str) -> None:
    """A Failure carrying one XDSRegistryError whose codeContext names ``reason``."""
    assert element.get("status") == FAILURE, etree.tostring(element)
    assert error_codes(element) == ["XDSRegistryError"]
    assert reason in error_contexts(element)[0], error_contexts(element)


def retrieve_refused(live_server, unique_id: str, caller, reason: str) -> None:
    http, envelope, parts = retrieve_raw(live_server.base_url, unique_id, caller)
    assert http.status_code == 200
    assert http.headers["Content-Type"].startswith("application/soap+xml")  # no MTOM
    assert parts == {}
    assert envelope.find(".//xdsb:DocumentResponse", NS) is None
    assert_refused(envelope.find(".//xdsb:RetrieveDocumentSetResponse/rs:RegistryResponse", NS),
                   reason)


def patient_admin(live_server, method: str, path: str = "", **json) -> dict:
    response = requests.request(method, live_server.url(f"/_admin/dmp/patients/{ADRUN}{path}"),
                                json=json, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


# --------------------------------------------------------------------------
# Consultation rules (XDS RegistryError in the query / retrieve answers)
# --------------------------------------------------------------------------


def test_consultation_needs_an_authorisation(dmp, adrun_dmp, live_server):
    doc, fed = feed_one(dmp)  # feeding needs none
    assert fed.status == SUCCESS

    found = dmp.registry(reg.find_documents())
    assert found.http.status_code == 200
    assert found.result._attr_1["status"] == FAILURE  # as zeep read it
    assert_refused(found.body, "NO_AUTHORISATION")
    assert found.body.find("rim:RegistryObjectList", NS) is not None
    assert unique_ids(found.body) == []

    retrieved = dmp.retrieve(doc.unique_id)
    assert retrieved.body.find("xdsb:DocumentResponse", NS) is None
    assert_refused(retrieved.body.find("rs:RegistryResponse", NS), "NO_AUTHORISATION")
    retrieve_refused(live_server, doc.unique_id, DOCTOR, "NO_AUTHORISATION")

    assert dmp.set_authorization().result.status == "DMPOK"
    assert doc.unique_id in unique_ids(dmp.registry(reg.find_documents()).body)


def test_bris_de_glace_without_authorisation_unless_the_patient_opposed(dmp, adrun_dmp,
                                                                        live_server):
    doc, fed = feed_one(dmp)
    assert fed.status == SUCCESS
    assert td02(dmp.patients(hl7.query(), EMERGENCY).body)[1] == "NON_EXISTE"

    found = dmp.registry(reg.find_documents(), EMERGENCY)
    assert found.body.get("status") == SUCCESS
    assert doc.unique_id in unique_ids(found.body)
    _, _, parts = retrieve_raw(live_server.base_url, doc.unique_id, EMERGENCY)
    assert list(parts.values()) == [doc.bytes()]
    # The same professional in normal mode has no authorisation.
    assert_refused(dmp.registry(reg.find_documents(), EMERGENCY.but(mode="normal")).body,
                   "NO_AUTHORISATION")

    changed = patient_admin(live_server, "PATCH", opposes_bris_de_glace=True)
    assert changed["dmp"]["opposes_bris_de_glace"] is True
    assert_refused(dmp.registry(reg.find_documents(), EMERGENCY).body,
                   "OPPOSITION_BRIS_DE_GLACE")
    retrieve_refused(live_server, doc.unique_id, EMERGENCY, "OPPOSITION_BRIS_DE_GLACE")
    # The opposition concerns bris de glace only: centre 15 and authorised access go on.
    assert doc.unique_id in unique_ids(dmp.registry(reg.find_documents(), REGULATOR).body)
    dmp.set_authorization()
    assert doc.unique_id in unique_ids(dmp.registry(reg.find_documents()).body)
    assert_still_serving(dmp)


def test_centre_15_refused_when_the_patient_opposed_it(dmp, adrun_dmp, live_server):
    assert dmp.registry(reg.find_documents(), REGULATOR).body.get("status") == SUCCESS
    patient_admin(live_server, "PATCH", opposes_centre_15=True)
    assert_refused(dmp.registry(reg.find_documents(), REGULATOR).body, "OPPOSITION_CENTRE_15")


def test_blocked_professional_is_refused_in_every_mode_and_for_feeding(dmp, adrun_dmp,
                                                                       live_server):
    card_holder = EMERGENCY.but(mode="normal")
    assert dmp.set_authorization(card_holder).result.status == "DMPOK"
    doc, fed = feed_one(dmp)
    assert fed.status == SUCCESS
    assert doc.unique_id in unique_ids(dmp.registry(reg.find_documents(), card_holder).body)

    blocked = patient_admin(live_server, "PUT", "/professionals",
                            professional_id=card_holder.user, blocked=True)
    assert blocked["professional"]["status"] == "INTERDIT"
    assert td02(dmp.patients(hl7.query(), card_holder).body)[1] == "INTERDIT"

    for caller in (card_holder, EMERGENCY, EMERGENCY.but(mode="centre_15")):
        assert_refused(dmp.registry(reg.find_documents(), caller).body, "PS_BLOCKED")
    retrieve_refused(live_server, doc.unique_id, EMERGENCY, "PS_BLOCKED")

    refused_doc, refused_feed = feed_one(dmp, card_holder)
    assert_refused(refused_feed.response, "PS_BLOCKED")
    assert dmp.set_authorization(card_holder).result.status == "DMPAccessDenied"

    # Another card holder in bris de glace still gets in; nothing was registered.
    others = unique_ids(dmp.registry(reg.find_documents(), EMERGENCY.but(user="899700218748"))
                        .body)
    assert doc.unique_id in others and refused_doc.unique_id not in others


def test_closed_dmp_refuses_feeds_and_consultation(dmp, adrun_dmp, live_server):
    dmp.set_authorization()
    doc, fed = feed_one(dmp)
    assert fed.status == SUCCESS
    assert hl7_ack(dmp.patients(hl7.close()).body) == ("AA", None)

    refused_doc, refused_feed = feed_one(dmp)
    assert_refused(refused_feed.response, "DMPClosed")
    for caller in (DOCTOR, EMERGENCY):
        assert_refused(dmp.registry(reg.find_documents(), caller).body, "DMP_CLOSED")
    retrieve_refused(live_server, doc.unique_id, DOCTOR, "DMP_CLOSED")

    assert hl7_ack(dmp.patients(hl7.reactivate()).body) == ("AA", None)
    found = unique_ids(dmp.registry(reg.find_documents()).body)
    assert doc.unique_id in found and refused_doc.unique_id not in found


def test_no_dmp_is_an_unknown_patient(dmp, live_server):
    doc, fed = feed_one(dmp)
    assert (fed.status, fed.error_codes) == (FAILURE, ["XDSUnknownPatientId"])
    found = dmp.registry(reg.find_documents(), EMERGENCY)
    assert (found.body.get("status"), error_codes(found.body)) == (FAILURE,
                                                                   ["XDSUnknownPatientId"])


# --------------------------------------------------------------------------
# SOAP faults: the VIHF and WS-Addressing
# --------------------------------------------------------------------------

VIHF_CASES = {
    "issue-instant-too-old": (DOCTOR.but(skew=timedelta(minutes=-11)), "IssueInstant"),
    "issue-instant-in-the-future": (DOCTOR.but(skew=timedelta(minutes=11)), "IssueInstant"),
    "no-LPS_Nom": (DOCTOR.but(LPS_Nom=None), "attribute LPS_Nom is missing"),
    "no-Identifiant_Structure": (DOCTOR.but(Identifiant_Structure=None),
                                 "attribute Identifiant_Structure is missing"),
    "no-resource-id": (DOCTOR.but(patient=None), soap.RESOURCE_ID),
    "unsigned-indirect": (DOCTOR.but(signed=False), "must be signed"),
    "bris-de-glace-without-card": (DOCTOR.but(mode="bris_de_glace"), "Authentification_Mode"),
}
CALLS = {
    "patients": lambda dmp, caller: dmp.patients(hl7.query(), caller),
    "habilitations": lambda dmp, caller: dmp.list_authorizations(caller),
    "registry": lambda dmp, caller: dmp.registry(reg.find_documents(), caller),
}


def catch_fault(dmp, service: str, call) -> zeep.exceptions.Fault:
    with pytest.raises(zeep.exceptions.Fault) as caught:
        call()
    client = dmp.client(service)
    assert client.transport.last_response.status_code == 500
    assert client.transport.last_response.headers["Content-Type"].startswith(
        "application/soap+xml")
    received = client.history.last_received["envelope"]
    sent = client.history.last_sent["envelope"]
    assert received.findtext("soap:Header/wsa:RelatesTo", namespaces=NS) == \
        sent.findtext("soap:Header/wsa:MessageID", namespaces=NS)
    return caught.value


@pytest.mark.parametrize("service", sorted(CALLS))
@pytest.mark.parametrize("case", sorted(VIHF_CASES))
def test_vihf_problems_are_soap_faults(dmp, adrun_dmp, service, case):
    caller, named = VIHF_CASES[case]
    fault = catch_fault(dmp, service, lambda: CALLS[service](dmp, caller))
    assert fault.code.split(":")[-1] == "Sender"
    assert [code.text for code in fault.subcodes] == [WSSE_INVALID_SECURITY]
    assert fault.message.startswith("The VIHF (wsse:Security) is refused: ")
    assert named in fault.message
    # The same call with a good VIHF goes through: the fault was the VIHF's.
    assert CALLS[service](dmp, DOCTOR).http.status_code == 200
    assert_still_serving(dmp)


def test_vihf_instants_are_read_on_the_simulated_clock(dmp, adrun_dmp, live_server):
    """IssueInstant is compared with the simulator's clock, not the machine's: a VIHF
    stamped with the wall-clock time is refused, and after the clock moves only the new
    simulated time is accepted."""
    before = simulated_now(live_server.base_url)
    wall = datetime.now(timezone.utc)
    assert abs(wall - before) > timedelta(days=1)  # the live servers run in 2025
    fault = catch_fault(dmp, "patients",
                        lambda: dmp.patients(hl7.query(), DOCTOR.but(skew=wall - before)))
    assert "IssueInstant" in fault.message and before.strftime("%Y-%m-%d") in fault.message

    live_server.set_clock("2025-06-01T12:00:00Z", frozen=True)
    moved = simulated_now(live_server.base_url)
    assert moved.isoformat().startswith("2025-06-01T12:00:00")
    assert hl7_ack(dmp.patients(hl7.query()).body)[0] == "AA"
    fault = catch_fault(dmp, "patients",
                        lambda: dmp.patients(hl7.query(), DOCTOR.but(skew=before - moved)))
    assert "2025-06-01T12:00:00" in fault.message


def test_vihf_naming_another_patient_than_the_message(dmp, adrun_dmp):
    fault = catch_fault(dmp, "patients",
                        lambda: dmp.patients(hl7.query(), DOCTOR.but(patient=OTHER_INS)))
    assert [code.text for code in fault.subcodes] == [WSSE_INVALID_SECURITY]
    assert soap.RESOURCE_ID.split(":")[-1] in fault.message
    assert OTHER_INS in fault.message and ADRUN in fault.message
    assert_still_serving(dmp)


@pytest.mark.parametrize("service", sorted(CALLS))
@pytest.mark.parametrize("header", ["Action", "MessageID"])
def test_missing_addressing_header_is_a_fault(dmp, adrun_dmp, service, header):
    client = dmp.client(service)
    with client.without_headers(f"{{{NS['wsa']}}}{header}"):
        fault = catch_fault(dmp, service, lambda: CALLS[service](dmp, DOCTOR))
    sent = client.history.last_sent["envelope"]
    assert sent.find(f"soap:Header/wsa:{header}", NS) is None
    assert [code.text for code in fault.subcodes] == [WSA_HEADER_REQUIRED]
    assert f"wsa:{header}" in fault.message
    assert_still_serving(dmp)


# --------------------------------------------------------------------------
# TD2.1 metadata checks (RegistryResponse Failure, nothing registered)
# --------------------------------------------------------------------------


def _other_hash(content: bytes):
    return lambda body: body.replace(hashlib.sha1(content).hexdigest(),
                                     hashlib.sha1(b"another document").hexdigest())


def _feed_case(case: str, unique_id: str):
    """(documents, feed options) of a faulty TD2.1."""
    doc = xds.Doc(unique_id=unique_id)
    if case == "patient-id-not-the-vihf-patient":
        return (doc,), {"patient_id": OTHER_CX}
    if case == "hash-mismatch":
        return (doc,), {"tweak": _other_hash(doc.bytes())}
    if case == "cda-record-target-another-ins":
        return (xds.Doc(unique_id=unique_id, content=xds.cda_document(
            ins=OTHER_INS, unique_id=unique_id)),), {}
    raise AssertionError(case)


@pytest.mark.parametrize("case, code, said", [
    ("patient-id-not-the-vihf-patient", "XDSPatientIdDoesNotMatch", "resource-id"),
    ("hash-mismatch", "XDSNonIdenticalHash", "hash slot"),
    ("cda-record-target-another-ins", "XDSPatientIdDoesNotMatch", "recordTarget"),
])
def test_metadata_errors_fail_the_whole_feed(dmp, adrun_dmp, case, code, said):
    dmp.set_authorization()
    unique_id = unique_oid()
    documents, options = _feed_case(case, unique_id)
    fed = dmp.feed(documents, **options)
    assert fed.status == FAILURE
    assert code in fed.error_codes
    assert any(said in context for context in error_contexts(fed.response)), \
        error_contexts(fed.response)
    assert fed.response.find("rs:RegistryErrorList", NS).get("highestSeverity").endswith(
        ":Error")
    found = dmp.registry(reg.find_documents())
    assert found.body.get("status") == SUCCESS and unique_ids(found.body) == []
    assert_still_serving(dmp)


def test_duplicate_unique_id_is_refused(dmp, adrun_dmp):
    dmp.set_authorization()
    doc = xds.Doc(unique_id=unique_oid())
    assert dmp.feed((doc,)).status == SUCCESS
    again = dmp.feed((doc,))
    assert (again.status, again.error_codes) == (FAILURE, ["XDSDuplicateUniqueIdInRegistry"])
    assert doc.unique_id in error_contexts(again.response)[0]
    found = dmp.registry(reg.find_documents())
    assert entry_for(found.body, doc.unique_id) is not None  # still exactly one
    assert len(unique_ids(found.body)) == 2  # the document and its lot signature
    assert_still_serving(dmp)


def test_other_professional_sees_the_same_registry(dmp, adrun_dmp):
    """Control for the refusals above: with an authorisation, a second professional
    finds exactly what the first fed."""
    dmp.set_authorization(COLLEAGUE)
    doc, fed = feed_one(dmp)
    assert fed.status == SUCCESS
    assert doc.unique_id in unique_ids(dmp.registry(reg.find_documents(), COLLEAGUE).body)
