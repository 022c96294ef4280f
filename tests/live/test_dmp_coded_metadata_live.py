"""TD2.1 coded metadata and CDA content over a real socket (docs/dmp.md, "Coded metadata
and CDA checks"): the feeds the issue found accepted are refused in-band with one
XDSRegistryMetadataError per problem naming the value and its value set, a correct feed
still passes, the relaxing settings and a newer value-set release (SIM_DMP_VALUE_SETS_DIR,
read by a real ``insi-dmp-sim serve`` process) take effect."""
from __future__ import annotations

import base64
import hashlib
import json

from simulator.kit import hl7, xds
from simulator.kit import registry as reg
from dmp_live import (
    FAILURE, SUCCESS, DmpLive, entry_for, error_codes, error_contexts, hl7_ack, unique_oid)
from simulator.settings import Settings
from simulator.testing import start_simulator

BAD_CODES = (("class", "999", "Inconnue", "1.2.250.1.213.1.1.4.1"),
             ("format", "urn:foo:bar", "Foo", "1.3.6.1.4.1.19376.1.2.3"),
             ("facility", "ZZ99", "Inconnu", "1.2.250.1.71.4.2.4"))

PDF_B64 = base64.b64encode(b"%PDF-1.4\n% simulated report\n%%EOF\n")


def doc(**options) -> xds.Doc:
    return xds.Doc(unique_id=unique_oid(), **options)


def test_the_issues_feeds_are_refused_and_a_correct_one_passes(dmp, adrun_dmp):
    refused = dmp.feed((doc(codes=BAD_CODES),))
    assert refused.http.status_code == 200
    assert refused.status == FAILURE
    assert set(refused.error_codes) == {"XDSRegistryMetadataError"}
    contexts = " | ".join(error_contexts(refused.response))
    for value, value_set in (("'999'", "JDV_J57-ClassCode-DMP"),
                             ("'urn:foo:bar'", "JDV_J60-FormatCode-DMP"),
                             ("'ZZ99'", "JDV_J02-XdsHealthcareFacilityTypeCode-CISIS")):
        assert value in contexts and value_set in contexts, contexts

    not_cda = dmp.feed((doc(content=b"<foo/>"),))
    assert not_cda.status == FAILURE
    assert not_cda.error_codes == ["XDSRegistryMetadataError"]
    assert "not a CDA R2" in error_contexts(not_cda.response)[0]

    assert dmp.feed((doc(),)).status == SUCCESS
    assert hl7_ack(dmp.patients(hl7.query()).body)[0] == "AA"  # still serving


def test_a_bad_cda_and_a_bad_pairing_are_refused_with_every_reason(dmp, adrun_dmp):
    unique_id = unique_oid()
    cda = (xds.cda_document(unique_id=unique_id)
           .replace(b'extension="POCD_HD000040"', b'extension="POCD_MT000040"')
           .replace(b"20240301093000+0100", b"20240301103000+0100")
           .replace(PDF_B64, base64.b64encode(b"GIF89a: not a PDF")))
    refused = dmp.feed((xds.Doc(unique_id=unique_id, content=cda, codes=(
        ("class", "10", "Compte rendu", "1.2.250.1.213.1.1.4.1"),)),),
        content_type=("ZZ", "Inconnu", "1.2.250.1.213.2.2"))
    assert refused.status == FAILURE
    contexts = error_contexts(refused.response)
    assert len(contexts) == 5 and set(refused.error_codes) == {"XDSRegistryMetadataError"}
    for words in (("contentTypeCode 'ZZ'", "JDV_J59"), ("classCode '10'", "ASS_X16", "'31'"),
                  ("POCD_MT000040",), ("creationTime", "effectiveTime"), ("'GIF89a",)):
        assert any(all(w in c for w in words) for c in contexts), (words, contexts)


def test_a_metadata_update_outside_the_value_sets_is_refused(dmp, adrun_dmp):
    fed = doc()
    assert dmp.feed((fed,)).status == SUCCESS
    dmp.set_authorization()  # TD3.1 needs the patient's authorisation
    content = fed.bytes()
    same = dict(unique_id=fed.unique_id, hash_=hashlib.sha1(content).hexdigest(),
                size=str(len(content)))
    lid = entry_for(dmp.registry(reg.find_documents()).body, fed.unique_id).get("lid")
    refused = dmp.registry(reg.mask(lid, "1", practice_code=("NOWHERE", "1.2.250.1.213.1.1.4.9",
                                                             "?"), **same))
    assert refused.body.get("status") == FAILURE
    assert error_codes(refused.body) == ["XDSRegistryMetadataError"]
    assert "JDV_J62-PracticeSettingCode-DMP" in error_contexts(refused.body)[0]
    assert dmp.registry(reg.mask(lid, "1", **same)).body.get("status") == SUCCESS


def test_a_relaxed_server_takes_them(live_server_factory):
    server = live_server_factory(dmp_coded_metadata="off", dmp_cda_checks="patient")
    relaxed = DmpLive(server.base_url)
    try:
        assert hl7_ack(relaxed.patients(hl7.create()).body)[0] == "AA"
        assert relaxed.feed((doc(codes=BAD_CODES[:1]),)).status == SUCCESS
        assert relaxed.feed((doc(content=b"<foo/>"),)).status == SUCCESS
    finally:
        relaxed.close()


def test_a_serve_process_reads_a_newer_release_from_sim_dmp_value_sets_dir(
        tmp_path, monkeypatch):
    newer = {"id": "JDV_J02-XdsHealthcareFacilityTypeCode-CISIS", "version": "2099",
             "date": "2099-01-01", "codes": [{"code": "ZZ99", "system": "1.2.250.1.71.4.2.4",
                                              "display": "Secteur de demain"}]}
    (tmp_path / "JDV_J02-XdsHealthcareFacilityTypeCode-CISIS.json").write_text(
        json.dumps(newer))
    monkeypatch.setenv("SIM_DMP_VALUE_SETS_DIR", str(tmp_path))
    with start_simulator("process", Settings(population=0)) as handle:
        client = DmpLive(handle.base_url)
        try:
            assert hl7_ack(client.patients(hl7.create()).body)[0] == "AA"
            assert client.feed((doc(codes=BAD_CODES[2:]),)).status == SUCCESS
            refused = client.feed((doc(codes=(
                ("facility", "SA01", "Etablissement public de santé", "1.2.250.1.71.4.2.4"),)),))
            assert refused.status == FAILURE  # SA01 is not in that release
            assert "version 2099 of 2099-01-01" in error_contexts(refused.response)[0]
            assert error_codes(refused.response) == ["XDSRegistryMetadataError"]
        finally:
            client.close()
