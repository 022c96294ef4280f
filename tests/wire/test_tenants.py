"""Tenants on the wire (docs/tenants.md): /t/<tenant>/ in front of every path, WSDL
addresses that keep the prefix, each tenant's own clock, scenario, identities and
journal, the refusals (bad names, too many tenants: the service's own fault on a SOAP
path, JSON on the control plane), and /metrics labelled by tenant."""
from __future__ import annotations

import re

import pytest
from lxml import etree
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import Client

from envelopes import SOAP_CT, traits_request
from simulator.app import create_app
from simulator.settings import Settings, parse_datetime

NS = {"s": "http://www.w3.org/2003/05/soap-envelope", "siram": "urn:siram",
      "wsdl": "http://schemas.xmlsoap.org/wsdl/",
      "soap12": "http://schemas.xmlsoap.org/wsdl/soap12/"}
SEARCH = traits_request("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26")
NEW_PERSON = {"birth_name": "DUPONT-MOREAU", "first_names": "ANNE-SOPHIE CLAIRE", "sex": "F",
              "birth_date": "1988-04-09", "birth_place": "35238", "nir": "2880435238123"}
DMP_PATIENTS = "/si-dmp-server/v2/services/patients"


@pytest.fixture
def client(tmp_path) -> Client:
    return Client(create_app(Settings(data_dir=tmp_path, population=20, max_tenants=3,
                                      date=parse_datetime("2024-01-15T10:00:00Z"),
                                      frozen=True)))


def addresses(wsdl: bytes) -> list[str]:
    return [a.get("location") for a in etree.fromstring(wsdl).iterfind(
        ".//wsdl:service/wsdl:port/soap12:address", NS)]


def tenant_names(client) -> list[str]:
    return [t["name"] for t in client.get("/_admin/tenants").json["tenants"]]


def fault_of(data: bytes) -> tuple[str, str | None]:
    root = etree.fromstring(data)
    erreur = root.find(".//siram:Erreur", NS)
    return (root.findtext(".//s:Subcode/s:Value", namespaces=NS).split(":")[-1],
            erreur.get("code") if erreur is not None else None)


def test_wsdl_addresses_and_imports_keep_the_tenant_prefix(client):
    insi = client.get("/t/ci-42/lps?wsdl", base_url="http://sim.example:8080")
    assert insi.status_code == 200
    assert addresses(insi.data) == ["http://sim.example:8080/t/ci-42/lps"]
    imports = re.findall(rb'schemaLocation="([^"]+)"', insi.data)
    assert imports and all(i.startswith(b"http://sim.example:8080/t/ci-42/lps?") for i in imports)
    dmp = client.get(f"/t/ci-42{DMP_PATIENTS}?wsdl", base_url="http://sim.example:8080")
    assert addresses(dmp.data) == [f"http://sim.example:8080/t/ci-42{DMP_PATIENTS}"]
    assert addresses(client.get("/lps?wsdl", base_url="http://sim.example:8080").data) == \
        ["http://sim.example:8080/lps"]


def test_each_tenant_has_its_own_clock_scenario_identities_and_journal(client):
    client.put("/t/a/_admin/clock", json={"now": "2022-12-01T08:00:00Z", "frozen": True})
    client.put("/t/a/_admin/scenario", data="name: down\nrules:\n  - action: {fault: insi_102}\n"
               "    match: {service: insi}\n", content_type="application/yaml")
    added = client.post("/t/a/_admin/identities", json=NEW_PERSON)
    assert added.status_code == 201
    in_a = client.post("/t/a/lps", data=SEARCH, content_type=SOAP_CT)
    in_b = client.post("/t/b/lps", data=SEARCH, content_type=SOAP_CT)
    in_default = client.post("/lps", data=SEARCH, content_type=SOAP_CT)
    assert fault_of(in_a.data) == ("siram_40", "insi_102")  # tenant a's scenario
    assert b"<CodeCR>00</CodeCR>" in in_b.data and b"<CodeCR>00</CodeCR>" in in_default.data
    assert client.get("/t/a/_admin/clock").json["now"].startswith("2022-12-01T08:00")
    assert client.get("/t/b/_admin/clock").json["now"].startswith("2024-01-15T10:00")
    assert client.get("/_admin/clock").json["now"].startswith("2024-01-15T10:00")
    key = added.json["key"]
    assert client.get(f"/t/a/_admin/identities/{key}").status_code == 200
    assert client.get(f"/t/b/_admin/identities/{key}").status_code == 404
    assert client.get(f"/_admin/identities/{key}").status_code == 404
    journals = {prefix: client.get(f"{prefix}/_admin/journal?bodies=0").json
                for prefix in ("/t/a", "/t/b", "")}
    assert {p: j["count"] for p, j in journals.items()} == {"/t/a": 1, "/t/b": 1, "": 1}
    assert journals["/t/a"]["entries"][0]["request_id"] == in_a.headers["X-Request-Id"]
    assert journals["/t/b"]["entries"][0]["request_id"] == in_b.headers["X-Request-Id"]
    assert journals[""]["entries"][0]["request_id"] == in_default.headers["X-Request-Id"]


def test_a_tenant_reset_leaves_the_others_alone(client):
    for prefix in ("/t/a", "/t/b"):
        client.put(f"{prefix}/_admin/clock", json={"now": "2023-03-03T00:00:00Z"})
        client.post(f"{prefix}/lps", data=SEARCH, content_type=SOAP_CT)
    assert client.post("/t/a/_admin/reset").status_code == 200
    assert client.get("/t/a/_admin/journal").json["count"] == 0
    assert client.get("/t/a/_admin/clock").json["now"].startswith("2024-01-15T10:00")
    assert client.get("/t/b/_admin/journal").json["count"] == 1
    assert client.get("/t/b/_admin/clock").json["now"].startswith("2023-03-03")


def test_tenants_are_created_listed_and_deleted_with_their_data(client):
    created = client.post("/_admin/tenants", json={"name": "ci-7"})
    assert created.status_code == 201 and created.json["prefix"] == "/t/ci-7"
    assert client.post("/_admin/tenants", json={"name": "ci-7"}).status_code == 200
    client.post("/t/ci-7/_admin/identities", json=NEW_PERSON)
    assert client.get("/_admin/tenants/ci-7").json["name"] == "ci-7"
    assert client.delete("/_admin/tenants/ci-7").json == {"deleted": "ci-7"}
    assert tenant_names(client) == []
    assert client.get("/_admin/tenants/ci-7").status_code == 404
    # its next use is a new tenant: the added person is gone
    listed = client.get("/t/ci-7/_admin/identities?q=DUPONT-MOREAU").json
    assert listed["total"] == 0


@pytest.mark.parametrize("path", [
    "/t/BAD/_admin/clock", "/t/../_admin/clock", "/t/a.b/lps", "/t/default/lps",
    "/t//lps", "/t/" + "x" * 500 + "/lps", "/t/a%20b/lps",
])
def test_bad_tenant_names_get_404_and_create_nothing(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "tenant name" in response.json["error"]
    assert len(response.data) < 1000  # a long name is not echoed whole
    assert tenant_names(client) == []


def test_a_path_no_service_has_creates_no_tenant(client):
    response = client.post("/t/ci-1/nothing-here", data=b"x")
    assert response.status_code == 404
    assert "/t/ci-1/lps" in response.json["services"]
    for path in ("/t/ci-1", "/t/ci-1/"):
        assert client.get(path).status_code == 404
    assert tenant_names(client) == []


@pytest.mark.parametrize("body", [{"name": "../x"}, {"name": "A"}, {"name": 7}, {}, [],
                                  {"name": "a", "more": 1}])
def test_the_admin_refuses_bad_tenant_bodies(client, body):
    response = client.post("/_admin/tenants", json=body)
    assert response.status_code == 400 and isinstance(response.json["error"], str)
    assert tenant_names(client) == []


def test_too_many_tenants_the_service_fault_on_soap_paths_and_json_on_the_admin(client):
    for name in ("a", "b", "c"):
        assert client.post("/_admin/tenants", json={"name": name}).status_code == 201
    admin = client.post("/_admin/tenants", json={"name": "d"})
    assert admin.status_code == 409 and "SIM_MAX_TENANTS" in admin.json["error"]
    assert client.get("/t/d/_admin/clock").status_code == 409
    insi = client.post("/t/d/lps", data=SEARCH, content_type=SOAP_CT)
    assert insi.status_code == 500 and insi.content_type.startswith("application/soap+xml")
    assert fault_of(insi.data) == ("siram_40", "insi_102")  # INSi's technical error
    assert "SIM_MAX_TENANTS" in insi.headers["X-Simulator-Error"]
    dmp = client.post(f"/t/d{DMP_PATIENTS}", data=b"<x/>", content_type=SOAP_CT)
    assert dmp.status_code == 500 and b"Fault" in dmp.data
    assert "SIM_MAX_TENANTS" in dmp.headers["X-Simulator-Error"]
    assert tenant_names(client) == ["a", "b", "c"]
    assert b"<CodeCR>00</CodeCR>" in client.post("/t/a/lps", data=SEARCH,
                                                 content_type=SOAP_CT).data


def test_without_auto_create_an_unknown_tenant_is_refused(tmp_path):
    client = Client(create_app(Settings(data_dir=tmp_path, population=0,
                                        tenant_auto_create=False)))
    assert client.get("/t/ci-1/_admin/clock").status_code == 404
    insi = client.post("/t/ci-1/lps", data=SEARCH, content_type=SOAP_CT)
    assert insi.status_code == 500 and "POST /_admin/tenants" in insi.headers["X-Simulator-Error"]
    client.post("/_admin/tenants", json={"name": "ci-1"})
    assert client.get("/t/ci-1/_admin/clock").status_code == 200


def test_the_admin_token_is_checked_before_a_tenant_is_created(tmp_path):
    client = Client(create_app(Settings(data_dir=tmp_path, population=0,
                                        admin_token="s3cret")))
    assert client.get("/t/ci-1/_admin/clock").status_code == 401
    assert client.get("/t/ci-1/_admin/clock",
                      environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 401
    listed = client.get("/_admin/tenants", headers={"Authorization": "Bearer s3cret"})
    assert listed.json["tenants"] == []
    ok = client.get("/t/ci-1/_admin/clock", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_a_tenant_control_plane_does_not_manage_tenants(client):
    response = client.get("/t/a/_admin/tenants")
    assert response.status_code == 404 and "/_admin/tenants" in response.json["error"]
    assert client.get("/t/a/t/b/_admin/clock").status_code == 404


def test_the_dashboard_of_a_tenant_calls_its_own_control_plane(client):
    page = client.get("/t/ci-3/_admin/").get_data(as_text=True)
    assert 'const API = "/t/ci-3/_admin";' in page and "tenant ci-3" in page
    assert 'const API = "/_admin";' in client.get("/_admin/").get_data(as_text=True)


def series(text: str, name: str) -> dict[tuple, float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                labels = sample.labels
                found[(labels.get("tenant", ""), labels["outcome"])] = sample.value
    return found


def test_metrics_are_labelled_by_tenant(client):
    client.post("/lps", data=SEARCH, content_type=SOAP_CT)
    for _ in range(2):
        client.post("/t/a/lps", data=SEARCH, content_type=SOAP_CT)
    client.post("/t/b/lps", data=SEARCH, content_type=SOAP_CT)
    everything = series(client.get("/metrics").get_data(as_text=True),
                        "insi_dmp_sim_requests_total")
    assert everything == {("", "CR 00"): 1, ("a", "CR 00"): 2, ("b", "CR 00"): 1}
    own = series(client.get("/t/a/metrics").get_data(as_text=True),
                 "insi_dmp_sim_requests_total")
    assert own == {("a", "CR 00"): 2}
