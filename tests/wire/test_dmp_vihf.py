"""The VIHF reader on assertions shaped like the ones DMP clients send (brief §4.2)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from lxml import etree

from simulator.services.dmp.vihf import (
    PURPOSE_OF_USE, RESOURCE_ID, ROLE, SUBJECT_ID, Role, VihfError, read_vihf)
from simulator.settings import parse_datetime
from simulator.kit import soap as builder

NOW = parse_datetime("2024-03-01T10:00:00Z")
SKEW = timedelta(minutes=10)
ADRUN = f"{builder.ADRUN}^^^&{builder.TEST_OID}&ISO^NH"


def header(issue_instant="2024-03-01T09:58:30Z", signed=True, drop=(), **changes) -> etree._Element:
    """A SOAP header whose wsse:Security holds a VIHF; ``changes`` replace attributes."""
    options = {**changes, **{name: None for name in drop}}
    return etree.fromstring(
        '<soap:Header xmlns:soap="http://www.w3.org/2003/05/soap-envelope">'
        + builder.vihf(issue_instant, signed=signed, **options) + "</soap:Header>")


def read(element, require_patient=True, require_signature=True):
    return read_vihf(element, NOW, max_skew=SKEW, require_patient=require_patient,
                     require_signature=require_signature)


def test_a_complete_vihf_is_read():
    vihf = read(header())
    assert (vihf.name_id, vihf.structure_id, vihf.subject_name) == (
        "10B0167011/00B1022322", "10B0167011", "Jean DUPONT")
    assert (vihf.auth_mode, vihf.access_mode, vihf.profession) == (
        "INDIRECTE_RENFORCEE", "normal", "10")
    assert vihf.roles == (Role("10", "1.2.250.1.71.1.2.7"), Role("SM26", "1.2.250.1.71.4.2.5"))
    assert (vihf.patient_ins, vihf.patient_oid) == ("275126322074974", "1.2.250.1.213.1.4.10")
    assert (vihf.software_name, vihf.software_version, vihf.homologation_id) == (
        "MON-DPI", "4.2", "EVO-20200654-tmp8")
    assert vihf.signed and vihf.issue_instant == parse_datetime("2024-03-01T09:58:30Z")


@pytest.mark.parametrize("name", [
    "VIHF_Version", "Authentification_Mode", "Secteur_Activite", "Ressource_URN",
    SUBJECT_ID, "Identifiant_Structure", "LPS_Nom", "LPS_Version", "LPS_ID_HOMOLOGATION_DMP"])
def test_each_required_text_attribute_is_named_when_missing(name):
    with pytest.raises(VihfError, match=f"attribute {name} is missing or empty"):
        read(header(drop=(name,)))


@pytest.mark.parametrize("changes, message", [
    ({"Authentification_Mode": "CPS"}, "Authentification_Mode must be one of DIRECTE"),
    ({"Ressource_URN": "urn:dmp2"}, "Ressource_URN must be urn:dmp"),
    ({"Secteur_Activite": "SA07"}, "Secteur_Activite must be code^OID"),
    ({RESOURCE_ID: "275126322074974"}, "must be INS^^^&OID&ISO^NH"),
    ({RESOURCE_ID: "275126322074974^^^&1.2.250.1.999&ISO^NH"}, "1.2.250.1.999 is not an INS OID"),
    ({ROLE: ("10",)}, "must hold hl7:Role values with a code"),
    ({PURPOSE_OF_USE: ('<hl7:PurposeOfUse xmlns:hl7="urn:hl7-org:v3" code="urgence" '
                       'codeSystem="1.2.250.1.213.1.1.4.248"/>',)},
     "must be one of normal, bris_de_glace, centre_15, got 'urgence'"),
    ({PURPOSE_OF_USE: ('<hl7:PurposeOfUse xmlns:hl7="urn:hl7-org:v3" code="normal" '
                       'codeSystem="1.2.3"/>',)}, "TRE_R248_ModeAcces"),
])
def test_inconsistent_values_are_refused_with_what_was_expected(changes, message):
    with pytest.raises(VihfError) as error:
        read(header(**changes))
    assert message in str(error.value)


def test_missing_assertion_and_subject():
    with pytest.raises(VihfError, match="the VIHF\\) is missing"):
        read(etree.fromstring('<h xmlns="http://www.w3.org/2003/05/soap-envelope"/>'))
    with pytest.raises(VihfError, match="the VIHF\\) is missing"):
        read(None)


def test_issue_instant_must_be_close_to_the_simulated_clock():
    assert read(header(issue_instant="2024-03-01T10:09:59Z"))
    with pytest.raises(VihfError, match="more than 0:10:00 away from the platform's time"):
        read(header(issue_instant="2024-03-01T09:49:59Z"))
    with pytest.raises(VihfError, match="must carry its time zone"):
        read(header(issue_instant="2024-03-01T10:00:00"))
    with pytest.raises(VihfError, match="must be an xs:dateTime"):
        read(header(issue_instant="yesterday"))


def test_bris_de_glace_needs_a_card():
    bdg = ('<hl7:PurposeOfUse xmlns:hl7="urn:hl7-org:v3" code="bris_de_glace" '
           'codeSystem="1.2.250.1.213.1.1.4.248"/>',)
    assert read(header(**{PURPOSE_OF_USE: bdg, "Authentification_Mode": "DIRECTE"})) \
        .access_mode == "bris_de_glace"
    with pytest.raises(VihfError, match="bris de glace needs direct authentication"):
        read(header(**{PURPOSE_OF_USE: bdg}))


def test_indirect_modes_must_be_signed_unless_relaxed():
    with pytest.raises(VihfError, match="must be signed"):
        read(header(signed=False))
    assert not read(header(signed=False), require_signature=False).signed
    assert read(header(signed=False, Authentification_Mode="DIRECTE"))


def test_patient_only_required_when_the_transaction_names_one():
    with pytest.raises(VihfError, match="the patient's INS\\) is missing"):
        read(header(drop=(RESOURCE_ID,)))
    vihf = read(header(drop=(RESOURCE_ID,)), require_patient=False)
    assert vihf.patient_ins is None and vihf.patient_oid is None
