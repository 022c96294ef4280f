"""TD0.0 identityCertification over a real socket, called by zeep built from the WSDL the
simulator serves (``patientCertif?wsdl``), through the regulatory timeline: answered on
2022-12-10, served with Deprecation/Sunset to the software seen in December and refused
to another on 2023-01-15, refused to everyone on 2023-04-29 (issue 5, DMP.md §3)."""
from __future__ import annotations

import pytest
import requests
import zeep

from dmp_live import DOCTOR, HTTP_TIMEOUT

RUTH_OD = "2760763220901"  # CNDA DE VINCI RUTH, ouvrant droit of test card 'INSi 01'
DONATELLO_INS = "112056322090236"
CALLER = DOCTOR.but(patient=None)  # TD0.0 names no patient in the VIHF
STRANGER = CALLER.but(LPS_Nom="AUTRE-DPI", LPS_Version="1.0",
                      Identifiant_Structure="10B0000000")


def certify(dmp, caller=CALLER, born: str = "2012-05-10", od: str = RUTH_OD, **extra):
    return dmp.client("patientCertif").call("identityCertification", caller, nirOD=od,
                                           dateNaissance=born, rangNaissance=1, **extra)


def refusal(dmp, caller) -> str:
    with pytest.raises(zeep.exceptions.Fault) as caught:
        certify(dmp, caller)
    return caught.value.message


def test_td00_through_the_timeline(live_server, dmp):
    live_server.set_clock("2022-12-10T09:00:00Z", frozen=True)
    answer = certify(dmp)
    assert (answer.result.status, answer.result.nirIndividu, answer.result.prenom,
            answer.result.nomPatronymique, answer.result.dateNaissance) == (
        "DMPOK", DONATELLO_INS, "DONATELLO", "DE VINCI", "2012-05-10")
    assert "Deprecation" not in answer.http.headers
    timeline = live_server.simulator.store.timeline
    assert timeline.provenance("10B0167011", DONATELLO_INS) == {"td00"}

    live_server.set_clock("2023-01-15T09:00:00Z", frozen=True)
    served = certify(dmp)
    assert served.result.status == "DMPOK"
    assert served.http.headers["Sunset"] == "Sat, 29 Apr 2023 00:00:00 GMT"
    assert served.http.headers["Deprecation"].startswith("@")
    message = refusal(dmp, STRANGER)
    assert "td00-deprecated" in message and "AUTRE-DPI-1.0" in message

    live_server.set_clock("2023-04-29T09:00:00Z", frozen=True)
    for caller in (CALLER, STRANGER):
        assert "td00-removed" in refusal(dmp, caller)


def test_td00_refusals_in_band_and_the_cnam_identity(live_server, dmp):
    live_server.set_clock("2022-12-10T09:00:00Z", frozen=True)
    assert certify(dmp, born="2012-05-11").result.status == "DMPNotFound"
    assert certify(dmp, born="2012-13-10").result.status == "DMPInvalidParameter"
    person = {"birth_name": "LEGRAND", "first_names": "JEAN-PHILIPPE", "sex": "M",
              "birth_date": "1980-03-14", "birth_place": "75112", "nir": "1800375112001",
              "cnam_traits": {"first_names": "JEAN PHILIPPE", "birth_date": "1980-03-00"}}
    created = requests.post(live_server.url("/_admin/identities"), json=person,
                            timeout=HTTP_TIMEOUT)
    assert created.status_code == 201, created.text
    answer = certify(dmp, od="1800375112001", born="1980-03-00",
                     nirIndividu="180037511200104")
    assert (answer.result.status, answer.result.prenom, answer.result.dateNaissance) == (
        "DMPOK", "JEAN", "1980-03-00")
    found = requests.get(live_server.url("/_admin/identities"),
                         params={"q": created.json()["insc"]}, timeout=HTTP_TIMEOUT).json()
    assert [i["key"] for i in found["identities"]] == [created.json()["key"]]
