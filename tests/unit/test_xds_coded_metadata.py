"""Coded XDS metadata against the CI-SIS / DMP value sets (DMP.md §5.2): each coded slot
is refused outside its JDV with an XDSRegistryMetadataError naming the slot, the value
and the value set; the classCode must be the one ASS_X16 gives the typeCode; the
settings relax it; a newer release of the value sets is read from a folder."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from simulator.kit.soap import ADRUN, TEST_OID
from simulator.kit.xds import Doc, provide_and_register
from simulator.kit import registry as reg
from simulator.services.dmp.xds.coded_metadata import ContentPolicy, update_coded_errors
from simulator.services.dmp.xds.errors import XdsFailure
from simulator.services.dmp.xds.model import (
    DE_CLASS_CODE, DE_FACILITY_TYPE, DE_FORMAT_CODE, DE_PRACTICE_SETTING, DE_TYPE_CODE,
    SS_CONTENT_TYPE)
from simulator.services.dmp.xds.rules import check_submission
from simulator.services.dmp.xds.submission import parse_provide_and_register
from simulator.services.dmp.xds.updates import parse_update
from simulator.services.dmp.xds.value_sets import (
    SLOT_VALUE_SETS, TerminologyError, load_terminology)
from simulator.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]


class Registry:
    def unique_id_exists(self, unique_id):
        return False

    def entry(self, entry_uuid):
        return None


def submission(*documents):
    request = provide_and_register(documents or (Doc(),))
    return parse_provide_and_register(etree.fromstring(request.body))


def errors_of(sub, policy=None):
    try:
        check_submission(sub, vihf_patient=(ADRUN, TEST_OID), lookup=Registry(), policy=policy)
    except XdsFailure as failure:
        return [(e.code, e.location, e.message) for e in failure.errors]
    return []


def set_code(obj, scheme, code, coding=None):
    classification = next(c for c in obj.classifications if c.scheme == scheme)
    classification.node = code
    if coding is not None:
        classification.slots["codingScheme"] = [coding]


def document(sub):
    return sub.entry("DocumentCDA")


@pytest.mark.parametrize("scheme, slot, value", [
    (DE_CLASS_CODE, "classCode", "999"),
    (DE_TYPE_CODE, "typeCode", "99999-9"),
    (DE_FORMAT_CODE, "formatCode", "urn:foo:bar"),
    (DE_FACILITY_TYPE, "healthcareFacilityTypeCode", "ZZ99"),
    (DE_PRACTICE_SETTING, "practiceSettingCode", "NOWHERE"),
])
def test_a_document_code_outside_its_value_set_is_refused(scheme, slot, value):
    sub = submission()
    set_code(document(sub), scheme, value)
    errors = [e for e in errors_of(sub) if slot in e[2] and "not in" in e[2]]
    value_set = load_terminology().for_slot(slot)
    assert len(errors) == 1, errors_of(sub)
    code, location, message = errors[0]
    assert (code, location) == ("XDSRegistryMetadataError", "DocumentCDA")
    assert repr(value) in message and SLOT_VALUE_SETS[slot] in message
    assert f"version {value_set.version} of {value_set.date}" in message


def test_a_content_type_outside_jdv_j59_is_refused_on_the_submission_set():
    sub = submission()
    set_code(sub.submission_set, SS_CONTENT_TYPE, "ZZ")
    assert [(e[0], e[1]) for e in errors_of(sub)] == [
        ("XDSRegistryMetadataError", "SubmissionSet01")]
    assert "JDV_J59-ContentTypeCode-DMP" in errors_of(sub)[0][2]


def test_a_known_code_under_another_coding_scheme_is_refused():
    sub = submission()
    set_code(document(sub), DE_FACILITY_TYPE, "SA01", "1.2.250.1.213.1.1.4.9")
    (error,) = errors_of(sub)
    assert "codingScheme 1.2.250.1.71.4.2.4" in error[2] and "'1.2.250.1.213.1.1.4.9'" in error[2]


def test_every_code_error_is_reported_at_once():
    sub = submission()
    set_code(document(sub), DE_FORMAT_CODE, "urn:foo:bar")
    set_code(document(sub), DE_FACILITY_TYPE, "ZZ99")
    set_code(sub.submission_set, SS_CONTENT_TYPE, "ZZ")
    messages = " | ".join(e[2] for e in errors_of(sub))
    assert all(v in messages for v in ("urn:foo:bar", "ZZ99", "'ZZ'"))


@pytest.mark.parametrize("type_code, class_code, ok", [
    ("18748-4", "31", True), ("11490-0", "10", True), ("IMG-KOS", "31", True),
    ("18748-4", "10", False), ("11490-0", "11", False)])
def test_the_class_code_is_the_one_ass_x16_gives_the_type_code(type_code, class_code, ok):
    sub = submission()
    scheme = "1.2.250.1.213.1.1.4.12" if type_code == "IMG-KOS" else "2.16.840.1.113883.6.1"
    set_code(document(sub), DE_TYPE_CODE, type_code, scheme)
    set_code(document(sub), DE_CLASS_CODE, class_code)
    pairing = [e for e in errors_of(sub) if "does not go with typeCode" in e[2]]
    assert (pairing == []) == ok
    if not ok:
        assert "ASS_X16-CorrespondanceType-Classe-DMP" in pairing[0][2]


def test_the_lot_signature_entry_keeps_its_own_fixed_codes():
    sub = submission()
    signature = sub.entry("Signature01")
    assert [c.code for c in signature.codes(DE_FORMAT_CODE)] == [
        "http://www.w3.org/2000/09/xmldsig#"]
    assert errors_of(sub) == []


@pytest.mark.parametrize("mode, refused", [("strict", 3), ("codes", 1), ("off", 0)])
def test_the_strictness_follows_sim_dmp_coded_metadata(mode, refused):
    sub = submission()
    set_code(document(sub), DE_FORMAT_CODE, "urn:foo:bar")  # not in J60
    set_code(document(sub), DE_FACILITY_TYPE, "SA01", "9.9.9")  # scheme
    set_code(document(sub), DE_CLASS_CODE, "10")  # pairing
    policy = ContentPolicy(load_terminology(), coded=mode, cda="patient")
    assert len(errors_of(sub, policy)) == refused


def test_an_unknown_mode_is_a_settings_error():
    with pytest.raises(SettingsError, match="SIM_DMP_CODED_METADATA"):
        Settings(dmp_coded_metadata="lenient")
    assert Settings.from_env({"SIM_DMP_VALUE_SETS_DIR": "/x"}).dmp_value_sets_dir == Path("/x")


def test_a_newer_release_in_a_folder_replaces_the_shipped_value_set(tmp_path):
    shipped = load_terminology().for_slot("formatCode")
    newer = {"id": "JDV_J60-FormatCode-DMP", "version": "20990101120000", "date": "2099-01-01",
             "codes": [{"code": "urn:foo:bar", "system": "1.2.250.1.213.1.1.4.2.282",
                        "display": "Future format"}]}
    (tmp_path / "JDV_J60-FormatCode-DMP.json").write_text(json.dumps(newer))
    terminology = load_terminology(tmp_path)
    assert terminology.for_slot("formatCode").version == "20990101120000"
    assert terminology.for_slot("classCode") == load_terminology().for_slot("classCode")
    assert "urn:foo:bar" not in shipped.codes
    sub = submission()
    set_code(document(sub), DE_FORMAT_CODE, "urn:foo:bar", "1.2.250.1.213.1.1.4.2.282")
    messages = [e[2] for e in errors_of(sub, ContentPolicy(terminology, cda="patient"))]
    assert not any("formatCode 'urn:foo:bar'" in m for m in messages)


def test_a_broken_value_set_file_is_named(tmp_path):
    (tmp_path / "JDV_J57-ClassCode-DMP.json").write_text("{not json")
    with pytest.raises(TerminologyError, match="JDV_J57-ClassCode-DMP"):
        load_terminology(tmp_path)


def test_the_shipped_value_sets_have_their_version_and_date():
    terminology = load_terminology()
    for slot in SLOT_VALUE_SETS:
        value_set = terminology.for_slot(slot)
        assert value_set.version and value_set.date and value_set.codes, slot
    assert terminology.type_to_class.pairs["18748-4"] == "31"


def test_the_extraction_tool_converts_a_fhir_release(tmp_path):
    system = "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument"
    value_set = {"resourceType": "ValueSet", "url": "https://mos.esante.gouv.fr/NOS/"
                 "JDV_J57-ClassCode-DMP/FHIR/JDV-J57-ClassCode-DMP", "id": "JDV-J57",
                 "identifier": [{"value": "urn:oid:1.2.250.1.213.1.1.5.6"}],
                 "version": "2.0.0", "date": "2030-01-02T12:00:00+01:00",
                 "compose": {"include": [{"system": system, "concept": [
                     {"code": "10", "display": "Compte rendu"}]}]}}
    source = tmp_path / "in.json"
    source.write_text(json.dumps(value_set))
    out = tmp_path / "out"
    subprocess.run([sys.executable, str(ROOT / "tools" / "value_sets_from_fhir.py"), str(out),
                    str(source)], check=True, capture_output=True)
    converted = json.loads((out / "JDV_J57-ClassCode-DMP.json").read_text())
    assert (converted["version"], converted["date"]) == ("2.0.0", "2030-01-02")
    assert converted["codes"] == [{"code": "10", "system": "1.2.250.1.213.1.1.4.1",
                                   "display": "Compte rendu"}]
    assert load_terminology(out).for_slot("classCode").codes == {
        "10": ("1.2.250.1.213.1.1.4.1", "Compte rendu")}


def test_a_metadata_update_carries_the_same_value_sets():
    lid = "urn:uuid:0b1c6b9e-49a4-4c43-9d0b-0e7c3c0f6a11"
    good = parse_update(etree.fromstring(reg.mask(lid, "1")))
    assert update_coded_errors(good, ContentPolicy.default()) == []
    bad = parse_update(etree.fromstring(reg.mask(
        lid, "1", type_code=("18748-4", "2.16.840.1.113883.6.1", "CR d'imagerie"),
        facility_code=("ZZ99", "1.2.250.1.71.4.2.4", "?"))))
    messages = [e.message for e in update_coded_errors(bad, ContentPolicy.default())]
    assert len(messages) == 2, messages
    assert "'ZZ99'" in messages[0] and "ASS_X16" in messages[1]
    assert update_coded_errors(bad, ContentPolicy(load_terminology(), coded="off")) == []
