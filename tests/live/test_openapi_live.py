"""The OpenAPI description of /_admin: a valid OpenAPI 3.1 document (openapi-spec-validator),
describing every route of the control plane, and matching every real answer of
``insi-dmp-sim serve`` (openapi-core checks each request and answer below against it).

Every documented operation is called at least once, with its errors."""
from __future__ import annotations

import requests
import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_spec_validator import validate

from simulator.kit import hl7
from dmp_builders.client import CREATE, NOW
from simulator.kit.soap import ADRUN, SOAP_CT, envelope
from envelopes import traits_request
from simulator.admin.openapi import openapi_document
from simulator.app import create_app
from simulator.settings import Settings
from simulator.testing import start_simulator

TOKEN = "openapi-test-token"
NEW_PERSON = {"birth_name": "DUPONT-MOREAU", "first_names": "ANNE-SOPHIE CLAIRE", "sex": "F",
              "birth_date": "1988-04-09", "birth_place": "35238", "nir": "2880435238123"}


def test_the_document_is_valid_openapi_3_1():
    validate(openapi_document())


def test_every_route_of_the_control_plane_is_described_and_nothing_else(tmp_path):
    app = create_app(Settings(data_dir=tmp_path, population=0))
    routes = {(rule.rule.replace("<", "{").replace(">", "}"), method.lower())
              for rule in app.admin.url_map.iter_rules() if rule.endpoint != "static"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    described = {(path, method) for path, item in openapi_document()["paths"].items()
                 for method in item if method != "parameters"}
    assert described == routes


class CheckedClient:
    """requests against the live server; every exchange checked against the document,
    the requests too unless they are meant to be wrong."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        document = openapi_document()
        document["servers"] = [{"url": base_url}]
        self.openapi = OpenAPI.from_dict(document)
        self.seen: set[tuple[str, str, int]] = set()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {TOKEN}"

    def __call__(self, method: str, path: str, expect: int, valid_request: bool = True,
                 **options) -> requests.Response:
        response = self.session.request(method, self.base_url + path, timeout=30, **options)
        assert response.status_code == expect, (method, path, response.text[:500])
        request = RequestsOpenAPIRequest(response.request)
        if valid_request:
            self.openapi.validate_request(request)
        self.openapi.validate_response(request, RequestsOpenAPIResponse(response))
        self.seen.add((method.lower(), path.split("?")[0], response.status_code))
        return response


@pytest.fixture(scope="module")
def server():
    settings = Settings.from_env(population=20, admin_token=TOKEN)
    with start_simulator("process", settings) as handle:
        yield handle


def dmp_create(base_url: str) -> None:
    raw = envelope(hl7.create().decode(), action=CREATE, service="patients",
                   issue_instant=NOW)
    response = requests.post(base_url + "/si-dmp-server/v2/services/patients", data=raw,
                             headers={"Content-Type": SOAP_CT}, timeout=30)
    assert response.status_code == 200, response.text


def test_every_answer_matches_the_description(server):
    call = CheckedClient(server.base_url)
    call("GET", "/_admin/health", 200)
    call("POST", "/_admin/reset", 200)
    call("GET", "/_admin/clock", 200)
    call("PUT", "/_admin/clock", 200, json={"now": NOW, "frozen": True})
    call("PUT", "/_admin/clock", 400, valid_request=False, json={"when": "tomorrow"})
    # a method no operation has: no operation to check against, but a JSON error too
    refused = call.session.delete(server.base_url + "/_admin/clock", timeout=30)
    assert refused.status_code == 405 and isinstance(refused.json()["error"], str)
    call("GET", "/_admin/calendar", 200)
    replicas = call("GET", "/_admin/replicas", 200).json()  # SQLite: this one only
    assert [(r["replica"], r["self"], r["alive"]) for r in replicas["replicas"]] == \
        [(replicas["replica"], True, True)]
    call("GET", "/_admin/openapi.json", 200)
    call("GET", "/_admin/", 200)
    call("GET", f"/_admin/journal?limit=1&token={TOKEN}", 200)  # a browser's way
    call("GET", "/metrics", 200)
    unauthorised = requests.get(server.base_url + "/_admin/clock", timeout=30)
    assert unauthorised.status_code == 401
    call.openapi.validate_response(RequestsOpenAPIRequest(unauthorised.request),
                                   RequestsOpenAPIResponse(unauthorised))

    # scenarios
    call("GET", "/_admin/scenarios", 200)
    call("GET", "/_admin/scenario", 200)
    call("PUT", "/_admin/scenario", 200, json={"name": "insi-slow"})
    call("GET", "/_admin/scenario", 200)
    call("PUT", "/_admin/scenario", 200, data="name: y\nrules:\n  - action: empty\n"
         "    match: {service: dmp, operation: RetrieveDocumentSet}\n", headers={"Content-Type": "application/yaml"})
    call("PUT", "/_admin/scenario", 400, json={"name": "no-such-scenario"})
    call("DELETE", "/_admin/scenario", 200)

    # identities
    call("GET", "/_admin/identities?q=adrtrois&limit=5", 200)
    call("GET", "/_admin/identities?limit=x", 400, valid_request=False)
    call("GET", "/_admin/identities/cnda-adrtrois-dominique", 200)
    call("GET", "/_admin/identities/nobody", 404)
    added = call("POST", "/_admin/identities", 201, json=NEW_PERSON).json()
    call("POST", "/_admin/identities", 409, json=NEW_PERSON)
    call("POST", "/_admin/identities", 400, valid_request=False, json={"sex": "X"})
    key = added["key"]
    call("PUT", f"/_admin/identities/{key}", 200, json={**NEW_PERSON, "first_names": "ANNE"})
    call("PUT", f"/_admin/identities/{key}", 400, valid_request=False, json=[1])
    call("PUT", "/_admin/identities/nobody", 404, json=NEW_PERSON)
    holder = call("GET", "/_admin/identities/cnda-adrtrois-toussaint", 200).json()
    call("PUT", f"/_admin/identities/{key}", 409,
         json={**NEW_PERSON, "nir": holder["active"]["number"]})
    call("DELETE", f"/_admin/identities/{key}", 204)
    call("DELETE", f"/_admin/identities/{key}", 404)

    # journal (an INSi search and a DMP creation to query)
    search = requests.post(server.insi_url, timeout=30, headers={"Content-Type": SOAP_CT},
                           data=traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26"))
    request_id = search.headers["X-Request-Id"]
    dmp_create(server.base_url)
    call("GET", "/_admin/journal", 200)
    call("GET", "/_admin/journal?service=insi&operation=rechercherInsAvecTraitsIdentite"
         "&outcome=CR%2000&software=urn:lps:test:1.0&structure=10B0152872&limit=5"
         "&bodies=false", 200)
    call("GET", f"/_admin/journal?patient={ADRUN}&professional=10B0167011/00B1022322", 200)
    call("GET", f"/_admin/journal?since={request_id}&limit=0", 200)
    call("GET", "/_admin/journal?since=real:2020-01-01T00:00:00Z", 200)
    call("GET", "/_admin/journal?operations=x", 400, valid_request=False)
    call("GET", f"/_admin/journal/{request_id}", 200)
    call("GET", "/_admin/journal/0123456789abcdef", 404)

    # the dashboard's charts, with a fault injected on the simulated day
    call("PUT", "/_admin/scenario", 200, data="name: z\nrules:\n  - action: {fault: insi_102}\n"
         "    match: {service: insi}\n", headers={"Content-Type": "application/yaml"})
    requests.post(server.insi_url, timeout=30, headers={"Content-Type": SOAP_CT},
                  data=traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26"))
    call("DELETE", "/_admin/scenario", 200)
    call("GET", "/_admin/stats/latency", 200)
    assert call("GET", "/_admin/stats/injections", 200).json()["days"][-1]["actions"] \
        == {"fault": 1}

    # DMP state, grace and reports
    call("GET", "/_admin/dmp/patients", 200)
    call("GET", f"/_admin/dmp/patients/{ADRUN}", 200)
    call("GET", "/_admin/dmp/patients/000", 404)
    call("PATCH", f"/_admin/dmp/patients/{ADRUN}", 200, json={"opposes_centre_15": True})
    call("PATCH", f"/_admin/dmp/patients/{ADRUN}", 400, valid_request=False,
         json={"shoe_size": 42})
    call("PATCH", "/_admin/dmp/patients/000", 404, json={"opposes_centre_15": True})
    call("PUT", f"/_admin/dmp/patients/{ADRUN}/professionals", 200,
         json={"professional_id": "899900063480", "blocked": True})
    call("PUT", f"/_admin/dmp/patients/{ADRUN}/professionals", 400, valid_request=False,
         json={"blocked": True})
    call("PUT", "/_admin/dmp/patients/000/professionals", 404,
         json={"professional_id": "899900063480"})
    call("GET", "/_admin/dmp/grace", 200)
    call("POST", "/_admin/dmp/grace", 201, json={"software": "MON-DPI-4.2", "api": "td00"})
    call("POST", "/_admin/dmp/grace", 400, valid_request=False, json={"software": ""})
    call("GET", "/_admin/reports/readiness", 200)
    call("GET", "/_admin/reports/readiness?date=2023-01-15", 200)
    call("GET", "/_admin/reports/readiness?date=soon", 400)
    call("GET", "/_admin/reports/feeding", 200)

    # tenants: created, listed, used, refused, deleted; a tenant's control plane does not
    # manage tenants
    call("GET", "/_admin/tenants", 200)
    call("POST", "/_admin/tenants", 201, json={"name": "openapi-1"})
    call("POST", "/_admin/tenants", 200, json={"name": "openapi-1"})
    call("POST", "/_admin/tenants", 400, valid_request=False, json={"name": "../etc"})
    call("POST", "/_admin/tenants", 400, valid_request=False, json={"label": "x"})
    call("GET", "/_admin/tenants/openapi-1", 200)
    call("GET", "/_admin/tenants/Nope", 400)
    call("GET", "/_admin/tenants/openapi-2", 404)
    tenant_clock = call.session.get(server.base_url + "/t/openapi-1/_admin/clock", timeout=30)
    assert tenant_clock.status_code == 200 and "now" in tenant_clock.json()
    call("DELETE", "/_admin/tenants/openapi-1", 200)
    call("DELETE", "/_admin/tenants/openapi-1", 404)
    call("DELETE", "/_admin/tenants/BAD", 400)

    # every documented path and method was called
    document = openapi_document()
    called = {(method, _template(path, document)) for method, path, _ in call.seen}
    described = {(method, path) for path, item in document["paths"].items()
                 for method in item if method != "parameters"}
    assert described - called == set()


def _template(path: str, document: dict) -> str:
    """The documented path template a concrete path matches."""
    parts = path.strip("/").split("/")
    for template in document["paths"]:
        pieces = template.strip("/").split("/")
        if len(pieces) == len(parts) and all(
                p.startswith("{") or p == q for p, q in zip(pieces, parts)):
            return template
    return path
