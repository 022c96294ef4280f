"""The qualified-INS switch on v2 feeds (issue 5): before 2023-04-29 a non-qualified
feed is accepted and counted as such; from that day it is refused in the
RegistryResponse with the rule's name and date."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from simulator.kit import xds
from dmp_builders.client import Dmp
from simulator.settings import parse_datetime

RS_FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
RS_SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
WRONG_DATE = ("PID-5|ADRUN^ZOE^^^^^L", "PID-7|19751230", "PID-8|F")


def dmp_at(make_app, now: str) -> Dmp:
    dmp = Dmp(make_app(date=parse_datetime(now), frozen=True, population=0), now=now)
    dmp.create_dmp()
    return dmp


def test_before_the_switch_a_non_qualified_feed_is_accepted_and_counted(make_app):
    dmp = dmp_at(make_app, "2023-04-28T10:00:00Z")
    assert dmp.feed(documents=(xds.Doc(patient_info=WRONG_DATE),)).body.get("status") \
        == RS_SUCCESS
    assert dmp.feed(documents=(xds.Doc(unique_id="1.2.250.1.999.1.1.8121.21.2"),),
                    set_unique_id="1.2.250.1.999.1.1.8121.7.2",
                    signature_unique_id="1.2.250.1.999.1.1.8121.9.2").body.get("status") == RS_SUCCESS
    feeds = dmp.http.application.simulator.store.timeline.feeds()
    assert {(f["month"], f["structure"], f["software"], f["kind"], f["documents"])
            for f in feeds} == {("2023-04", "10B0167011", "MON-DPI-4.2", "non-qualified", 1),
                                ("2023-04", "10B0167011", "MON-DPI-4.2", "qualified", 1)}


def test_from_the_switch_a_non_qualified_feed_is_refused_naming_the_rule(make_app):
    dmp = dmp_at(make_app, "2023-04-29T08:00:00Z")
    answer = dmp.feed(documents=(xds.Doc(patient_info=WRONG_DATE),))
    assert answer.body.get("status") == RS_FAILURE
    error = answer.body.find(".//{urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0}RegistryError")
    assert error.get("errorCode") == "XDSRegistryError"
    assert error.get("codeContext").startswith(
        "dmp-feeding-requires-qualified-ins: The DMP can no longer be fed without a "
        "qualified INS (since 2023-04-29); the document's birth date 19751230 differs")
    assert dmp.http.application.simulator.store.dmp.count_documents() == 0
    assert dmp.feed().body.get("status") == RS_SUCCESS  # a qualified one still goes in


def test_an_ins_obtained_only_through_td00_is_refused_after_the_switch(make_app):
    dmp = dmp_at(make_app, "2023-05-02T08:00:00Z")
    timeline = dmp.http.application.simulator.store.timeline
    timeline.record_provenance([("10B0167011", "275126322074974", "td00",
                                 datetime(2022, 12, 5, tzinfo=timezone.utc))])
    answer = dmp.feed()
    assert answer.body.get("status") == RS_FAILURE
    assert "obtained the INS 275126322074974 only through TD0.0" in answer.body.find(
        ".//{urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0}RegistryError").get("codeContext")


def test_calendar_refusals_are_counted_in_the_metrics(make_app):
    dmp = dmp_at(make_app, "2023-04-29T08:00:00Z")
    dmp.feed(documents=(xds.Doc(patient_info=WRONG_DATE),))
    td00 = ('<p:identityCertification xmlns:p="urn:si-dmp-patients"><p:nirOD>2760763220901'
            "</p:nirOD><p:dateNaissance>2012-05-10</p:dateNaissance><p:rangNaissance>1"
            "</p:rangNaissance></p:identityCertification>")
    refused = dmp.call("patientCertif", td00,
                       "urn:si-dmp-patients:PatientCertificationEndPoint:identityCertification",
                       patient=None)
    assert refused.response.status_code == 500
    # (every series also names the replica that answered: left out of the comparison)
    metrics = re.sub(r',replica="[^"]*"', "", dmp.http.get("/metrics").get_data(as_text=True))
    assert ('insi_dmp_sim_calendar_refusals_total{service="dmp",operation='
            '"ProvideAndRegisterDocumentSet-b",rule="dmp-feeding-requires-qualified-ins"} 1'
            in metrics)
    assert ('insi_dmp_sim_calendar_refusals_total{service="dmp",operation='
            '"identityCertification",rule="td00-removed"} 1' in metrics)
    assert dmp.feed().body.get("status") == RS_SUCCESS  # accepted: not a refusal
    assert metrics.count("calendar_refusals_total{") == 2
    assert dmp.http.get("/metrics").get_data(as_text=True).count(
        "calendar_refusals_total{") == 2

