"""The WAL checkpoint runs on a connection of its own outside the store's lock
(simulator/store/database.py): a store closed meanwhile must not close that connection
under it (closing a connection another thread was using crashed a test run with a
segmentation fault)."""
from __future__ import annotations

import sqlite3

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
