"""The HL7 v3 answers of the DMP patients service, against hand-written golden messages.

Each golden file (tests/wire/golden/dmp/hl7-*.xml) is compared as canonical XML (C14N
1.0, comments and indentation dropped), so a change of element order, namespace,
prefix or value fails. Requests come from the client-like builders and go through the
parser first, so the chain builder -> parser -> renderer is exercised as a whole.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from simulator.kit import hl7 as build
from simulator.services.dmp.access import Authorisation, mode_allows
from simulator.services.dmp.hl7.requests import Hl7RequestError, parse_patient_request
from simulator.services.dmp.hl7.responses import (
    can_answer_in_hl7, render_acceptance, render_query_response, render_rejection,
    render_request_error)
from simulator.services.dmp.hl7.transmission import hl7_time
from simulator.services.dmp.ins_oid import oid_refusal
from simulator.services.dmp.records import ACTIVE, CLOSED, DmpRecord, PatientTraits
from simulator.soap.parsing import safe_parser

GOLDEN = Path(__file__).parent / "golden" / "dmp"
NS = {"h": "urn:hl7-org:v3"}
MESSAGE_ID = "2b7c1e44-9f0d-4c1a-8e65-3d9a0b7f5c21"
NOW = datetime(2024, 3, 1, 11, 0, tzinfo=timezone(timedelta(hours=1)))  # 10:00 UTC
CREATED = datetime(2021, 5, 10, 8, 0, tzinfo=timezone.utc)
ADRUN = PatientTraits(birth_name="ADRUN", given_names="ZOE", sex="F", birth_date="1975-12-31")


def record(**changes) -> DmpRecord:
    values = dict(ins="275126322074974", ins_oid="1.2.250.1.213.1.4.10", status=ACTIVE,
                  traits=ADRUN, created_at=CREATED, updated_at=CREATED)
    return DmpRecord(**{**values, **changes})


FOUND = record(traits=PatientTraits(birth_name="ADRUN", given_names="ZOE", sex="F",
                                    birth_date="1975-12-31", used_name="DUPONT"),
               linked_to_mes=True, insc="0875126322074974123456")
CLOSED_RECORD = record(status=CLOSED, closed_at=datetime(2024, 2, 15, 8, 30, tzinfo=timezone.utc),
                       close_reason="FERMETURE_DEMANDE_PATIENT", close_text=build.CLOSE_TEXT)
FULL = record(traits=PatientTraits(
    birth_name="ADRUN", given_names="ZOE MARIE", sex="F", birth_date="1975-12-31",
    used_name="MARTIN", telecoms=("tel:0102030405", "mailto:zoe.adrun@example.org"),
    address=("1 rue du Chat qui Peche", "Batiment B", "75005", "PARIS")),
    opposes_bris_de_glace=True, linked_to_mes=True)
BLOCKED = "Accès bloqué par le patient depuis Mon espace santé"


def request(xml: bytes):
    return parse_patient_request(etree.fromstring(xml, safe_parser()))


def canonical(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", with_comments=False)


def golden(name: str) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True, remove_comments=True,
                             resolve_entities=False, no_network=True)
    return canonical(etree.parse(str(GOLDEN / name), parser).getroot())


def answer_query(xml: bytes, found: DmpRecord | None, authorisation: Authorisation,
                 medecin_traitant: bool = False, blocked_reason: str | None = None):
    return render_query_response(request(xml), message_id=MESSAGE_ID, now=NOW, record=found,
                                 authorisation=authorisation, medecin_traitant=medecin_traitant,
                                 blocked_reason=blocked_reason)


def refusal(xml: bytes, **options) -> etree._Element:
    body = etree.fromstring(xml, safe_parser())
    with pytest.raises(Hl7RequestError) as caught:
        parse_patient_request(body, **options)
    return render_request_error(body, caught.value, message_id=MESSAGE_ID, now=NOW)


CASES = {
    "hl7-td02-found-valide.xml": lambda: answer_query(
        build.query(), FOUND, Authorisation.VALIDE, medecin_traitant=True),
    "hl7-td02-not-found.xml": lambda: answer_query(build.query(), None, Authorisation.NON_EXISTE),
    "hl7-td02-closed-interdit.xml": lambda: answer_query(
        build.query(), CLOSED_RECORD, Authorisation.INTERDIT, blocked_reason=BLOCKED),
    "hl7-td13a-cnslt-data.xml": lambda: answer_query(
        build.query("CNSLT_DATA"), FULL, Authorisation.EXPIRE),
    "hl7-td11-accepted.xml": lambda: render_acceptance(
        request(build.create()), message_id=MESSAGE_ID, now=NOW),
    "hl7-td14-accepted.xml": lambda: render_acceptance(
        request(build.close()), message_id=MESSAGE_ID, now=NOW),
    "hl7-td11-rejected-dmpfound.xml": lambda: render_rejection(
        request(build.create()), message_id=MESSAGE_ID, now=NOW, code="DMPFound",
        text="Un DMP existe déjà pour ce patient"),
    "hl7-td14-rejected-dmpclosed.xml": lambda: render_rejection(
        request(build.close()), message_id=MESSAGE_ID, now=NOW, code="DMPClosed",
        text="Le DMP de ce patient est déjà fermé"),
    "hl7-td02-request-error.xml": lambda: refusal(build.query(ins="2751263220749")),
    "hl7-td02-rejected-access-denied.xml": lambda: render_rejection(
        request(build.query()), message_id=MESSAGE_ID, now=NOW, code="DMPAccessDenied",
        text=mode_allows("INDIRECTE", "TD0.2", ("TD0.2",)).reason + ": "
        + mode_allows("INDIRECTE", "TD0.2", ("TD0.2",)).message),
    "hl7-td02-ins-oid-refused.xml": lambda: refusal(
        build.query(ins_oid="1.2.250.1.213.1.4.9"), ins_oid_refusal=lambda ins, oid: oid_refusal(
            "NIR", ins, oid, "test")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_answer_matches_its_golden_message(name):
    assert canonical(CASES[name]()) == golden(name)


def test_every_hl7_golden_file_is_tested():
    assert sorted(p.name for p in GOLDEN.glob("hl7-*.xml")) == sorted(CASES)


def test_comparison_sees_prefixes_order_and_namespaces():
    rendered = CASES["hl7-td02-not-found.xml"]()
    expected = golden("hl7-td02-not-found.xml")
    prefixed = etree.fromstring(canonical(rendered).replace(b'xmlns="urn:hl7-org:v3"',
                                                           b'xmlns:hl7="urn:hl7-org:v3"')
                                .replace(b"<", b"<hl7:").replace(b"<hl7:/", b"</hl7:"))
    assert canonical(prefixed) != expected
    swapped = etree.fromstring(canonical(rendered))
    swapped.insert(3, swapped[4])  # processingModeCode before processingCode
    assert canonical(swapped) != expected
    assert canonical(rendered) == expected


# --- read as the clients of the brief read them ---------------------------------------

def test_td02_as_the_kit_and_mediboard_read_it():
    answer = answer_query(build.query(message_id="m-42"), CLOSED_RECORD, Authorisation.INTERDIT,
                          blocked_reason=BLOCKED)
    read = lambda path: answer.xpath(path, namespaces=NS)  # noqa: E731
    assert read("string(h:acknowledgement/@typeCode)") == "AA"
    assert read("string(h:acknowledgement/h:targetMessage/h:id/@extension)") == "m-42"
    assert read("string(h:controlActProcess/h:queryAck/h:queryResponseCode/@code)") == "OK"
    event = "h:controlActProcess/h:subject/h:registrationEvent"
    assert read(f"string({event}/h:statusCode/@code)") == "completed"
    assert read(f"string({event}/h:subject1/h:patient/h:statusCode/@code)") == "terminated"
    assert read(f"string({event}/h:effectiveTime/@value)") == "20240215083000"
    assert read("string(h:controlActProcess/h:reasonOf/h:detectedIssueEvent/h:code/@code)") == \
        "FERMETURE_DEMANDE_PATIENT"
    assert read("string(h:attentionLine[h:keyWordText/@code='AUTORISATION']/h:value/@code)") == \
        "INTERDIT"
    assert read("string(h:attentionLine[h:keyWordText/@code='STATUT_MT']/h:value/@value)") == \
        "false"
    person = f"{event}/h:subject1/h:patient/h:patientPerson"
    assert read(f"string({person}/h:name/h:family[@qualifier='BR'])") == "ADRUN"
    assert read(f"string({person}/h:name/h:family[@qualifier='SP'])") == "NON RENSEIGNE"


def test_td02_ids_list_the_ins_and_the_insc():
    answer = answer_query(build.query(), FOUND, Authorisation.VALIDE)
    ids = answer.xpath("//h:subject1/h:patient/h:id", namespaces=NS)
    assert [(i.get("root"), i.get("extension")) for i in ids] == [
        ("1.2.250.1.213.1.4.10", "275126322074974"),
        ("1.2.250.1.213.1.4.2", "0875126322074974123456")]


def test_blocked_reason_only_with_interdit():
    answer = answer_query(build.query(), FOUND, Authorisation.VALIDE, blocked_reason=BLOCKED)
    assert not answer.xpath("//h:originalText", namespaces=NS)


def test_cnslt_data_gives_the_observations_mediboard_reads():
    answer = answer_query(build.query("CNSLT_DATA"), FULL, Authorisation.VALIDE)
    observations = {o.xpath("string(h:code/@code)", namespaces=NS):
                    o.xpath("string(h:value/@value)", namespaces=NS)
                    for o in answer.xpath("//h:patient/h:subjectOf/h:administrativeObservation",
                                          namespaces=NS)}
    assert observations == {"OPPOSITION_BRIS_DE_GLACE": "true",
                            "OPPOSITION_ACCES_URGENCE": "false", "COMPTE_INTERNET_OUVERT": "false",
                            "RATTACHEMENT_ENS": "true"}


def test_rejection_as_the_kit_reads_it():
    answer = render_rejection(request(build.reactivate(message_id="r-7")), message_id="x",
                              now=NOW, code="DMPFound", text="Le DMP est déjà actif")
    assert etree.QName(answer).localname == "PRPA_IN201316UV02"
    detail = answer.xpath("h:acknowledgement/h:acknowledgementDetail", namespaces=NS)[0]
    assert detail.xpath("string(h:code/@code)", namespaces=NS) == "DMPFound"
    assert detail.findtext("h:text", namespaces=NS) == "Le DMP est déjà actif"
    assert answer.xpath("string(h:acknowledgement/h:targetMessage/h:id/@extension)",
                        namespaces=NS) == "r-7"


def test_answers_go_back_to_the_sender():
    answer = render_acceptance(request(build.modify(sender_oid="1.2.250.1.42", sender_name="EAI")),
                               message_id="x", now=NOW)
    device = answer.xpath("h:receiver/h:device", namespaces=NS)[0]
    assert device.xpath("string(h:id/@root)", namespaces=NS) == "1.2.250.1.42"
    assert device.findtext("h:softwareName", namespaces=NS) == "EAI"
    assert answer.xpath("string(h:sender/h:device/h:id/@root)", namespaces=NS) == \
        "1.2.250.1.213.4.1.1.1"


def test_registration_errors_answer_with_the_reject_interaction():
    answer = refusal(build.create(consent=False))
    assert etree.QName(answer).localname == "PRPA_IN201313UV02"
    assert answer.xpath("string(h:acknowledgement/@typeCode)", namespaces=NS) == "AE"
    assert "CONSENTEMENT_OUVERTURE_DMP" in answer.xpath(
        "string(h:acknowledgement/h:acknowledgementDetail/h:text)", namespaces=NS)
    assert not answer.xpath("//h:queryAck", namespaces=NS)
    assert etree.QName(refusal(build.close(reason=None))).localname == "PRPA_IN201316UV02"


def test_error_answer_when_the_request_has_no_ids():
    body = etree.fromstring(build.query(), safe_parser())
    for name in ("id", "sender", "controlActProcess"):
        body.remove(body.find(f"h:{name}", NS))
    with pytest.raises(Hl7RequestError) as caught:
        parse_patient_request(body)
    answer = render_request_error(body, caught.value, message_id="x", now=NOW)
    assert answer.xpath("h:acknowledgement/h:targetMessage/h:id/@nullFlavor",
                        namespaces=NS) == ["UNK"]
    assert answer.xpath("h:receiver/h:device/h:id/@nullFlavor", namespaces=NS) == ["UNK"]
    assert answer.xpath("string(//h:queryResponseCode/@code)", namespaces=NS) == "AE"


def test_other_bodies_cannot_be_answered_in_hl7():
    body = etree.fromstring(b'<PRPA_IN201305UV02 xmlns="urn:hl7-org:v3"/>')
    assert not can_answer_in_hl7(body)
    assert can_answer_in_hl7(etree.fromstring(build.close()))
    with pytest.raises(ValueError):
        render_request_error(body, Hl7RequestError("x", "/"), message_id="x", now=NOW)


def test_each_renderer_refuses_the_other_interactions():
    with pytest.raises(ValueError):
        render_query_response(request(build.create()), message_id="x", now=NOW, record=None,
                              authorisation=Authorisation.NON_EXISTE, medecin_traitant=False)
    with pytest.raises(ValueError):
        render_acceptance(request(build.query()), message_id="x", now=NOW)


def test_default_namespace_without_prefix_and_xsi_only_when_used():
    found = CASES["hl7-td02-found-valide.xml"]()
    assert found.prefix is None and found.nsmap == {
        None: "urn:hl7-org:v3", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
    accepted = CASES["hl7-td11-accepted.xml"]()
    assert accepted.nsmap == {None: "urn:hl7-org:v3"}
    assert all(e.prefix is None for e in accepted.iter())


def test_times_are_utc():
    assert hl7_time(datetime(2024, 7, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))) == \
        "20240630223000"
    assert hl7_time(datetime(2024, 7, 1, 0, 30)) == "20240701003000"
