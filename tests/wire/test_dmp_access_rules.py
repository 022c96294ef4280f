"""Issue 12 at the DMP endpoints: the authentication-mode rules (brief §4.1), the order
of the XDS checks (metadata consistency before business rules) and the INS OID rule
(brief §3.2), each in its carrier, with hand-written golden answers where the message
is the simulator's own (tests/wire/golden/dmp)."""
from __future__ import annotations

import uuid

import pytest
from lxml import etree

from simulator.kit import hl7, registry as reg, xds
from dmp_builders.client import (
    HAB, IN_BAND_REQUESTS, NOW, PAT, SET_AUTHORIZATION, Dmp, assert_reply_addressing, c14n,
    golden, set_authorization)
from simulator.kit.soap import ADRUN, TEST_OID, envelope
from simulator.settings import parse_datetime

HL7 = "{urn:hl7-org:v3}"
RS = "{urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0}"
RIM = "{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}"
SOAP = "{http://www.w3.org/2003/05/soap-envelope}"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
QUERY = "urn:hl7-org:v3:PRPA_IN201307UV02"
STORED_QUERY = "urn:ihe:iti:2007:RegistryStoredQuery"
UPDATE = "urn:ihe:iti:2010:UpdateDocumentSet"
NIR_OID, NIA_OID, DEMO_OID = ("1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9",
                              "1.2.250.1.213.1.4.11")
NIA_PERSON = "109076322088835"  # PROVISOIRE MATRICULE, a CNDA NIA (OID .9)
OTHER = "188102B17295264"  # a test INS of the brief (§7) the registry does not know
INDIRECT = {"Authentification_Mode": "INDIRECTE"}
DIRECT = {"Authentification_Mode": "DIRECTE", "signed": False}
EAI = "10B0167011/EAI"


def make_dmp(make_app, now: str = NOW, **settings) -> Dmp:
    return Dmp(make_app(date=parse_datetime(now), frozen=True, population=0, **settings), now)


@pytest.fixture
def dmp(make_app) -> Dmp:
    return make_dmp(make_app)


def feed(dmp: Dmp, *documents: xds.Doc, user: str | None = None, vihf=None, **options):
    """TD2.1 as MTOM from ``user`` with VIHF attribute changes ``vihf``; new uniqueIds."""
    documents = documents or (xds.Doc(unique_id=f"1.2.250.1.999.1.1.8121.21.{_n()}"),)
    request = xds.provide_and_register(
        documents, xop=True, set_unique_id=f"1.2.250.1.999.1.1.8121.7.{_n()}",
        signature_unique_id=f"1.2.250.1.999.1.1.8121.9.{_n()}", **options)
    root = envelope(request.body, action=xds.PNR_ACTION, service="repository",
                    issue_instant=dmp.now, **({"user": user} if user else {}), **(vihf or {}))
    content_type, raw = xds.mtom_package(
        root, [(request.content_ids[i], c) for i, c in request.contents.items()])
    answer = dmp.send("repository", raw, None, content_type)
    return documents[0], answer.body


def _n() -> int:
    return uuid.uuid4().int % 10 ** 9


def errors(element) -> list[tuple[str, str]]:
    return [(e.get("errorCode"), e.get("codeContext")) for e in element.iter(f"{RS}RegistryError")]


def refused_with(element, code: str, *words: str) -> None:
    assert element.get("status") == FAILURE, etree.tostring(element)
    found = errors(element)
    assert [c for c, _ in found] == [code], found
    assert all(w in found[0][1] for w in words), found


def object_refs(element) -> list[str]:
    return [o.get("id") for o in element.iter(f"{RIM}ObjectRef")]


def hl7_ack(body) -> tuple[str, str | None, str | None]:
    ack = body.find(f"{HL7}acknowledgement")
    detail = ack.find(f"{HL7}acknowledgementDetail/{HL7}code")
    return (ack.get("typeCode"), detail.get("code") if detail is not None else None,
            ack.findtext(f"{HL7}acknowledgementDetail/{HL7}text"))


# --- 1. authentication modes ---------------------------------------------------------------

def test_indirecte_feeds_but_may_not_search_nor_retrieve(dmp):
    dmp.create_dmp_and_authorise()
    eai = dict(user=EAI, **INDIRECT)
    assert dmp.call("patients", hl7.query(), QUERY, **eai).body.find(
        f".//{HL7}queryResponseCode").get("code") == "OK"  # TD0.2 stays open
    assert dmp.call("habilitations", set_authorization(), SET_AUTHORIZATION, **eai
                    ).body.findtext(f"{{{HAB}}}status") == "DMPOK"
    doc, fed = feed(dmp, user=EAI, vihf=INDIRECT)
    assert fed.get("status") == SUCCESS, errors(fed)

    found = dmp.call("registry", reg.find_documents(), STORED_QUERY, **eai)
    assert_reply_addressing(found, f"{STORED_QUERY}Response")
    assert c14n(found.body) == c14n(golden("iti18-error-auth-mode.xml"))

    retrieved = dmp.call("repository", xds.retrieve_body((xds.REPOSITORY, doc.unique_id)),
                         xds.RETRIEVE_ACTION, **eai)
    assert retrieved.response.headers["Content-Type"].startswith("application/soap+xml")
    refused_with(retrieved.body.find(f"{RS}RegistryResponse"), "XDSRegistryError",
                 "DMPAccessDenied: AUTH_MODE: TD3.2")
    # The same professional's structure in AIR consults what the EAI fed.
    assert doc.unique_id in etree.tostring(dmp.call(
        "registry", reg.find_documents(), STORED_QUERY).body).decode()


def test_td31b_finds_the_entry_uuid_in_indirecte_without_an_authorisation(dmp):
    dmp.create_dmp()
    doc, fed = feed(dmp, user=EAI, vihf=INDIRECT)
    assert fed.get("status") == SUCCESS
    found = dmp.call("registry", reg.get_documents(unique_ids=[doc.unique_id]), STORED_QUERY,
                     user=EAI, **INDIRECT)
    assert found.body.get("status") == SUCCESS, errors(found.body)
    assert len(object_refs(found.body)) == 1
    # The same query with LeafClass reads the metadata: TD3.1a, refused in INDIRECTE.
    leaf = dmp.call("registry", reg.get_documents(unique_ids=[doc.unique_id],
                                                  return_type="LeafClass"),
                    STORED_QUERY, user=EAI, **INDIRECT)
    refused_with(leaf.body, "XDSRegistryError", "AUTH_MODE: TD3.1a")


def test_indirecte_updates_its_own_documents_only(dmp):
    dmp.create_dmp()
    own, _ = feed(dmp, user=EAI, vihf=INDIRECT)
    others, _ = feed(dmp)  # fed by the AIR physician
    uuids = {}
    for doc in (own, others):
        answer = dmp.call("registry", reg.get_documents(unique_ids=[doc.unique_id]),
                          STORED_QUERY, user=EAI, **INDIRECT)
        uuids[doc.unique_id] = object_refs(answer.body)[0]
    archived = dmp.call("registry", reg.archive(uuids[own.unique_id]), UPDATE,
                        user=EAI, **INDIRECT)
    assert archived.body.get("status") == SUCCESS, errors(archived.body)
    refused = dmp.call("registry", reg.archive(uuids[others.unique_id]), UPDATE,
                       user=EAI, **INDIRECT)
    refused_with(refused.body, "XDSRegistryError", "AUTH_MODE: TD3.1a")


@pytest.mark.parametrize("mode", [{}, DIRECT], ids=["air", "directe"])
def test_air_and_directe_consult(dmp, mode):
    dmp.create_dmp()
    doc, _ = feed(dmp)
    assert dmp.call("habilitations", set_authorization(), SET_AUTHORIZATION, **mode
                    ).body.findtext(f"{{{HAB}}}status") == "DMPOK"
    found = dmp.call("registry", reg.find_documents(), STORED_QUERY, **mode)
    assert found.body.get("status") == SUCCESS and doc.unique_id in etree.tostring(
        found.body).decode()


def test_the_indirect_denied_set_is_a_setting_answered_in_each_carrier(make_app):
    dmp = make_dmp(make_app, dmp_indirect_denied=("TD0.2", "TD0.3", "TD3.1b"))
    dmp.create_dmp()
    answer = dmp.call("patients", hl7.query(), QUERY, **INDIRECT)
    assert etree.QName(answer.body).localname == "PRPA_IN201308UV02"
    assert hl7_ack(answer.body)[:2] == ("AE", "DMPAccessDenied")
    assert answer.body.find(f".//{HL7}queryResponseCode").get("code") == "AE"
    status = dmp.call("habilitations", set_authorization(), SET_AUTHORIZATION, **INDIRECT)
    assert status.body.findtext(f"{{{HAB}}}status") == "DMPAccessDenied"
    assert "AUTH_MODE: TD0.3" in status.body.findtext(f"{{{HAB}}}context")
    refused_with(dmp.call("registry", reg.get_documents(unique_ids=["1.2.3"]), STORED_QUERY,
                          **INDIRECT).body, "XDSRegistryError", "AUTH_MODE: TD3.1b")
    # The message is read before the business rules: a bad parameter is said first.
    bad = dmp.call("habilitations", set_authorization("AJOUTER"), SET_AUTHORIZATION, **INDIRECT)
    assert bad.body.findtext(f"{{{HAB}}}status") == "DMPInvalidParameter"
    unreadable = dmp.call("patients", hl7.query(ins="2751263220749").decode(), QUERY, **INDIRECT)
    assert hl7_ack(unreadable.body)[:2] == ("AE", "SYN102")

    relaxed = make_dmp(make_app, dmp_indirect_denied=())
    relaxed.create_dmp()
    relaxed.call("habilitations", set_authorization(), SET_AUTHORIZATION, **INDIRECT)
    assert relaxed.call("registry", reg.find_documents(), STORED_QUERY, **INDIRECT
                        ).body.get("status") == SUCCESS


# --- 2. the order of the checks -------------------------------------------------------------

def test_a_patient_mismatch_is_reported_before_the_qualified_ins_rule(make_app):
    dmp = make_dmp(make_app, now="2024-03-01T08:30:00Z")  # after 2023-04-29
    dmp.create_dmp()
    # Traits that contradict the INSi identity make the INS non-qualified...
    wrong_traits = ("PID-5|DUPONT^ZOE^^^^^L", "PID-7|19751231", "PID-8|F")
    _, alone = feed(dmp, xds.Doc(unique_id=f"1.2.250.1.999.21.{_n()}", patient_info=wrong_traits))
    refused_with(alone, "XDSRegistryError", "dmp-feeding-requires-qualified-ins")
    # ... but a submission whose entry names another patient is inconsistent first.
    _, mixed = feed(dmp, xds.Doc(unique_id=f"1.2.250.1.999.21.{_n()}", patient_info=wrong_traits,
                                 patient_id=f"{OTHER}^^^&{TEST_OID}&ISO^NH"))
    assert c14n(mixed) == c14n(golden("iti41-error-patient-mismatch.xml"))


def test_metadata_errors_come_before_access_refusals(dmp):
    other_entry = xds.Doc(patient_id=f"{OTHER}^^^&{TEST_OID}&ISO^NH")
    # No DMP yet: a consistent feed is XDSUnknownPatientId, an inconsistent one says why.
    refused_with(feed(dmp)[1], "XDSUnknownPatientId")
    refused_with(feed(dmp, other_entry)[1], "XDSPatientIdDoesNotMatch")
    dmp.create_dmp()
    # INDIRECTE may not search, but a query for another patient is inconsistent first.
    answer = dmp.call("registry", reg.find_documents(reg.cx(OTHER)), STORED_QUERY, **INDIRECT)
    refused_with(answer.body, "XDSPatientIdDoesNotMatch")
    # An update of an entry that does not exist, by a caller without consultation
    # rights: the ITI-57 metadata error first, not the mode refusal.
    answer = dmp.call("registry", reg.archive("urn:uuid:" + str(uuid.uuid4())), UPDATE,
                      **INDIRECT)
    refused_with(answer.body, "XDSMetadataUpdateError", "no document entry")


# --- 3. the INS OID -------------------------------------------------------------------------

def test_a_nia_oid_on_a_nir_is_refused_in_the_vihf_with_the_golden_fault(dmp):
    raw = envelope(hl7.query().decode(), action=QUERY, service="patients", issue_instant=NOW,
                   oid=NIA_OID)
    answer = dmp.send("patients", raw, None)
    assert answer.response.status_code == 500
    fault = answer.envelope.find(f"{SOAP}Body/{SOAP}Fault")
    assert c14n(fault) == c14n(golden("fault-invalid-security-ins-oid.xml"))


def test_a_nia_oid_on_a_nir_in_the_hl7_message_is_an_hl7_reject(dmp):
    answer = dmp.call("patients", hl7.query(ins_oid=NIA_OID), QUERY)
    assert answer.response.status_code == 200
    code, detail, text = hl7_ack(answer.body)
    assert (code, detail) == ("AE", "SYN106")
    assert "is a NIR-based INS" in text and NIA_OID in text
    assert answer.body.findtext(f".//{HL7}acknowledgementDetail/{HL7}location").endswith(
        "patientIdentifier/value/@root")


def test_a_patient_id_under_another_oid_is_unknown_patient_id(dmp):
    dmp.create_dmp_and_authorise()
    _, fed = feed(dmp, patient_id=f"{ADRUN}^^^&{NIA_OID}&ISO^NH")
    assert fed.get("status") == FAILURE
    assert {c for c, _ in errors(fed)} == {"XDSUnknownPatientId"}
    found = dmp.call("registry", reg.find_documents(reg.cx(oid=NIR_OID)), STORED_QUERY)
    assert c14n(found.body) == c14n(golden("iti18-error-unknown-patient-oid.xml"))
    assert dmp.call("registry", reg.find_documents(), STORED_QUERY).body.get(
        "status") == SUCCESS


def test_a_nia_is_named_under_the_nia_oid_only(dmp):
    refused = dmp.send("patients", envelope(
        hl7.query(ins=NIA_PERSON).decode(), action=QUERY, service="patients",
        issue_instant=NOW, patient=NIA_PERSON), None)
    assert refused.response.status_code == 500
    assert "is a NIA in the identity registry" in etree.tostring(refused.envelope).decode()
    answer = dmp.call("patients", hl7.query(ins=NIA_PERSON, ins_oid=NIA_OID), QUERY,
                      patient=NIA_PERSON, oid=NIA_OID)
    assert answer.body.find(f".//{HL7}queryResponseCode").get("code") == "NF"


def test_the_production_platform_takes_the_production_oid(make_app):
    dmp = make_dmp(make_app, dmp_platform="production")
    refused = dmp.call("patients", hl7.query(), QUERY)  # the builders' test OID .10
    assert refused.response.status_code == 500
    assert "on the production platform" in etree.tostring(refused.envelope).decode()
    answer = dmp.call("patients", hl7.query(ins_oid=NIR_OID), QUERY, oid=NIR_OID)
    assert answer.body.find(f".//{HL7}queryResponseCode").get("code") == "NF"


def test_the_demo_oid_names_demo_identities_only(make_app, tmp_path):
    people = tmp_path / "people.yaml"
    people.write_text("- birth_name: DEMO\n  first_names: [ALICE]\n  sex: F\n"
                      "  birth_date: 1980-01-01\n  birth_place: '75056'\n"
                      "  nir: '2800175056001'\n  oid: demo\n")
    dmp = make_dmp(make_app, identities_file=people)
    from simulator.identities.nir import nir_key
    demo = "2800175056001" + nir_key("2800175056001")
    ok = dmp.call("patients", hl7.query(ins=demo, ins_oid=DEMO_OID), QUERY,
                  patient=demo, oid=DEMO_OID)
    assert ok.body.find(f".//{HL7}queryResponseCode").get("code") == "NF"
    for patient, oid in ((demo, TEST_OID), (ADRUN, DEMO_OID)):
        refused = dmp.call("patients", hl7.query(ins=patient, ins_oid=oid), QUERY,
                           patient=patient, oid=oid)
        assert refused.response.status_code == 500, (patient, oid)


def test_the_oid_rule_can_be_switched_off(make_app):
    dmp = make_dmp(make_app, dmp_ins_oid_check=False)
    answer = dmp.call("patients", hl7.query(ins_oid=NIA_OID), QUERY, oid=NIA_OID)
    assert answer.response.status_code == 200
    assert answer.body.find(f".//{HL7}queryResponseCode").get("code") == "NF"


# --- every transaction goes through the mode rule -------------------------------------------

EVERY_TRANSACTION = {
    "TD0.0": lambda dmp, uids: ("patientCertif", *IN_BAND_REQUESTS["patientCertif"][:2]),
    "TD0.2": lambda dmp, uids: ("patients", hl7.query().decode(), QUERY),
    "TD0.3": lambda dmp, uids: ("habilitations", set_authorization(), SET_AUTHORIZATION),
    "TD0.4": lambda dmp, uids: ("patientsSpecific", *IN_BAND_REQUESTS["patientsSpecific"][:2]),
    "TD0.5": lambda dmp, uids: ("patientsPDQ", *IN_BAND_REQUESTS["patientsPDQ"][:2]),
    "TD1.1": lambda dmp, uids: ("patients", hl7.create().decode(),
                                "urn:hl7-org:v3:PRPA_IN201311UV02"),
    "TD1.2": lambda dmp, uids: ("patients", hl7.reactivate().decode(), REVISE),
    "TD1.3a": lambda dmp, uids: ("patients", hl7.query("CNSLT_DATA").decode(), QUERY),
    "TD1.3b": lambda dmp, uids: ("patients", hl7.modify().decode(), REVISE),
    "TD1.4": lambda dmp, uids: ("patients", hl7.close().decode(), REVISE),
    "TD1.5a": lambda dmp, uids: (
        "patientsSpecific", f'<p:createPatientAccess xmlns:p="{PAT}"><p:otpChannelType>EMAIL'
        "</p:otpChannelType><p:channel>zoe@example.org</p:channel></p:createPatientAccess>",
        f"{PAT}:PatientSpecificEndPoint:createPatientAccess"),
    "TD1.5b": lambda dmp, uids: (
        "patientsSpecific", f'<p:patientOTPUpdate xmlns:p="{PAT}"><p:channelType>SMS'
        "</p:channelType><p:channel>0612345678</p:channel><p:action>AJOUT</p:action>"
        "</p:patientOTPUpdate>", f"{PAT}:PatientSpecificEndPoint:patientOTPUpdate"),
    "TD1.5c/d": lambda dmp, uids: (
        "patientsSpecific", f'<p:updatePatientAccess xmlns:p="{PAT}"/>',
        f"{PAT}:PatientSpecificEndPoint:updatePatientAccess"),
    "TD1.6": lambda dmp, uids: ("habilitations", *IN_BAND_REQUESTS["habilitations"][:2]),
    "TD3.1a": lambda dmp, uids: ("registry", reg.find_documents(), STORED_QUERY),
    "TD3.1b": lambda dmp, uids: ("registry", reg.get_documents(unique_ids=[uids[0]]),
                                 STORED_QUERY),
    "TD3.2": lambda dmp, uids: ("repository", xds.retrieve_body((xds.REPOSITORY, uids[0])),
                                xds.RETRIEVE_ACTION),
    "TD3.3": lambda dmp, uids: ("registry", reg.archive(uids[1]), UPDATE),
}
REVISE = "urn:hl7-org:v3:PRPA_IN201314UV02"
NO_PATIENT = ("TD0.0", "TD0.4", "TD0.5")  # their VIHF names no patient


def refusal_in_carrier(body) -> str:
    """The DMP code and text of a refusal, read from whichever carrier answered."""
    name = etree.QName(body)
    if name.namespace == "urn:hl7-org:v3":
        return " ".join(str(x) for x in hl7_ack(body)[1:])
    found = errors(body)
    if found:
        return " ".join(found[0])
    return " ".join(body.findtext(f"{{{name.namespace}}}{tag}") or ""
                    for tag in ("status", "context"))


def test_every_transaction_applies_the_mode_rule_in_its_carrier(make_app):
    """With every transaction listed in SIM_DMP_INDIRECT_DENIED, each one refuses
    INDIRECTE with DMPAccessDenied in its own carrier and serves AIR: every service
    consults the rule (a transaction the table lists but no service checks fails here)."""
    from simulator.services.dmp.access import TRANSACTIONS
    assert sorted([*EVERY_TRANSACTION, "TD2.1"]) == sorted(TRANSACTIONS)
    dmp = make_dmp(make_app, now="2022-11-15T10:00:00Z",  # TD0.0 still answers
                   dmp_indirect_denied=tuple(TRANSACTIONS))
    dmp.create_dmp()
    doc, fed = feed(dmp)
    assert fed.get("status") == SUCCESS
    entry_uuid = object_refs(dmp.call("registry", reg.get_documents(unique_ids=[doc.unique_id]),
                                      STORED_QUERY).body)[0]
    _, refused = feed(dmp, vihf=INDIRECT)
    assert "DMPAccessDenied: AUTH_MODE: TD2.1," in refusal_in_carrier(refused)
    for transaction, request in sorted(EVERY_TRANSACTION.items()):
        service, body, action = request(dmp, (doc.unique_id, entry_uuid))
        answer = dmp.call(service, body, action, **INDIRECT,
                          **({"patient": None} if transaction in NO_PATIENT else {}))
        assert answer.response.status_code == 200, (transaction, answer.response.data[:300])
        text = refusal_in_carrier(answer.body)
        assert "DMPAccessDenied" in text and f"AUTH_MODE: {transaction}," in text, (
            transaction, text)


def test_an_identity_changed_through_admin_changes_the_oid_rule_at_once(dmp):
    """The registry's answers are kept per process (store/identity_cache.py): an
    identity added, changed or deleted through /_admin is seen by the next request."""
    def query_under_nia_oid():
        return dmp.call("patients", hl7.query(ins=OTHER, ins_oid=NIA_OID), QUERY,
                        patient=OTHER, oid=NIA_OID)

    unknown = query_under_nia_oid()  # unknown INS: the NIA OID may name it
    assert unknown.response.status_code == 200
    for _ in range(2):  # the second answer comes from the kept lookup
        assert query_under_nia_oid().response.status_code == 200
    person = {"birth_name": "CORSE", "first_names": "PAUL", "sex": "M",
              "birth_date": "1988-10-12", "birth_place": "2B172", "nir": OTHER[:13]}
    added = dmp.http.post("/_admin/identities", json=person)
    assert added.status_code == 201, added.json
    refused = query_under_nia_oid()
    assert refused.response.status_code == 500
    assert "is a NIR-based INS" in etree.tostring(refused.envelope).decode()
    assert dmp.http.delete(f"/_admin/identities/{added.json['key']}").status_code == 204
    assert query_under_nia_oid().response.status_code == 200
