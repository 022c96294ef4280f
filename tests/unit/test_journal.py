"""The journal's per-process buffer reaches the store without anyone reading it."""
from __future__ import annotations

import time

from simulator.clock import SimClock
from simulator.journal import Journal
from simulator.soap.reply import Reply
from simulator.store.sqlite import open_store


def record(journal, n):
    journal.record(request_id=f"r{n}", service="insi", operation="op", environ={},
                   reply=Reply(200, b"<out/>", outcome="CR 00"),
                   started=journal.clock.monotonic(), request_body=b"<in/>")


def test_background_flush_makes_entries_visible_to_other_workers(tmp_path):
    store = open_store(tmp_path)
    journal = Journal(store, SimClock(store), size=10, body_bytes=100, flush_interval=0.05)
    record(journal, 1)
    other_worker = open_store(tmp_path)  # reads the store directly, never flushes
    deadline = time.monotonic() + 2
    while not other_worker.read_journal(10) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [e["request_id"] for e in other_worker.read_journal(10)] == ["r1"]


def test_full_batch_is_written_at_once(tmp_path):
    store = open_store(tmp_path)
    journal = Journal(store, SimClock(store), size=100, body_bytes=100,
                      flush_interval=60, batch=3)
    for n in range(3):
        record(journal, n)
    assert [e["request_id"] for e in store.read_journal(10)] == ["r2", "r1", "r0"]


def test_clear_drops_queued_entries(tmp_path):
    store = open_store(tmp_path)
    journal = Journal(store, SimClock(store), size=100, body_bytes=100, flush_interval=60)
    record(journal, 1)
    journal.clear()
    assert journal.entries() == []


def test_entries_without_bodies_have_every_other_field(tmp_path):
    store = open_store(tmp_path)
    journal = Journal(store, SimClock(store), size=100, body_bytes=100, flush_interval=60)
    record(journal, 1)
    full, = journal.entries(10)
    bare, = journal.entries(10, with_bodies=False)
    assert (full["request_body"], full["response_body"]) == ("<in/>", "<out/>")
    assert bare == {k: v for k, v in full.items() if k not in ("request_body", "response_body")}
