"""The journal's queries on real exchanges (INSi and DMP envelopes through the full WSGI
stack): each filter, the count, since, one exchange by request id, and the refusals."""
from __future__ import annotations

import pytest

from simulator.kit import hl7
from dmp_builders.client import CREATE, NOW, Dmp
from simulator.kit.soap import ADRUN
from envelopes import SOAP_CT, traits_request, vitale_request
from simulator.journal import JournalIncomplete
from simulator.settings import parse_datetime


@pytest.fixture
def dmp(make_app) -> Dmp:
    return Dmp(make_app(date=parse_datetime(NOW), frozen=True, population=0))


def journal(dmp: Dmp, **query) -> dict:
    response = dmp.http.get("/_admin/journal", query_string=query)
    assert response.status_code == 200, response.text
    return response.json


def search(dmp: Dmp, *traits):
    return dmp.http.post("/lps", data=traits_request(*traits), content_type=SOAP_CT)


def ids(answer: dict) -> list[str]:
    return [entry["request_id"] for entry in answer["entries"]]


def test_every_filter_on_insi_and_dmp_exchanges(dmp):
    found = search(dmp, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26")
    nobody = search(dmp, "NOBODY", "NONE", "M", "1990-01-01")
    vitale = dmp.http.post("/lps", data=vitale_request("1975-12-31", "2751263220749"),
                           content_type=SOAP_CT)
    dmp.create_dmp()
    insi_ids = [r.headers["X-Request-Id"] for r in (found, nobody, vitale)]

    everything = journal(dmp)
    assert everything["count"] == 4 and len(everything["entries"]) == 4
    dmp_entry = everything["entries"][0]
    assert (dmp_entry["service"], dmp_entry["software"], dmp_entry["structure"],
            dmp_entry["professional"], dmp_entry["patient"]) == \
        ("dmp", "MON-DPI", "10B0167011", "10B0167011/00B1022322", ADRUN[:13])

    assert ids(journal(dmp, service="insi")) == insi_ids[::-1]
    assert ids(journal(dmp, operation="rechercherInsAvecTraitsIdentite")) == insi_ids[1::-1]
    assert journal(dmp, software="urn:lps:test:1.0")["count"] == 3  # ContexteLPS/LPS/Nom
    assert journal(dmp, structure="10B0152872")["count"] == 3  # ContexteLPS Emetteur
    assert journal(dmp, structure="10B0167011")["count"] == 1  # VIHF Identifiant_Structure
    assert journal(dmp, professional="10B0167011/00B1022322")["count"] == 1
    # The INSi vitale search names the patient; the DMP request names it in the VIHF;
    # with or without the INS key.
    assert journal(dmp, patient=ADRUN)["count"] == 2
    assert journal(dmp, patient=ADRUN[:13])["count"] == 2
    assert journal(dmp, service="insi", patient=ADRUN)["entries"][0]["request_id"] == \
        insi_ids[2]
    assert journal(dmp, software="nobody")["count"] == 0


def test_outcome_matches_the_label_its_first_words_or_one_word(dmp):
    search(dmp, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26")
    search(dmp, "NOBODY", "NONE", "M", "1990-01-01")
    dmp.http.post("/lps", data=b"<not-soap/>", content_type=SOAP_CT)
    outcomes = [e["outcome"] for e in journal(dmp)["entries"]]
    assert outcomes[1:] == ["CR 01", "CR 00"] and outcomes[0].startswith("fault ")
    assert journal(dmp, outcome="CR 00")["count"] == 1
    assert journal(dmp, outcome="CR")["count"] == 2  # the first word
    assert journal(dmp, outcome="fault")["count"] == 1
    subcode = outcomes[0].split()[1].split("/")[0]  # e.g. siram_10
    assert journal(dmp, outcome=subcode)["count"] == 1
    assert journal(dmp, outcome="C")["count"] == 0  # words, not substrings


def test_limit_cuts_the_entries_not_the_count_and_bodies_are_optional(dmp):
    for _ in range(3):
        search(dmp, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26")
    answer = journal(dmp, limit=1, bodies="false")
    assert (answer["count"], len(answer["entries"])) == (3, 1)
    assert "request_body" not in answer["entries"][0]
    assert journal(dmp, limit=0) == {"entries": [], "count": 3, "capacity": 1000}


def test_since_a_request_id_a_simulated_time_or_a_real_time(dmp):
    first = search(dmp, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26").headers["X-Request-Id"]
    real_mark = journal(dmp)["entries"][0]["real_at"]
    dmp.http.put("/_admin/clock", json={"now": "2024-03-02T00:00:00Z"})
    second = search(dmp, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26").headers["X-Request-Id"]
    third = search(dmp, "NOBODY", "NONE", "M", "1990-01-01").headers["X-Request-Id"]
    assert ids(journal(dmp, since=first)) == [third, second]
    assert ids(journal(dmp, since=second)) == [third]
    assert ids(journal(dmp, since=third)) == []
    assert ids(journal(dmp, since="2024-03-02")) == [third, second]  # simulated, inclusive
    assert ids(journal(dmp, since="2024-03-01T09:30:00+01:00")) == [third, second, first]
    assert ids(journal(dmp, since="real:" + real_mark)) == [third, second, first]
    assert ids(journal(dmp, since="real:2999-01-01T00:00:00Z")) == []


def test_one_exchange_with_its_bodies_by_request_id(dmp):
    request_id = search(dmp, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26").headers["X-Request-Id"]
    entry = dmp.http.get(f"/_admin/journal/{request_id}").json
    assert entry["request_id"] == request_id
    assert "<r:NomNaissance>ADRTROIS</r:NomNaissance>" in entry["request_body"]
    assert "<CodeCR>00</CodeCR>" in entry["response_body"]
    missing = dmp.http.get("/_admin/journal/0123456789abcdef")
    assert missing.status_code == 404 and "0123456789abcdef" in missing.json["error"]


@pytest.mark.parametrize("query, message", [
    ({"operations": "x"}, "unknown parameter 'operations'"),
    ({"limit": "ten"}, "limit must be a whole number"),
    ({"limit": "-1"}, "limit must not be negative"),
    ({"bodies": "maybe"}, "bodies must be true or false"),
    ({"since": "yesterday"}, "since: expected a request id"),
    ({"since": "real:soon"}, "since: expected a request id"),
    ({"since": "0123456789abcdef"}, "no exchange with request id 0123456789abcdef"),
])
def test_bad_queries_are_refused_with_the_reason(dmp, query, message):
    response = dmp.http.get("/_admin/journal", query_string=query)
    assert response.status_code == 400 and message in response.json["error"]


def test_patient_filter_is_refused_when_the_journal_is_pseudonymised(make_app):
    dmp = Dmp(make_app(date=parse_datetime(NOW), frozen=True, population=0,
                       journal_pseudonymise=True))
    dmp.call("patients", hl7.create(), CREATE)
    assert journal(dmp)["entries"][0]["patient"] is None
    response = dmp.http.get("/_admin/journal", query_string={"patient": ADRUN})
    assert response.status_code == 400 and "SIM_JOURNAL_PSEUDONYMISE" in response.json["error"]


def test_a_read_that_cannot_be_complete_answers_503_not_a_partial_list(app, client,
                                                                        monkeypatch):
    def stuck():
        raise JournalIncomplete("a worker did not write its journal entries within 10 s")
    monkeypatch.setattr(app.simulator.journal, "flush", stuck)
    for path in ("/_admin/journal", "/_admin/journal/0123456789abcdef"):
        response = client.get(path)
        assert response.status_code == 503 and "did not write" in response.json["error"]
