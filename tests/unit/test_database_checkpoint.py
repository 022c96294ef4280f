"""The WAL checkpoint runs on a connection of its own outside the store's lock
(simulator/store/database.py): a store closed meanwhile must not close that connection
under it (closing a connection another thread was using crashed a test run with a
segmentation fault), and a fork must not happen while it runs in another thread."""
from __future__ import annotations

import os
import sqlite3
import time

import pytest

from simulator.store import database as database_module
from simulator.store.database import Database


def test_a_close_during_a_checkpoint_leaves_its_connection_to_the_checkpoint(
        tmp_path, monkeypatch):
    db = Database(tmp_path / "state.db", "CREATE TABLE IF NOT EXISTS t (x INTEGER);")
    db.execute("INSERT INTO t VALUES (1)")
    run_checkpoint = database_module._off_the_event_loop
    seen = {}

    def closed_meanwhile(work):
        db.close()  # another thread closes the store while the checkpoint runs
        seen["conn"] = db._checkpoint_conn
        run_checkpoint(work)  # on a connection still open
        seen["ran"] = True

    monkeypatch.setattr(database_module, "_off_the_event_loop", closed_meanwhile)
    db.checkpoint()
    assert seen.get("ran") and seen["conn"] is not None
    assert db._checkpoint_conn is None  # closed by the checkpoint once it ended
    with pytest.raises(sqlite3.ProgrammingError):
        seen["conn"][1].execute("SELECT 1")


def test_a_fork_waits_for_a_checkpoint_running_in_another_thread(tmp_path):
    """A thread stands for a checkpoint in progress (it holds the checkpoint's lock)
    and ends it only once the main thread is about to fork: the fork must come after,
    and the child must then use SQLite."""
    import threading
    db = Database(tmp_path / "state.db", "CREATE TABLE IF NOT EXISTS t (x INTEGER);")
    events: list[str] = []
    forking = threading.Event()

    def checkpoint_in_progress():
        with database_module._CHECKPOINT_RUNNING:
            forking.wait(60)
            time.sleep(0.2)  # the main thread is in os.fork() by now, or just before it
            events.append("checkpoint ended")

    thread = threading.Thread(target=checkpoint_in_progress)
    thread.start()
    forking.set()
    pid = os.fork()
    if pid == 0:  # the child: its first queries must not hang
        try:
            db.execute("INSERT INTO t VALUES (1)")
            os._exit(0 if db.execute("SELECT count(*) FROM t") == [(1,)] else 1)
        finally:
            os._exit(2)
    events.append("forked")
    thread.join(60)
    _, status = os.waitpid(pid, 0)
    assert events == ["checkpoint ended", "forked"]
    assert os.waitstatus_to_exitcode(status) == 0
