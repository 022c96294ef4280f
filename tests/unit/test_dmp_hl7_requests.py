"""Parsing the HL7 v3 requests of the DMP patients service (brief §2.2, §3.1).

Requests come from the builders that imitate real clients; the builders themselves are
checked against the values the brief gives, so that parser and builders agree with the
brief and not only with each other.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from simulator.kit import hl7 as build
from simulator.services.dmp.hl7 import codes
from simulator.services.dmp.hl7.requests import (
    Hl7RequestError, parse_patient_request, updated_traits)
from simulator.soap.parsing import safe_parser
from simulator.services.dmp.records import PatientTraits

NS = {"h": "urn:hl7-org:v3", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
DMP_MD = Path(__file__).resolve().parents[2] / ".." / "shared" / "domain" / "DMP.md"


def tree(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, safe_parser())


def parse(xml: bytes, **options):
    return parse_patient_request(tree(xml), **options)


def edited(xml: bytes, xpath: str, *, drop: bool = False, **attributes) -> etree._Element:
    """The request with the node at ``xpath`` removed, or with attributes changed."""
    root = tree(xml)
    nodes = root.xpath(xpath, namespaces=NS)
    assert nodes, f"{xpath} matches nothing in the builder's output"
    for node in nodes:
        if drop:
            node.getparent().remove(node)
        for name, value in attributes.items():
            node.set(name, value)
    return root


def refused(body: etree._Element, **options) -> Hl7RequestError:
    with pytest.raises(Hl7RequestError) as caught:
        parse_patient_request(body, **options)
    return caught.value


# --- the builders say what the brief says -------------------------------------------

def test_builders_use_the_envelope_values_of_the_brief():
    for xml in (build.query(), build.create(), build.reactivate(), build.modify(), build.close()):
        root = tree(xml)
        assert root.nsmap[None] == "urn:hl7-org:v3" and root.get("ITSVersion") == "XML_1.0"
        assert root.xpath("string(h:interactionId/@root)", namespaces=NS) == "2.16.840.1.113883.1.6"
        assert root.xpath("string(h:processingModeCode/@code)", namespaces=NS) == "T"
        assert root.xpath("string(h:acceptAckCode/@code)", namespaces=NS) == "AL"
        device = root.xpath("h:receiver/h:device", namespaces=NS)[0]
        assert device.xpath("string(h:id/@root)", namespaces=NS) == "1.2.250.1.213.4.1.1.1"
        assert device.xpath("string(h:softwareName)", namespaces=NS) == "DMP"
        control = root.xpath("h:controlActProcess", namespaces=NS)[0]
        assert (control.get("classCode"), control.get("moodCode")) == ("CACT", "EVN")
        assert control.xpath("string(h:reasonCode/@codeSystem)",
                             namespaces=NS) == "1.2.250.1.213.1.1.4.11"


def test_query_builder_sends_the_ins_as_patient_identifier():
    root = tree(build.query(ins="297022A02077878", ins_oid="1.2.250.1.213.1.4.8"))
    identifier = root.xpath("//h:queryByParameter/h:parameterList/h:patientIdentifier",
                            namespaces=NS)[0]
    value = identifier.find("h:value", NS)
    assert (value.get("root"), value.get("extension")) == ("1.2.250.1.213.1.4.8", "297022A02077878")
    assert identifier.findtext("h:semanticsText", namespaces=NS) == "Patient.id"
    assert root.xpath("string(//h:queryByParameter/h:statusCode/@code)", namespaces=NS) == "new"


def test_creation_builder_carries_consents_vitale_block_and_author_as_in_the_brief():
    root = tree(build.create(opposes_bris_de_glace=True))
    codes_sent = {o.xpath("string(h:code/@code)", namespaces=NS):
                  (o.xpath("string(h:code/@codeSystem)", namespaces=NS),
                   o.xpath("string(h:value/@value)", namespaces=NS))
                  for o in root.xpath("//h:patient/h:subjectOf/h:administrativeObservation",
                                      namespaces=NS)}
    assert codes_sent == {"CONSENTEMENT_OUVERTURE_DMP": ("1.2.250.1.213.4.1.2.3", "true"),
                          "OPPOSITION_BRIS_DE_GLACE": ("1.2.250.1.213.4.1.2.3", "true"),
                          "OPPOSITION_ACCES_URGENCE": ("1.2.250.1.213.4.1.2.3", "false")}
    party = root.xpath("//h:patientPerson/h:contactParty/h:code", namespaces=NS)[0]
    assert (party.get("code"), party.get("codeSystem")) == ("CARTE_SESAM_VITALE",
                                                            "1.2.250.1.213.4.1.2.5")
    assert root.xpath("string(//h:author/h:assignedEntity/h:id/@root)",
                      namespaces=NS) == "1.2.250.1.71.4.2.1"
    assert root.xpath("string(//h:representedOrganization/h:id/@root)",
                      namespaces=NS) == "1.2.250.1.71.4.2.2"
    assert root.xpath("//h:patientPerson/h:name/h:family/@qualifier", namespaces=NS) == ["BR"]


def test_closure_builder_has_the_statuses_and_reason_of_the_brief():
    root = tree(build.close())
    assert root.xpath("string(//h:registrationRequest/h:statusCode/@code)",
                      namespaces=NS) == "completed"
    assert root.xpath("string(//h:patient/h:statusCode/@code)", namespaces=NS) == "terminated"
    code = root.xpath("h:controlActProcess/h:reasonOf/h:detectedIssueEvent/h:code",
                      namespaces=NS)[0]
    assert (code.get("code"), code.get("codeSystem")) == ("FERMETURE_DEMANDE_PATIENT",
                                                          "1.2.250.1.213.4.1.2.4")


def test_codes_marked_verified_appear_in_the_brief(shared_dir):
    brief = DMP_MD.read_text(encoding="utf-8")
    verified = [codes.INTERACTION_ROOT, codes.REASON_SYSTEM, codes.DMP_DEVICE_OID, codes.INS_NIR,
                codes.INS_NIA, codes.INS_NIR_TEST, codes.INS_NIR_DEMO, codes.INS_C,
                codes.PS_ID_ROOT, codes.STRUCTURE_ID_ROOT, codes.OBSERVATION_SYSTEM,
                codes.VITALE_SYSTEM, codes.CLOSE_REASON_SYSTEM, codes.DMP_FOUND, codes.DMP_CLOSED,
                codes.CONSENTEMENT_OUVERTURE_DMP, codes.CONSENTEMENT_REACTIVATION_DMP,
                codes.OPPOSITION_BRIS_DE_GLACE, codes.OPPOSITION_ACCES_URGENCE,
                codes.CARTE_SESAM_VITALE, codes.FERMETURE_DEMANDE_PATIENT,
                *codes.REASON_NAMES, *(i for i in codes.ANSWERS),
                *(a for pair in codes.ANSWERS.values() for a in pair)]
    missing = [value for value in verified if not re.search(re.escape(value), brief)]
    assert missing == []


# --- each reason ---------------------------------------------------------------------

@pytest.mark.parametrize("reason", ["TEST_EXST", "CNSLT_DATA"])
def test_query(reason):
    request = parse(build.query(reason, message_id="a1b2", query_id="q-9"))
    assert (request.interaction, request.reason_code) == ("PRPA_IN201307UV02", reason)
    assert (request.patient_ins, request.patient_oid) == ("275126322074974", "1.2.250.1.213.1.4.10")
    assert (request.message_id_root, request.message_id_extension) == (
        "1.2.250.1.999.1.1.356.3", "a1b2")
    assert (request.sender_id, request.sender_name) == ("1.2.250.1.999.1.1.356", "MON-DPI")
    assert (request.query_id_root, request.query_id_extension) == ("1.2.250.1.999.1.1.356.4", "q-9")
    assert request.traits is None and request.author_id is None


def test_creation():
    request = parse(build.create(ins="297022A02077878", ins_oid="1.2.250.1.213.1.4.8",
                                 opposes_acces_urgence=True))
    assert (request.interaction, request.reason_code) == ("PRPA_IN201311UV02", "CREA_RD")
    assert (request.patient_ins, request.patient_oid) == ("297022A02077878", "1.2.250.1.213.1.4.8")
    assert request.traits == build.ADRUN_TRAITS
    assert request.observations == {"CONSENTEMENT_OUVERTURE_DMP": True,
                                    "OPPOSITION_BRIS_DE_GLACE": False,
                                    "OPPOSITION_ACCES_URGENCE": True}
    # The Vitale block is kept as the card gives it: birth date YYMMDD, no sex.
    assert request.vitale_traits == PatientTraits(birth_name="ADRUN", given_names="ZOE", sex="",
                                                  birth_date="751231")
    assert (request.author_id, request.author_structure) == ("899900063480", "10B0167011")


def test_reactivation():
    request = parse(build.reactivate())
    assert (request.interaction, request.reason_code) == ("PRPA_IN201314UV02", "REAC")
    assert request.observations == {"CONSENTEMENT_REACTIVATION_DMP": True}


def test_update_keeps_what_is_not_sent():
    sent = PatientTraits(birth_name="", given_names="", sex="", birth_date="",
                         used_name="MARTIN", telecoms=("mailto:zoe@example.org",))
    request = parse(build.modify(traits=sent))
    assert request.reason_code == "MODIF_DATA"
    assert request.traits == PatientTraits(birth_name="MARTIN", given_names="", sex="",
                                           birth_date="", used_name="MARTIN",
                                           telecoms=("mailto:zoe@example.org",))
    merged = updated_traits(build.ADRUN_TRAITS, PatientTraits(
        birth_name="", given_names="", sex="", birth_date="", used_name="MARTIN",
        telecoms=("mailto:zoe@example.org",)))
    assert merged.birth_name == "ADRUN" and merged.used_name == "MARTIN"
    assert merged.telecoms == ("mailto:zoe@example.org",)
    assert merged.address == build.ADRUN_TRAITS.address


def test_closure():
    request = parse(build.close(text="Décès"))
    assert (request.reason_code, request.close_reason, request.close_text) == (
        "FERM", "FERMETURE_DEMANDE_PATIENT", "Décès")
    assert request.author_id == "899900063480"


# --- name, telecom and address rules -------------------------------------------------

def test_birth_and_used_names_by_qualifier():
    traits = PatientTraits(birth_name="DURAND", used_name="MARTIN", given_names="MARIE CLAIRE",
                           sex="F", birth_date="1978-08-01")
    request = parse(build.create(traits=traits))
    assert (request.traits.birth_name, request.traits.used_name) == ("DURAND", "MARTIN")
    assert request.traits.given_names == "MARIE CLAIRE"


def test_only_sp_is_both_birth_and_used_name_as_mediboard_sends_it():
    root = edited(build.create(), "//h:patientPerson/h:name/h:family", qualifier="SP")
    request = parse_patient_request(root)
    assert (request.traits.birth_name, request.traits.used_name) == ("ADRUN", "ADRUN")


def test_family_without_qualifier_is_the_birth_name():
    root = tree(build.create())
    del root.xpath("//h:patientPerson/h:name/h:family", namespaces=NS)[0].attrib["qualifier"]
    assert parse_patient_request(root).traits.birth_name == "ADRUN"


def test_empty_telecoms_are_skipped_and_lunar_birth_dates_kept():
    root = edited(build.create(), "//h:patientPerson/h:birthTime", value="19750000")
    person = root.xpath("//h:patientPerson", namespaces=NS)[0]
    empty = etree.SubElement(person, "{urn:hl7-org:v3}telecom", value="")
    person.find("h:telecom", NS).addnext(empty)
    traits = parse_patient_request(root).traits
    assert traits.birth_date == "1975-00-00" and traits.telecoms == ("tel:0102030405",)


def test_empty_vitale_block_is_no_vitale_block():
    root = tree(build.create())
    for node in root.xpath("//h:contactPerson/h:name/*", namespaces=NS):
        node.text = ""
    root.xpath("//h:contactPerson/h:birthTime", namespaces=NS)[0].set("value", "")
    assert parse_patient_request(root).vitale_traits is None


def test_ins_is_taken_among_several_ids():
    root = tree(build.create())
    patient_id = root.xpath("//h:patient/h:id", namespaces=NS)[0]
    insc = etree.Element("{urn:hl7-org:v3}id", root="1.2.250.1.213.1.4.2",
                         extension="0803027695502382121519")
    patient_id.addprevious(insc)
    assert parse_patient_request(root).patient_ins == "275126322074974"


# --- errors --------------------------------------------------------------------------

def test_unknown_interaction():
    error = refused(tree(b'<PRPA_IN201305UV02 xmlns="urn:hl7-org:v3"/>'))
    assert error.location == "/PRPA_IN201305UV02" and error.code == codes.NOT_ALLOWED
    assert "PRPA_IN201307UV02, PRPA_IN201311UV02, PRPA_IN201314UV02" in error.message


def test_root_without_the_hl7_namespace():
    xml = build.query().replace(b' xmlns="urn:hl7-org:v3"', b"")
    error = refused(tree(xml))
    assert "must be in namespace urn:hl7-org:v3" in error.message
    assert "(no namespace)" in error.message


def test_child_in_the_wrong_namespace_is_named():
    root = tree(build.query())
    control = root.find("h:controlActProcess", NS)
    control.find("h:reasonCode", NS).tag = "{urn:example}reasonCode"
    error = refused(root)
    assert error.location == "/PRPA_IN201307UV02/controlActProcess/reasonCode"
    assert "namespace urn:example" in error.message and "urn:hl7-org:v3" in error.message


def test_interaction_id_must_match_the_root_element():
    error = refused(tree(build.query(interaction_id="PRPA_IN201311UV02")))
    assert error.location == "/PRPA_IN201307UV02/interactionId/@extension"
    assert "'PRPA_IN201311UV02' but the message is PRPA_IN201307UV02" in error.message


def test_interaction_id_root():
    error = refused(edited(build.query(), "h:interactionId", root="2.16.840.1.113883.1.18"))
    assert "2.16.840.1.113883.1.6" in error.message and "'2.16.840.1.113883.1.18'" in error.message


def test_message_id_is_required():
    error = refused(edited(build.create(), "h:id", drop=True))
    assert (error.location, error.code) == ("/PRPA_IN201311UV02/id", codes.MISSING)
    assert "required element id is missing" in error.message


def test_processing_code():
    error = refused(edited(build.query(), "h:processingCode", code="X"))
    assert "P, D or T" in error.message and "'X'" in error.message
    assert parse(build.query(processing_code="D")).processing_code == "D"


def test_receiver_must_be_the_dmp():
    error = refused(tree(build.query(receiver_oid="1.2.3")))
    assert error.location == "/PRPA_IN201307UV02/receiver/device/id/@root"
    assert "1.2.250.1.213.4.1.1.1" in error.message and "'1.2.3'" in error.message


def test_reason_code_is_required():
    error = refused(edited(build.query(), "h:controlActProcess/h:reasonCode", drop=True))
    assert (error.location, error.code) == ("/PRPA_IN201307UV02/controlActProcess/reasonCode",
                                            codes.MISSING)


@pytest.mark.parametrize("xml, reason, expected", [
    (build.query, "CREA_RD", "TEST_EXST or CNSLT_DATA"),
    (build.create, "FERM", "CREA_RD"),
    (build.close, "TEST_EXST", "REAC or MODIF_DATA or FERM"),
])
def test_reason_code_must_belong_to_the_interaction(xml, reason, expected):
    error = refused(edited(xml(), "h:controlActProcess/h:reasonCode", code=reason))
    assert error.code == codes.NOT_ALLOWED and error.location.endswith("/reasonCode/@code")
    assert f"reasonCode '{reason}' is not allowed" in error.message and expected in error.message


def test_reason_code_system():
    error = refused(edited(build.query(), "h:controlActProcess/h:reasonCode", codeSystem="1.2.3"))
    assert "1.2.250.1.213.1.1.4.11" in error.message and error.location.endswith("/@codeSystem")


def test_insc_is_refused_in_v2():
    error = refused(tree(build.query(ins="0803027695502382121519", ins_oid="1.2.250.1.213.1.4.2")))
    assert "l'INSc n'est plus reconnu par le DMP en V2" in error.message
    assert error.location.endswith("/patientIdentifier/value/@root")


def test_unknown_oid_lists_the_ins_oids():
    error = refused(tree(build.create(ins_oid="1.2.250.1.999")))
    assert error.location == "/PRPA_IN201311UV02/controlActProcess/subject/registrationRequest/" \
                             "subject1/patient/id/@root"
    for oid in ("1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9", "1.2.250.1.213.1.4.10",
                "1.2.250.1.213.1.4.11"):
        assert oid in error.message


def test_thirteen_characters_ask_for_the_key():
    error = refused(tree(build.query(ins="2751263220749")))
    assert "13 characters" in error.message and "2-digit key" in error.message


@pytest.mark.parametrize("ins", ["27512632207497", "2751263220749AB", "X75126322074974", ""])
def test_malformed_ins(ins):
    error = refused(tree(build.query(ins=ins)))
    assert error.location.endswith("/value/@extension")


def test_wrong_key_is_refused_unless_asked_not_to_check():
    error = refused(tree(build.query(ins="275126322074975")))
    assert "key 75" in error.message and "is 74" in error.message
    unchecked = parse(build.query(ins="275126322074975"), check_key=False)
    assert unchecked.patient_ins == "275126322074975"


def test_corsican_ins_is_accepted():
    assert parse(build.query(ins="297022A02077878")).patient_ins == "297022A02077878"


@pytest.mark.parametrize("consent, code, state", [(None, codes.MISSING, "missing"),
                                                  (False, codes.NOT_ALLOWED, "false")])
def test_creation_needs_the_opening_consent(consent, code, state):
    error = refused(tree(build.create(consent=consent)))
    assert error.code == code
    assert "CONSENTEMENT_OUVERTURE_DMP with value true" in error.message and state in error.message


def test_reactivation_needs_the_reactivation_consent():
    error = refused(tree(build.reactivate(consent=False)))
    assert "CONSENTEMENT_REACTIVATION_DMP" in error.message


def test_creation_needs_the_person():
    error = refused(tree(build.create(traits=None)))
    assert error.location.endswith("/patient/patientPerson") and error.code == codes.MISSING


@pytest.mark.parametrize("xpath, location, words", [
    ("//h:patientPerson/h:birthTime", "/patientPerson/birthTime", "birth date"),
    ("//h:patientPerson/h:administrativeGenderCode", "/patientPerson/administrativeGenderCode",
     "sex"),
    ("//h:patientPerson/h:name/h:given", "/patientPerson/name/given", "first name"),
    ("//h:patientPerson/h:name/h:family", "/patientPerson/name/family", "family"),
])
def test_creation_needs_each_trait(xpath, location, words):
    error = refused(edited(build.create(), xpath, drop=True))
    assert error.location.endswith(location) and words in error.message
    assert error.code == codes.MISSING


def test_update_without_those_traits_is_fine():
    root = edited(build.modify(), "//h:patientPerson/h:birthTime", drop=True)
    assert parse_patient_request(root).traits.birth_date == ""


@pytest.mark.parametrize("xpath, value, words", [
    ("//h:patientPerson/h:administrativeGenderCode", {"code": "X"}, "M, F or U"),
    ("//h:patientPerson/h:birthTime", {"value": "1975-12-31"}, "YYYYMMDD"),
    ("//h:contactPerson/h:birthTime", {"value": "31/12/75"}, "YYMMDD"),
    ("//h:administrativeObservation/h:value", {"value": "oui"}, "true or false"),
    ("//h:administrativeObservation/h:code", {"codeSystem": "1.2.3"}, "1.2.250.1.213.4.1.2.3"),
])
def test_malformed_values(xpath, value, words):
    root = tree(build.create())
    root.xpath(xpath, namespaces=NS)[0].attrib.update(value)
    assert words in refused(root).message


def test_values_are_checked_in_updates_too():
    root = edited(build.modify(), "//h:patientPerson/h:administrativeGenderCode", code="H")
    assert "M, F or U" in refused(root).message


def test_closure_needs_its_reason():
    error = refused(tree(build.close(reason=None)))
    assert error.location == "/PRPA_IN201314UV02/controlActProcess/reasonOf"
    assert "closure reason" in error.message


def test_closure_reason_code_system():
    root = edited(build.close(), "//h:detectedIssueEvent/h:code",
                  codeSystem="1.2.250.1.213.4.1.2.3")
    assert "1.2.250.1.213.4.1.2.4" in refused(root).message


def test_author_is_required():
    error = refused(edited(build.reactivate(), "//h:registrationRequest/h:author", drop=True))
    assert error.location.endswith("/registrationRequest/author")
    assert "professional" in error.message


def test_author_id_root():
    error = refused(edited(build.create(), "//h:author/h:assignedEntity/h:id",
                           root="1.2.250.1.71.4.2.2"))
    assert "1.2.250.1.71.4.2.1" in error.message and "PS idNat" in error.message


def test_error_text_names_location_and_message():
    error = refused(tree(build.query(ins="2751263220749")))
    assert str(error) == f"{error.location}: {error.message}"
