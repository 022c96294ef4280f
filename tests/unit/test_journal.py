"""The journal's per-process buffer reaches the store without anyone reading it."""
from __future__ import annotations

import itertools
import time

from simulator.clock import SimClock
from simulator.journal import Journal
from simulator.ports.diagnostics import journal_body_text
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


def test_bodies_are_kept_as_bytes_and_read_back_as_the_text_they_were():
    """The journal keeps the bytes it is given (issue 15); reading decodes them into the
    text that decoding them when recorded gave, accents, invalid bytes and cut marker
    included."""
    store = _Bodies()
    journal = Journal(store, SimClock(_Clock()), size=10, body_bytes=9, flush_interval=60,
                      batch=1)
    for body, text in ((b"<a>\xc3\xa9</a>", "<a>é</a>"), (b"<a>\xff</a>", "<a>\ufffd</a>"),
                       (b"<abcd>\xc3\xa9\xc3\xa9</abcd>", "<abcd>é\ufffd…[truncated]"),
                       (b"", "")):
        journal.record(request_id="r", service="dmp", operation="op", environ={},
                       reply=Reply(200, body), started=0.0, request_body=body)
        stored = store.entries.pop()
        assert isinstance(stored["response_body"], bytes)
        assert journal_body_text(stored["response_body"]) == text


def test_a_cut_body_reads_as_the_text_decoded_when_recorded_whatever_its_last_bytes():
    """Every tail of up to 3 bytes that can end a cut body (a character cut in two, an
    invalid byte): the marker after it changes nothing in the decoded text."""
    prefix, marker = b"<x>\xc3\xa9", "…[truncated]"
    tails = [bytes(t) for n in (1, 2) for t in itertools.product(range(256), repeat=n)]
    tails += [bytes(t) for t in itertools.product(range(0x80, 0x100, 3), repeat=3)]
    journal = Journal(_Bodies(), SimClock(_Clock()), size=10, body_bytes=0)
    for tail in tails:
        body = prefix + tail
        journal.body_bytes = len(body)
        kept = journal._cut(body + b"more")
        assert journal_body_text(kept) == body.decode("utf-8", errors="replace") + marker, \
            tail


class _Bodies:
    """A journal store keeping the entries it is given as they are."""

    def __init__(self):
        self.entries = []

    def append_journal(self, entries, keep):
        self.entries.extend(entries)


class _Clock:
    def clock_state(self):
        return 0.0, None
