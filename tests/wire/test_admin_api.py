"""The control plane under /_admin, through the full WSGI stack."""
from __future__ import annotations

from werkzeug.test import Client

from simulator.journal_query import JournalQuery

from envelopes import SOAP_CT, traits_request

NEW_PERSON = {"birth_name": "DUPONT-MOREAU", "first_names": "ANNE-SOPHIE CLAIRE", "sex": "F",
              "birth_date": "1988-04-09", "birth_place": "35238", "nir": "2880435238123"}


def search(client, *traits):
    return client.post("/lps", data=traits_request(*traits), content_type=SOAP_CT)


def test_health(client):
    body = client.get("/_admin/health").json
    assert body["status"] == "ok" and body["services"] == ["/lps"] + [
        f"/si-dmp-server/v1/services/{name}" for name in
        ("habilitations", "patients", "registry", "repository")] + [
        f"/si-dmp-server/v2/services/{name}" for name in
        ("habilitations", "patientCertif", "patients", "patientsPDQ", "patientsSpecific",
         "registry", "repository")]
    assert body["identities"] == 16 + 100  # CNDA persons + generated population
    assert body["clock"] == {"now": "2024-01-15T10:00:00.000+00:00", "frozen": True}


def test_clock_put_and_get(client):
    assert client.put("/_admin/clock", json={"now": "2022-12-15T08:30:00+01:00"}).status_code == 200
    body = client.get("/_admin/clock").json
    assert body["now"] == "2022-12-15T07:30:00.000+00:00" and body["frozen"] is True
    body = client.put("/_admin/clock", json={"frozen": False}).json
    assert body["frozen"] is False and body["now"].startswith("2022-12-15T07:30")


def test_clock_rejects_bad_bodies(client):
    for body in ({"now": "tomorrow"}, {"when": "2023-01-01"}, {"frozen": "yes"}, {}):
        response = client.put("/_admin/clock", json=body)
        assert response.status_code == 400 and response.json["error"], body
    assert client.post("/_admin/clock").status_code == 405


def test_journal_is_newest_first_with_outcomes(client):
    search(client, "ADRUN", "ZOE", "F", "1975-12-31")
    search(client, "HOUILLES", "PIERRE", "M", "1993-01-27")
    entries = client.get("/_admin/journal?limit=2").json["entries"]
    assert [e["outcome"] for e in entries] == ["CR 01", "CR 00"]
    assert entries[0]["operation"] == "rechercherInsAvecTraitsIdentite"
    assert "HOUILLES" in entries[0]["request_body"] and "<CodeCR>01" in entries[0]["response_body"]
    assert "request_body" not in client.get("/_admin/journal?bodies=0").json["entries"][0]


def test_journal_is_bounded_in_entries_and_body_size(make_app):
    app = make_app(journal_size=5, journal_body_bytes=100)
    client = Client(app)
    for _ in range(230):
        search(client, "ADRUN", "ZOE", "F", "1975-12-31")
    entries = client.get("/_admin/journal?limit=1000").json["entries"]
    assert len(entries) == 5
    assert entries[0]["request_body"].endswith("…[truncated]")
    assert len(entries[0]["request_body"]) <= 100 + len("…[truncated]")
    stored = app.simulator.store.query_journal(JournalQuery(limit=1))[1]  # no window
    assert stored == 5  # trimmed at every flush


def test_identities_search_and_get(client):
    found = client.get("/_admin/identities?q=adrtrois").json
    assert found["total"] == 2
    assert {i["key"] for i in found["identities"]} == {"cnda-adrtrois-dominique",
                                                       "cnda-adrtrois-toussaint"}
    assert client.get("/_admin/identities?q=297022A020778").json["total"] == 1
    person = client.get("/_admin/identities/cnda-ecetinsi-pierre-alain").json
    assert person["active"]["number"] == "1090763220834" and len(person["history"]) == 2
    assert client.get("/_admin/identities/nobody").status_code == 404
    assert client.get("/_admin/identities?source=cnda&limit=100").json["total"] == 16


def test_added_identity_is_found_by_insi_then_reset_removes_it(client):
    created = client.post("/_admin/identities", json=NEW_PERSON)
    assert created.status_code == 201
    assert created.json["active"]["key"] == "54"  # 97 - (2880435238123 mod 97)
    response = search(client, "DUPONT-MOREAU", "ANNE-SOPHIE", "F", "1988-04-09")
    assert b"<NumIdentifiant>2880435238123</NumIdentifiant><Cle>54</Cle>" in response.data
    assert client.post("/_admin/identities", json=NEW_PERSON).status_code == 409
    client.put("/_admin/clock", json={"now": "2030-01-01"})
    reset = client.post("/_admin/reset").json
    assert reset["clock"]["now"].startswith("2024-01-15T10:00")
    assert client.get("/_admin/journal").json["entries"] == []
    assert b"<CodeCR>01</CodeCR>" in search(client, "DUPONT-MOREAU", "ANNE-SOPHIE", "F",
                                            "1988-04-09").data


def test_invalid_identity_gets_a_precise_400(client):
    response = client.post("/_admin/identities", json={**NEW_PERSON, "sex": "X"})
    assert response.status_code == 400
    assert response.json["error"] == "request body, field sex: expected M or F, got 'X'"
    response = client.post("/_admin/identities", json={**NEW_PERSON, "shoe_size": 42})
    assert "field shoe_size" in response.json["error"]


def test_calendar_and_unknown_paths(client):
    rules = client.get("/_admin/calendar").json["rules"]
    assert any(r["name"] == "insi-response-format-current" and r["in_force"] for r in rules)
    assert client.get("/_admin/nothing").status_code == 404
    missing = client.post("/si-dmp-server/v2/services/nothing", data=b"<x/>")
    assert missing.status_code == 404 and "/lps" in missing.json["services"]
