"""A journal read is complete across forked worker processes (the flush barrier).

Each test forks a "worker" that queues journal entries which its own flusher would not
write for a minute, then reads the journal from the parent, as a gunicorn worker other
than the one that served the requests would.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import resource
import signal

import pytest

from simulator.clock import SimClock
from simulator.journal import Journal, JournalIncomplete
from simulator.journal_query import JournalQuery
from simulator.soap.reply import Reply
from simulator.store.sqlite import open_store

FORK = multiprocessing.get_context("fork")


def make_journal(tmp_path, shared: bool, read_timeout: float = 10.0) -> Journal:
    store = open_store(tmp_path)
    journal = Journal(store, SimClock(store), size=100, body_bytes=100, flush_interval=60,
                      batch=1000, read_timeout=read_timeout)
    if shared:
        journal.share_across_processes(workers=2)
    return journal


def record(journal: Journal, request_id: str) -> None:
    journal.record(request_id=request_id, service="insi", operation="op", environ={},
                   reply=Reply(200, b"<out/>", outcome="CR 00"),
                   started=journal.clock.monotonic(), request_body=b"<in/>")


def worker(journal: Journal, count: int, recorded, finish, exit_at_once: bool = False):
    """Queue ``count`` entries, tell the parent, then wait to be told to stop."""
    for n in range(count):
        record(journal, f"w{os.getpid()}-{n}")
    recorded.set()
    if exit_at_once:
        os._exit(0)  # dies with its queue, as a killed worker would
    finish.wait(60)


def start_worker(journal: Journal, count: int, exit_at_once: bool = False):
    recorded, finish = FORK.Event(), FORK.Event()
    process = FORK.Process(target=worker, args=(journal, count, recorded, finish, exit_at_once))
    process.start()
    assert recorded.wait(60)
    return process, finish


def stop(process, finish) -> None:
    finish.set()
    process.join(60)


def test_a_read_sees_what_another_worker_queued(tmp_path):
    journal = make_journal(tmp_path, shared=True)
    process, finish = start_worker(journal, 3)
    try:
        entries, count = journal.query(JournalQuery())
        assert count == 3 and {e["request_id"] for e in entries} == \
            {f"w{process.pid}-{n}" for n in range(3)}
    finally:
        stop(process, finish)


def test_without_the_barrier_the_same_read_misses_them(tmp_path):
    # The control: what the barrier fixes (the worker's flusher waits a minute).
    journal = make_journal(tmp_path, shared=False)
    process, finish = start_worker(journal, 3)
    try:
        assert journal.query(JournalQuery()) == ([], 0)
    finally:
        stop(process, finish)


def test_entries_of_two_workers_and_this_process(tmp_path):
    journal = make_journal(tmp_path, shared=True)
    first, second = start_worker(journal, 2), start_worker(journal, 5)
    record(journal, "parent")
    try:
        assert journal.query(JournalQuery())[1] == 8
    finally:
        stop(*first)
        stop(*second)


def test_a_dead_worker_does_not_block_the_read(tmp_path):
    journal = make_journal(tmp_path, shared=True, read_timeout=60)
    process, _ = start_worker(journal, 2, exit_at_once=True)
    process.join(60)
    record(journal, "parent")
    entries, count = journal.query(JournalQuery())
    assert [e["request_id"] for e in entries] == ["parent"]  # its queue died with it


def test_a_worker_that_cannot_answer_gives_an_error_not_a_partial_read(tmp_path):
    journal = make_journal(tmp_path, shared=True, read_timeout=0.05)
    process, finish = start_worker(journal, 1)
    try:
        os.kill(process.pid, signal.SIGSTOP)  # alive, but its flusher cannot run
        with pytest.raises(JournalIncomplete, match="SIM_JOURNAL_READ_TIMEOUT"):
            journal.query(JournalQuery())
    finally:
        os.kill(process.pid, signal.SIGCONT)
        stop(process, finish)


def test_a_barrier_made_with_a_thousand_descriptors_open(tmp_path):
    # The flusher waits on the barrier's pipe: select() refuses descriptors above 1023,
    # which a server holding many connections when the barrier is made would give it.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard}: cannot open 1,100 descriptors")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    # No collection until the barrier is made: an earlier test's store collected in
    # between would free low descriptors, and the barrier's pipes would take them.
    gc.collect()
    gc.disable()
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        journal = make_journal(tmp_path, shared=True)
        gc.enable()
        assert min(journal._batcher.barrier.wake_fd(slot) for slot in range(2)) > 1023
        process, finish = start_worker(journal, 3)
        try:
            assert journal.query(JournalQuery())[1] == 3
        finally:
            stop(process, finish)
    finally:
        gc.enable()
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_requests_reaching_a_new_worker_together_share_one_buffer(monkeypatch):
    # Two requests that reached a new worker together each made a buffer; the items
    # of the one replaced were never written, and every read through the barrier then
    # waited its whole timeout. The window is widened here: claiming a slot sleeps.
    import threading
    import time

    from simulator import batching
    from simulator.flush_barrier import FlushBarrier

    written = []
    batcher = batching.ProcessBatcher(written.extend, interval=60, batch=1000)
    batcher.share_across_processes(workers=2)
    claim = FlushBarrier.claim

    def slow_claim(self):
        time.sleep(0.05)
        return claim(self)

    monkeypatch.setattr(FlushBarrier, "claim", slow_claim)
    made = []
    real_init = batching._Buffer.__init__

    def counted_init(self, owner):
        made.append(self)
        real_init(self, owner)

    monkeypatch.setattr(batching._Buffer, "__init__", counted_init)
    threads = [threading.Thread(target=batcher.add, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1
    assert batcher.flush_everywhere(timeout=5, pause=time.sleep)
    assert sorted(written) == list(range(8))
    batcher.close()
