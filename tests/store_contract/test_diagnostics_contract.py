"""The journal and the metric counters through :mod:`simulator.ports.diagnostics`."""
from __future__ import annotations

import pytest

from simulator.journal_query import JournalQuery
from simulator.ports.diagnostics import JOURNAL_COLUMNS


def entry(n: int, **fields) -> dict:
    base = {column: None for column in JOURNAL_COLUMNS}
    base.update(request_id=f"r{n}", at=f"2024-01-15T10:00:{n:02d}+00:00",
                real_at=f"2026-12-06T10:00:{n:02d}+00:00", service="insi",
                operation="rechercherInsAvecTraitsIdentite", http_method="POST", path="/lps",
                status=200, outcome="CR 00", duration_ms=1.5, patient="2751263220749",
                request_body=f"<request {n}/>", response_body=f"<response {n}/>")
    base.update(fields)
    return base


def test_entries_come_back_newest_first_with_their_count(store):
    store.append_journal([entry(n) for n in range(5)], keep=100)
    entries, count = store.query_journal(JournalQuery(limit=3))
    assert count == 5
    assert [e["request_id"] for e in entries] == ["r4", "r3", "r2"]
    assert entries[0]["response_body"] == "<response 4/>" and entries[0]["status"] == 200
    assert entries[0]["duration_ms"] == 1.5


def test_filters_select_entries(store):
    store.append_journal([entry(1, service="dmp", operation="TD0.2"),
                          entry(2, outcome="fault siram_40/insi_102", status=500),
                          entry(3, patient="1111111111111")], keep=100)
    assert [e["request_id"] for e in store.query_journal(JournalQuery(service="dmp"))[0]] \
        == ["r1"]
    for word in ("fault", "siram_40", "insi_102"):
        assert [e["request_id"] for e in store.query_journal(
            JournalQuery(outcome=word))[0]] == ["r2"], word
    assert store.query_journal(JournalQuery(outcome="siram"))[1] == 0
    assert store.query_journal(JournalQuery(outcome="CR"))[1] == 2  # "CR 00" starts with it
    assert [e["request_id"] for e in store.query_journal(
        JournalQuery(patient="1111111111111"))[0]] == ["r3"]
    assert [e["request_id"] for e in store.query_journal(JournalQuery(since="r1"))[0]] \
        == ["r3", "r2"]
    assert [e["request_id"] for e in store.query_journal(
        JournalQuery(since=("at", "2024-01-15T10:00:02+00:00")))[0]] == ["r3", "r2"]
    with pytest.raises(KeyError):
        store.query_journal(JournalQuery(since="unknown"))


def test_reads_without_bodies_leave_them_out(store):
    store.append_journal([entry(1)], keep=100)
    [found], _ = store.query_journal(JournalQuery(bodies=False))
    assert "request_body" not in found and "response_body" not in found
    assert found["request_id"] == "r1"


def test_the_journal_keeps_the_newest_entries(store):
    store.append_journal([entry(n) for n in range(4)], keep=3)
    store.append_journal([entry(n) for n in range(4, 6)], keep=3)
    entries, count = store.query_journal(JournalQuery(limit=10))
    assert count == 3 and [e["request_id"] for e in entries] == ["r5", "r4", "r3"]
    assert store.journal_entry("r1") is None
    assert store.journal_entry("r4")["request_body"] == "<request 4/>"
    assert store.journal_entry("r4", keep=1) is None  # only r5 is in the newest 1
    store.clear_journal()
    assert store.query_journal(JournalQuery())[1] == 0


def test_bodies_given_as_bytes_read_back_as_text(store):
    """The journal hands its bodies over as the bytes it received (issue 15): every
    reader gets the text they decode to, an invalid byte as U+FFFD."""
    store.append_journal([entry(1, request_body="<a>é</a>".encode(),
                                response_body=b"<b>\xff</b>\xe2\x80\xa6[truncated]")],
                         keep=100)
    expected = ("<a>é</a>", "<b>\ufffd</b>…[truncated]")
    [found], _ = store.query_journal(JournalQuery())
    assert (found["request_body"], found["response_body"]) == expected
    found = store.journal_entry("r1")
    assert (found["request_body"], found["response_body"]) == expected


def test_metrics_add_up_across_workers_and_read_sorted(open_store):
    first, second = open_store(), open_store()
    first.add_metrics([("sim_requests_total", (("service", "insi"),), 2.0),
                       ("sim_requests_total", (("service", "dmp"),), 1.0)])
    second.add_metrics([("sim_requests_total", (("service", "insi"),), 3.0),
                        ("sim_a_total", (), 0.5)])
    assert first.read_metrics() == [
        ("sim_a_total", (), 0.5),
        ("sim_requests_total", (("service", "dmp"),), 1.0),
        ("sim_requests_total", (("service", "insi"),), 5.0)]
