"""TD0.5 (patient search without INS) over a real socket: zeep built from the served
``patientsPDQ?wsdl`` sends the kit-shaped PRPA_IN201305UV02 and reads the
PRPA_IN201306UV02 candidates; the VIHF names no patient."""
from __future__ import annotations

from simulator.kit import hl7
from dmp_live import DOCTOR, NS

SEARCHER = DOCTOR.but(patient=None)


def search(dmp, **criteria):
    return dmp.client("patientsPDQ").open_call(hl7.find_candidates(**criteria), SEARCHER)


def test_td05_finds_the_dmp_by_traits_with_zeep(live_server, dmp, adrun_dmp):
    found = search(dmp, name="adr", given="zoe", birth_date="19751231",
                   approximate_name=True)
    assert found.http.status_code == 200
    assert found.body.find("hl7:acknowledgement", NS).get("typeCode") == "AA"
    ack = found.body.find("hl7:controlActProcess/hl7:queryAck", NS)
    assert ack.find("hl7:queryResponseCode", NS).get("code") == "OK"
    patient = found.body.find(".//hl7:subject1/hl7:patient", NS)
    assert patient.find("hl7:id", NS).get("extension") == adrun_dmp
    assert patient.findtext("hl7:patientPerson/hl7:name/hl7:family", namespaces=NS) == "ADRUN"

    missing = search(dmp, name="ADRUN", sex="M")
    assert missing.body.find(".//hl7:queryResponseCode", NS).get("code") == "NF"
    too_short = search(dmp, name="A")
    assert too_short.body.find(".//hl7:queryResponseCode", NS).get("code") == "QE"
    detail = too_short.body.find("hl7:acknowledgement/hl7:acknowledgementDetail", NS)
    assert detail.find("hl7:code", NS).get("code") == "SYN102"
