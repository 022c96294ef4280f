"""The patients service's HL7 answers are written as text (hl7/transmission.py, issue 15):
the bytes must be those lxml writes for the same element, with any value, and the
same inside the SOAP envelope. (On 648 answers with such values, they were compared
byte for byte with the element-building code they replaced: benchmarks/README.md.)"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from lxml import etree

from simulator.services.dmp.access import Authorisation
from simulator.services.dmp.binding import _envelope
from simulator.services.dmp.hl7.requests import PatientRequest
from simulator.services.dmp.hl7.responses import (
    answered_interaction, write_acceptance, write_query_response, write_rejection)
from simulator.services.dmp.records import CLOSED, DmpRecord, PatientTraits
from simulator.soap.addressing import response_envelope

H = "{urn:hl7-org:v3}"
NOW = datetime(2024, 3, 1, 11, 0, tzinfo=timezone(timedelta(hours=1)))
ODD = ["O'BRIEN & <CO> \"X\"", "tab\there\nline\r\nend", "ÉLODIE ß €", "A]]>B", "😀"]


def query(value: str, interaction: str = "PRPA_IN201307UV02",
          reason: str = "CNSLT_DATA") -> PatientRequest:
    return PatientRequest(interaction=interaction, reason_code=reason, message_id_root=value,
                          message_id_extension=value, sender_id=value, sender_name=value,
                          patient_ins="275126322074974", patient_oid="1.2.250.1.213.1.4.10",
                          query_id_root=value, query_id_extension=value)


def record(value: str) -> DmpRecord:
    traits = PatientTraits(birth_name=value, given_names=f"ZOE {value}", sex="F",
                           birth_date="1975-12-31", used_name=value, telecoms=(value,),
                           address=(value, "75005", value))
    return DmpRecord(ins="275126322074974", ins_oid="1.2.250.1.213.1.4.10", status=CLOSED,
                     traits=traits, created_at=NOW, updated_at=NOW, closed_at=NOW,
                     close_reason="FERMETURE_DEMANDE_PATIENT", close_text=value)


def answers(value: str) -> list[bytes]:
    common = dict(message_id=value, now=NOW)
    return [write_query_response(query(value), record=record(value),
                                 authorisation=Authorisation.INTERDIT, medecin_traitant=False,
                                 blocked_reason=value, **common),
            write_query_response(query(value, reason="TEST_EXST"), record=None,
                                 authorisation=Authorisation.NON_EXISTE,
                                 medecin_traitant=False, **common),
            write_acceptance(query(value, "PRPA_IN201314UV02", "FERM"), **common),
            write_rejection(query(value, "PRPA_IN201311UV02", "CREA_RD"), code="DMPFound",
                            text=value, **common)]


@pytest.mark.parametrize("value", ODD)
def test_the_text_is_what_lxml_writes_and_reads_back_the_values(value):
    for answer in answers(value):
        element = etree.fromstring(answer)
        assert etree.tostring(element, encoding="unicode").encode("utf-8") == answer
        assert element.tag == f"{H}{answered_interaction(answer)}"
        assert element.find(f"{H}receiver/{H}device/{H}softwareName").text == value
        assert element.find(f"{H}acknowledgement/{H}targetMessage/{H}id").get(
            "extension") == value
    found = etree.fromstring(answers(value)[0])
    person = found.find(f".//{H}patientPerson")
    assert person.find(f"{H}name/{H}family").text == value
    assert person.find(f"{H}telecom").get("value") == value
    assert found.find(f".//{H}detectedIssueEvent/{H}text").text == value


def test_the_envelope_around_the_text_is_the_envelope_around_the_element():
    for answer in answers(ODD[0]) + answers(ODD[2]):
        addressing = dict(action="urn:a", message_id="urn:uuid:1", relates_to="urn:uuid:2")
        assert _envelope(answer, **addressing) == \
            response_envelope(etree.fromstring(answer), **addressing)


@pytest.mark.parametrize("value", ["NUL\x00", "VT\x0b", "NON\ufffe"])
def test_a_value_xml_cannot_carry_is_refused_as_lxml_refused_it(value):
    with pytest.raises(ValueError):
        write_rejection(query("x", "PRPA_IN201311UV02", "CREA_RD"), message_id="m", now=NOW,
                        code="DMPFound", text=value)
