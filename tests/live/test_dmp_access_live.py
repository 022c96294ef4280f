"""Issue 12 over a real socket with zeep clients built from the served WSDLs: the
authentication modes (brief §4.1), the order of the XDS checks, and the INS OID rule
(brief §3.2) on the test platform and, on a second server, the production one."""
from __future__ import annotations

import pytest
import zeep

from simulator.kit import hl7, registry as reg, xds
from simulator.kit.hl7 import ADRUN
from simulator.kit.soap import TEST_OID
from dmp_live import (
    DOCTOR, FAILURE, NS, SUCCESS, WSSE_INVALID_SECURITY, Caller, DmpLive, error_codes,
    error_contexts, hl7_ack, retrieve_raw, unique_ids, unique_oid)

EAI = Caller(user="10B0167011/EAI", options={"Authentification_Mode": "INDIRECTE"})
NIR_OID, NIA_OID = "1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9"
OTHER = "188102B17295264"  # a test INS of the brief (§7) the registry does not know
WRONG_TRAITS = ("PID-5|DUPONT^ZOE^^^^^L", "PID-7|19751231", "PID-8|F")


def refused(element, code: str, *words: str) -> None:
    assert element.get("status") == FAILURE
    assert error_codes(element) == [code], error_contexts(element)
    assert all(w in error_contexts(element)[0] for w in words), error_contexts(element)


def object_refs(element) -> list[str]:
    return [o.get("id") for o in element.iterfind(".//rim:ObjectRef", NS)]


def test_an_eai_in_indirecte_feeds_and_finds_its_entry_but_does_not_consult(
        dmp, adrun_dmp, live_server):
    assert hl7_ack(dmp.patients(hl7.query(), EAI).body) == ("AA", None)
    doc = xds.Doc(unique_id=unique_oid())
    assert dmp.feed((doc,), EAI).status == SUCCESS
    assert dmp.set_authorization(EAI).result.status == "DMPOK"

    found = dmp.registry(reg.find_documents(), EAI)
    assert found.http.status_code == 200
    refused(found.body, "XDSRegistryError", "DMPAccessDenied: AUTH_MODE: TD3.1a")
    http, envelope, parts = retrieve_raw(live_server.base_url, doc.unique_id, EAI)
    assert http.status_code == 200 and parts == {}
    refused(envelope.find(".//rs:RegistryResponse", NS), "XDSRegistryError", "AUTH_MODE: TD3.2")

    entry = dmp.registry(reg.get_documents(unique_ids=[doc.unique_id]), EAI)  # TD3.1b
    assert entry.body.get("status") == SUCCESS
    [entry_uuid] = object_refs(entry.body)
    assert dmp.registry(reg.delete(entry_uuid), EAI).body.get("status") == SUCCESS

    # AIR consults: the authorised physician sees the documents the EAI fed.
    kept = xds.Doc(unique_id=unique_oid())
    assert dmp.feed((kept,), EAI).status == SUCCESS
    assert dmp.set_authorization(DOCTOR).result.status == "DMPOK"
    shown = unique_ids(dmp.registry(reg.find_documents()).body)
    assert kept.unique_id in shown and doc.unique_id not in shown  # the EAI deleted it


def test_metadata_consistency_comes_before_the_qualified_ins_rule(dmp, adrun_dmp):
    # The live servers run in 2025: a non-qualified INS is refused...
    alone = dmp.feed((xds.Doc(unique_id=unique_oid(), patient_info=WRONG_TRAITS),))
    refused(alone.response, "XDSRegistryError", "dmp-feeding-requires-qualified-ins")
    # ... unless the submission is inconsistent, which is said first.
    mixed = dmp.feed((xds.Doc(unique_id=unique_oid(), patient_info=WRONG_TRAITS,
                              patient_id=f"{OTHER}^^^&{TEST_OID}&ISO^NH"),))
    refused(mixed.response, "XDSPatientIdDoesNotMatch", OTHER, ADRUN)


def test_the_ins_oid_matches_the_identity_in_every_carrier(dmp, adrun_dmp):
    with pytest.raises(zeep.exceptions.Fault) as caught:
        dmp.patients(hl7.query(), DOCTOR.but(oid=NIA_OID))
    assert [code.text for code in caught.value.subcodes] == [WSSE_INVALID_SECURITY]
    assert "is a NIR-based INS" in caught.value.message and NIA_OID in caught.value.message

    answer = dmp.patients(hl7.query(ins_oid=NIA_OID))
    assert hl7_ack(answer.body) == ("AE", "SYN106")

    fed = dmp.feed((xds.Doc(unique_id=unique_oid()),),
                   patient_id=f"{ADRUN}^^^&{NIA_OID}&ISO^NH")
    assert set(fed.error_codes) == {"XDSUnknownPatientId"}

    dmp.set_authorization()
    query = dmp.registry(reg.find_documents(reg.cx(oid=NIR_OID)))
    refused(query.body, "XDSUnknownPatientId", "1.2.250.1.213.1.4.10 (INS-NIR test)")
    assert dmp.registry(reg.find_documents()).body.get("status") == SUCCESS


def test_the_production_platform_takes_the_production_oid(live_server_factory):
    production = live_server_factory(dmp_platform="production")
    client = DmpLive(production.base_url)
    try:
        with pytest.raises(zeep.exceptions.Fault) as caught:
            client.patients(hl7.query())  # the builders' test OID
        assert "on the production platform" in caught.value.message
        created = client.patients(hl7.create(ins_oid=NIR_OID), DOCTOR.but(oid=NIR_OID))
        assert hl7_ack(created.body) == ("AA", None)
        answer = client.patients(hl7.query(ins_oid=NIR_OID), DOCTOR.but(oid=NIR_OID))
        assert answer.body.find(".//hl7:queryResponseCode", NS).get("code") == "OK"
    finally:
        client.close()
