"""DMP API v1 over a real socket, called by zeep clients built from the WSDLs the v1 paths
serve, walking a vendor's software through the regulatory timeline by moving the
simulated clock (issue 5, DMP.md §3): on 2022-12-10 v1 works by INS-C and the December
flow earns the grace; on 2023-01-15 that software is still served, with a Deprecation
header, and another one is refused; from 2023-04-29 v1 is refused to everyone, and the
DMP is fed through v2 with a qualified INS."""
from __future__ import annotations

import pytest
import requests
import zeep

from simulator.kit import hl7, registry, xds
from dmp_live import DOCTOR, HTTP_TIMEOUT, NS, SUCCESS, hl7_ack, td02, unique_ids, unique_oid
from dmp_v1_live import INS_C, V1_PATH, by_insc, insc_cx, insc_document

ADRUN_NIR = "2751263220749"  # ADRUN Zoé, a CNDA test person
SOFTWARE = "MON-DPI-4.2"  # LPS_Nom-LPS_Version of the builders' VIHF
STRUCTURE = "10B0167011"


def insc_of(live_server, nir: str) -> str:
    """The INS-C the identities API gives the person with this matricule."""
    found = requests.get(live_server.url("/_admin/identities"), params={"q": nir},
                         timeout=HTTP_TIMEOUT).json()["identities"]
    assert len(found) == 1, found
    return found[0]["insc"]


def v1_fault(call) -> str:
    """The reason of the SOAP fault a v1 call gets."""
    with pytest.raises(zeep.exceptions.Fault) as caught:
        call()
    return caught.value.message


def test_a_vendor_software_through_the_v1_timeline(live_server, dmp, dmp_v1):
    insc = insc_of(live_server, ADRUN_NIR)
    doctor = by_insc(DOCTOR, insc)
    stranger = doctor.but(LPS_Nom="AUTRE-DPI", LPS_Version="1.0",
                          Identifiant_Structure="10B0000000")

    def query(caller=doctor):
        return dmp_v1.patients(hl7.query(ins=insc, ins_oid=INS_C), caller)

    # 2022-12-10: API v1 open; the December flow is recorded.
    live_server.set_clock("2022-12-10T09:00:00Z", frozen=True)
    assert td02(query().body)[0] == "NF"
    created = dmp_v1.patients(hl7.create(ins=insc, ins_oid=INS_C), doctor)
    assert hl7_ack(created.body) == ("AA", None)
    assert created.http.url == f"{live_server.base_url}{V1_PATH}/patients"
    found = query()
    assert td02(found.body)[:2] == ("OK", "NON_EXISTE")
    assert "Deprecation" not in found.http.headers
    assert dmp_v1.set_authorization(doctor).result.status == "DMPOK"
    report = unique_oid()
    http, answer = dmp_v1.feed((insc_document(insc, report),), doctor,
                               patient_id=insc_cx(insc))
    assert (http.status_code, answer.get("status")) == (200, SUCCESS), http.text
    listed = dmp_v1.registry(registry.find_documents(insc_cx(insc)), doctor)
    assert report in unique_ids(listed.body)
    grace = requests.get(live_server.url("/_admin/dmp/grace"), timeout=HTTP_TIMEOUT).json()
    assert grace["stage"] == "open"
    assert {(r["kind"], r["name"], r["source"]) for r in grace["registrations"]
            if r["api"] == "dmp-v1"} == {("software", SOFTWARE, "flow"),
                                         ("structure", STRUCTURE, "flow")}

    # 2023-01-15: the grace; the software seen in December is served, deprecated.
    live_server.set_clock("2023-01-15T09:00:00Z", frozen=True)
    served = query()
    assert td02(served.body)[:2] == ("OK", "VALIDE")
    assert served.http.headers["Deprecation"] == "@1672531200"  # 2023-01-01
    assert served.http.headers["Sunset"] == "Sat, 29 Apr 2023 00:00:00 GMT"
    message = v1_fault(lambda: query(stranger))
    assert "dmp-v1-grace" in message and "AUTRE-DPI-1.0" in message

    # 2023-04-29: v1 refused for everyone; the DMP is fed through v2 with a qualified INS.
    live_server.set_clock("2023-04-29T09:00:00Z", frozen=True)
    for caller in (doctor, stranger):
        assert "dmp-v1-closed" in v1_fault(lambda: query(caller))
    http, answer = dmp_v1.feed((insc_document(insc, unique_oid()),), doctor,
                               patient_id=insc_cx(insc))
    assert http.status_code == 500 and "dmp-v1-closed" in answer.findtext(
        f"{{{NS['soap']}}}Reason/{{{NS['soap']}}}Text")
    v2_report = unique_oid()
    fed = dmp.feed((xds.Doc(unique_id=v2_report),), DOCTOR)
    assert fed.status == SUCCESS, fed.response
    by_ins = unique_ids(dmp.registry(registry.find_documents()).body)
    assert v2_report in by_ins and report not in by_ins  # v1 documents carry the INS-C
    feeds = {(f["month"], f["kind"], f["documents"])
             for f in live_server.simulator.store.timeline.feeds()}
    assert feeds == {("2022-12", "ins-c", 1), ("2023-04", "qualified", 1)}

    # A non-qualified feed (traits contradicting the INSi identity) is refused too.
    refused = dmp.feed((xds.Doc(unique_id=unique_oid(), patient_info=(
        "PID-5|ADRUN^ZOE^^^^^L", "PID-7|19751230", "PID-8|F")),), DOCTOR)
    assert refused.status.endswith("Failure")

    # The reports say what was sent, over HTTP.
    feeding = requests.get(live_server.url("/_admin/reports/feeding"),
                           timeout=HTTP_TIMEOUT).json()
    assert [(m["structure"], m["month"], m["qualified"], m["ins_c"], m["non_qualified"])
            for m in feeding["months"]] == [(STRUCTURE, "2022-12", 0, 1, 0),
                                            (STRUCTURE, "2023-04", 1, 0, 0)]
    readiness = requests.get(live_server.url("/_admin/reports/readiness"),
                             params={"date": "2023-04-29"}, timeout=HTTP_TIMEOUT).json()
    ours = [r for r in readiness["software"]
            if (r["software"], r["structure"]) == (SOFTWARE, STRUCTURE)]
    assert len(ours) == 1 and {"dmp-v1", "dmp-v2"} <= set(ours[0]["apis"])
    assert {b["rule"] for b in ours[0]["breaks"]} >= {"dmp-v1-closed",
                                                     "dmp-feeding-requires-qualified-ins"}
