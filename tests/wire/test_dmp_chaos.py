"""Scenario rules on the DMP: matched by service, version, operation, software and
patient, answered with the DMP's own SOAP faults or HTTP statuses."""
from __future__ import annotations

from simulator.kit import hl7, registry
from dmp_builders.client import NOW, SOAP, Dmp
from simulator.settings import parse_datetime

SCENARIO = """
name: dmp-test
rules:
  - name: feeds-unavailable
    match: {service: dmp, version: v2, operation: ProvideAndRegisterDocumentSet-b}
    action: {fault: service_unavailable}
  - name: other-software-throttled
    match: {service: dmp, software: {lps_name: AUTRE-DPI}}
    action: {http_status: 429}
"""


def test_dmp_rules_fire_on_their_operation_and_software_only(make_app):
    dmp = Dmp(make_app(date=parse_datetime(NOW), frozen=True, population=0))
    put = dmp.http.put("/_admin/scenario", data=SCENARIO, content_type="application/yaml")
    assert put.status_code == 200, put.json
    dmp.create_dmp_and_authorise()  # patients and habilitations: untouched

    fed = dmp.feed()
    assert fed.response.status_code == 503
    reason = fed.envelope.findtext(f".//{{{SOAP}}}Reason/{{{SOAP}}}Text")
    assert reason == "The DMP service is temporarily unavailable (scenario)"
    assert dmp.http.application.simulator.store.dmp.count_documents() == 0

    found = dmp.call("registry", registry.find_documents(), "urn:ihe:iti:2007:RegistryStoredQuery")
    assert found.response.status_code == 200
    other = dmp.call("patients", hl7.query(), "urn:hl7-org:v3:PRPA_IN201307UV02",
                     LPS_Nom="AUTRE-DPI")
    assert other.response.status_code == 429

    entries = dmp.http.get("/_admin/journal?limit=3").json["entries"]
    assert [(e["operation"], e["chaos"]) for e in entries] == [
        ("PRPA_IN201307UV02", "rule 2 (other-software-throttled): http 429"),
        ("RegistryStoredQuery", None),
        ("ProvideAndRegisterDocumentSet-b", "rule 1 (feeds-unavailable): fault "
                                            "service_unavailable")]
