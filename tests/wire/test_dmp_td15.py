"""TD1.5a-d (the patient's web access, ``patientsSpecific``) at the endpoint: whole
envelopes in, the answer's soap:Body child compared by exclusive C14N with hand-written
goldens and validated against the published XSD; the removal on 2024-06-11 (the DMP
WSDL package 2.01.04) as the fault TD0.0 gets once removed, and the readiness report."""
from __future__ import annotations

import re

import base64
import hashlib
from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from dmp_builders.client import (
    Answer, Dmp, NOW, PAT, assert_reply_addressing, c14n, golden)
from simulator.settings import parse_datetime

ACTION = f"{PAT}:PatientSpecificEndPoint:"
XSD = Path(__file__).resolve().parents[2] / "wsdl" / "dmp" / "xsd" / "si-dmp-patients.xsd"
ZOE_INS = "275126322074974"
SOAP = "http://www.w3.org/2003/05/soap-envelope"


def create_access(kind: str = "EMAIL", channel: str = "zoe@example.org") -> str:
    return (f'<p:createPatientAccess xmlns:p="{PAT}"><p:otpChannelType>{kind}'
            f"</p:otpChannelType><p:channel>{channel}</p:channel></p:createPatientAccess>")


def otp_update(kind: str, channel: str | None, action: str) -> str:
    address = f"<p:channel>{channel}</p:channel>" if channel is not None else ""
    return (f'<p:patientOTPUpdate xmlns:p="{PAT}"><p:channelType>{kind}</p:channelType>'
            f"{address}<p:action>{action}</p:action></p:patientOTPUpdate>")


UPDATE_ACCESS = f'<p:updatePatientAccess xmlns:p="{PAT}"/>'


@pytest.fixture(scope="module")
def schema():
    return xmlschema.XMLSchema(str(XSD))


@pytest.fixture
def dmp(make_app) -> Dmp:
    return Dmp(make_app(date=parse_datetime(NOW), frozen=True, population=0))


def call(dmp: Dmp, operation: str, body: str, **options) -> Answer:
    return dmp.call("patientsSpecific", body, ACTION + operation, **options)


def assert_golden(answer: Answer, operation: str, name: str, schema) -> None:
    assert answer.response.status_code == 200
    assert_reply_addressing(answer, f"{ACTION}{operation}Response")
    assert c14n(answer.body) == c14n(golden(name))
    errors = [f"{e.path}: {e.reason}" for e in schema.iter_errors(answer.body)]
    assert not errors, errors


def status(answer: Answer) -> str:
    return answer.body.findtext(f"{{{PAT}}}status")


def test_requests_are_valid_against_the_published_schema(schema):
    for body in (create_access(), otp_update("SMS", "0612345678", "AJOUT"),
                 otp_update("SMS", None, "SUPPRESSION"), UPDATE_ACCESS):
        assert schema.is_valid(etree.fromstring(body)), body


def test_create_gives_the_login_then_already_exists(dmp, schema):
    dmp.create_dmp_and_authorise()
    assert_golden(call(dmp, "createPatientAccess", create_access()), "createPatientAccess",
                  "specific-td15-create-ok.xml", schema)
    expected = base64.b32encode(hashlib.sha256(
        f"{ZOE_INS}|2024-03-01T08:30:00+00:00".encode()).digest()).decode()[:10]
    assert golden("specific-td15-create-ok.xml").findtext(f"{{{PAT}}}login") == expected
    assert_golden(call(dmp, "createPatientAccess", create_access("SMS", "0612345678")),
                  "createPatientAccess", "specific-td15-create-already-exists.xml", schema)


def test_otp_channels_and_new_codes(dmp, schema):
    dmp.create_dmp_and_authorise()
    assert_golden(call(dmp, "updatePatientAccess", UPDATE_ACCESS), "updatePatientAccess",
                  "specific-td15-update-no-access.xml", schema)
    assert status(call(dmp, "createPatientAccess", create_access())) == "DMPOK"
    assert_golden(call(dmp, "patientOTPUpdate", otp_update("EMAIL", "z@example.org", "AJOUT")),
                  "patientOTPUpdate", "specific-td15-otp-already-exists.xml", schema)
    assert_golden(call(dmp, "patientOTPUpdate", otp_update("SMS", "06 12 34 56 78", "AJOUT")),
                  "patientOTPUpdate", "specific-td15-otp-ok.xml", schema)
    assert status(call(dmp, "patientOTPUpdate", otp_update("SMS", None, "SUPPRESSION"))) \
        == "DMPOK"
    assert_golden(call(dmp, "updatePatientAccess", UPDATE_ACCESS), "updatePatientAccess",
                  "specific-td15-update-ok.xml", schema)


@pytest.mark.parametrize("body, code", [
    (create_access("FAX", "0612345678"), "DMPInvalidParameter"),
    (create_access("EMAIL", ""), "DMPInvalidParameter"),
    (otp_update("SMS", "0612345678", "MODIFICATION"), "DMPPatientAccessOTPNotFound"),
    (otp_update("EMAIL", None, "SUPPRESSION"), "DMPInvalidParameter"),
])
def test_refusals_are_in_band(dmp, schema, body, code):
    dmp.create_dmp_and_authorise()
    call(dmp, "createPatientAccess", create_access())
    operation = etree.QName(etree.fromstring(body)).localname
    answer = call(dmp, operation, body)
    assert (answer.response.status_code, status(answer)) == (200, code)
    assert schema.is_valid(answer.body)


def test_the_patient_comes_from_the_vihf_and_the_caller_needs_an_authorisation(dmp):
    assert status(call(dmp, "createPatientAccess", create_access())) == "DMPNotFound"
    dmp.create_dmp()
    refused = call(dmp, "createPatientAccess", create_access())
    assert status(refused) == "DMPAccessDenied"
    assert "NON_EXISTE" in refused.body.findtext(f"{{{PAT}}}context")
    without_patient = call(dmp, "createPatientAccess", create_access(), patient=None)
    assert without_patient.response.status_code == 500
    assert b"InvalidSecurity" in without_patient.response.data


def test_the_authorisation_rule_can_be_lifted(make_app):
    dmp = Dmp(make_app(date=parse_datetime(NOW), frozen=True, population=0,
                       dmp_patient_access_needs_authorisation=False))
    dmp.create_dmp()
    assert status(call(dmp, "createPatientAccess", create_access())) == "DMPOK"


def test_td15_is_refused_from_its_removal_like_a_removed_td00(make_app):
    removed_at = "2024-06-11T00:00:00Z"
    dmp = Dmp(make_app(date=parse_datetime(removed_at), frozen=True, population=0),
              now=removed_at)
    dmp.create_dmp_and_authorise()
    for operation, body in (("createPatientAccess", create_access()),
                            ("patientOTPUpdate", otp_update("SMS", "0612345678", "AJOUT")),
                            ("updatePatientAccess", UPDATE_ACCESS)):
        answer = call(dmp, operation, body)
        assert answer.response.status_code == 500
        assert c14n(answer.body) == c14n(golden("fault-td15-removed.xml"))
    # (every series also names the replica that answered: left out of the comparison)
    metrics = re.sub(r',replica="[^"]*"', "", dmp.http.get("/metrics").get_data(as_text=True))
    for operation in ("createPatientAccess", "patientOTPUpdate", "updatePatientAccess"):
        assert ('insi_dmp_sim_calendar_refusals_total{service="dmp",operation='
                f'"{operation}",rule="td15-removed"}} 1') in metrics
    listing = call(dmp, "patientList", f'<p:patientList xmlns:p="{PAT}"><p:date>2024-01-01'
                   "</p:date><p:dateType>LASTAUTORIZATION</p:dateType></p:patientList>",
                   patient=None)
    assert status(listing) == "DMPOK"


def test_the_day_before_the_removal_td15_answers(make_app):
    day_before = "2024-06-10T23:59:00Z"
    dmp = Dmp(make_app(date=parse_datetime(day_before), frozen=True, population=0),
              now=day_before)
    dmp.create_dmp_and_authorise()
    assert status(call(dmp, "createPatientAccess", create_access())) == "DMPOK"


def test_td15_calls_reach_the_readiness_report(dmp):
    dmp.create_dmp_and_authorise()
    call(dmp, "createPatientAccess", create_access())
    call(dmp, "updatePatientAccess", UPDATE_ACCESS)
    for on, breaks in (("2024-06-10", []), ("2024-06-11", [("td15", "td15-removed", 2)])):
        report = dmp.http.get("/_admin/reports/readiness", query_string={"date": on}).get_json()
        [entry] = [e for e in report["software"] if "td15" in e["apis"]]
        assert entry["apis"]["td15"]["operations"] == ["createPatientAccess",
                                                        "updatePatientAccess"]
        assert [(b["api"], b["rule"], b["count"]) for b in entry["breaks"]] == breaks
        assert any("TD1.5" in finding for finding in entry["findings"])


def wsdl_operations(dmp: Dmp) -> set[str]:
    wsdl = etree.fromstring(dmp.http.get("/si-dmp-server/v2/services/patientsSpecific",
                                         query_string="wsdl").data)
    return {op.get("name") for op in wsdl.iterfind(
        "{http://schemas.xmlsoap.org/wsdl/}portType/{http://schemas.xmlsoap.org/wsdl/}operation")}


def test_the_served_wsdl_drops_td15_on_the_removal_day(make_app):
    before = Dmp(make_app(date=parse_datetime("2024-06-10T23:59:00Z"), frozen=True,
                          population=0))
    assert wsdl_operations(before) == {"patientList", "createPatientAccess",
                                       "patientOTPUpdate", "updatePatientAccess"}
    after = Dmp(make_app(date=parse_datetime("2024-06-11T00:00:00Z"), frozen=True,
                         population=0))
    assert wsdl_operations(after) == {"patientList"}
    moved = Dmp(make_app(date=parse_datetime("2024-06-11T00:00:00Z"), frozen=True,
                         population=0, dmp_td15_removal_switch=parse_datetime(
                             "2025-01-01").date()))
    assert "createPatientAccess" in wsdl_operations(moved)


def test_td02_says_whether_the_web_access_exists(dmp):
    from simulator.kit import hl7

    def web_access_flag() -> str:
        answer = dmp.call("patients", hl7.query(), "urn:hl7-org:v3:PRPA_IN201307UV02")
        [value] = answer.body.xpath(
            "//h:administrativeObservation[h:code/@code='COMPTE_INTERNET_OUVERT']/h:value/@value",
            namespaces={"h": "urn:hl7-org:v3"})
        return value

    dmp.create_dmp_and_authorise()
    assert web_access_flag() == "false"
    assert status(call(dmp, "createPatientAccess", create_access())) == "DMPOK"
    assert web_access_flag() == "true"


def test_the_authentication_mode_rule_applies_to_td15(make_app):
    dmp = Dmp(make_app(date=parse_datetime(NOW), frozen=True, population=0,
                       dmp_indirect_denied=("TD1.5a",)))
    dmp.create_dmp_and_authorise()
    indirect = {"Authentification_Mode": "INDIRECTE"}
    refused = call(dmp, "createPatientAccess", create_access(), **indirect)
    assert status(refused) == "DMPAccessDenied"
    assert "AUTH_MODE" in refused.body.findtext(f"{{{PAT}}}context")
    bad_channel = call(dmp, "createPatientAccess", create_access("FAX"), **indirect)
    assert status(bad_channel) == "DMPInvalidParameter"  # parameters first
    assert status(call(dmp, "createPatientAccess", create_access())) == "DMPOK"  # AIR
    assert status(call(dmp, "updatePatientAccess", UPDATE_ACCESS, **indirect)) == "DMPOK"
