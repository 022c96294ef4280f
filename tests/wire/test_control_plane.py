"""Who may use /_admin and /metrics (issue 7): loopback only without a token; the token
when SIM_ADMIN_TOKEN is set; the health probe always; the services never guarded."""
from __future__ import annotations

import pytest
from werkzeug.test import Client

from envelopes import SOAP_CT, traits_request

REMOTE = {"REMOTE_ADDR": "192.0.2.10"}
LOCAL = {"REMOTE_ADDR": "127.0.0.1"}


@pytest.mark.parametrize("method, path", [
    ("PUT", "/_admin/clock"), ("POST", "/_admin/reset"), ("GET", "/_admin/journal"),
    ("GET", "/metrics"), ("GET", "/_admin/"), ("GET", "/_admin/identities"),
    ("PUT", "/_admin/scenario"), ("POST", "/_admin/dmp/grace"),
])
def test_without_a_token_a_remote_client_is_refused_everything_but_health(client, method,
                                                                         path):
    response = client.open(path, method=method, json={"now": "2030-01-01T00:00:00Z"},
                           environ_base=REMOTE)
    assert response.status_code == 403
    assert "SIM_ADMIN_TOKEN" in response.json["error"]
    assert "192.0.2.10" in response.json["error"]


def test_the_clock_is_untouched_after_a_refused_remote_put(client):
    before = client.get("/_admin/clock").json["now"]
    client.put("/_admin/clock", json={"now": "2030-01-01T00:00:00Z"}, environ_base=REMOTE)
    assert client.get("/_admin/clock").json["now"] == before


def test_loopback_and_health_are_open_without_a_token(client):
    assert client.get("/_admin/health", environ_base=REMOTE).status_code == 200
    assert client.get("/_admin/journal", environ_base=LOCAL).status_code == 200
    assert client.get("/_admin/journal", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_the_services_are_not_guarded(client):
    response = client.post("/lps", data=traits_request("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26"), content_type=SOAP_CT,
                           environ_base=REMOTE)
    assert response.status_code == 200


@pytest.fixture
def guarded(make_app) -> Client:
    return Client(make_app(admin_token="s3cret-token"))


def test_with_a_token_every_client_needs_it(guarded):
    for environ in (REMOTE, LOCAL):
        refused = guarded.post("/_admin/reset", environ_base=environ)
        assert refused.status_code == 401 and "Bearer" in refused.json["error"]
        wrong = guarded.post("/_admin/reset", environ_base=environ,
                             headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        allowed = guarded.post("/_admin/reset", environ_base=environ,
                               headers={"Authorization": "Bearer s3cret-token"})
        assert allowed.status_code == 200
    metrics = guarded.get("/metrics", headers={"Authorization": "Bearer s3cret-token"},
                          environ_base=REMOTE)
    assert metrics.status_code == 200 and metrics.mimetype == "text/plain"


def test_a_browser_opens_the_dashboard_with_the_token_in_the_url(guarded):
    assert guarded.get("/_admin/", environ_base=REMOTE).status_code == 401
    page = guarded.get("/_admin/?token=s3cret-token", environ_base=REMOTE)
    assert page.status_code == 200 and b"<html" in page.data.lower()
    assert guarded.get("/_admin/health", environ_base=REMOTE).status_code == 200


def test_a_pseudonymised_journal_holds_no_identity_data(make_app):
    client = Client(make_app(journal_pseudonymise=True))
    answer = client.post("/lps", data=traits_request("ADRTROIS", ["DOMINIQUE"], "F",
                                                     "1997-02-26"), content_type=SOAP_CT)
    assert b"297022A020778" in answer.data  # the answer itself is untouched
    entry = client.get("/_admin/journal?limit=1").json["entries"][0]
    bodies = entry["request_body"] + entry["response_body"]
    for secret in ("ADRTROIS", "DOMINIQUE", "1997-02-26", "297022A020778"):
        assert secret not in bodies
    assert "PSEUDO-" in entry["request_body"] and "PSEUDO-" in entry["response_body"]
