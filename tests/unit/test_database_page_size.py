"""Page size of the SQLite files (simulator/store/database.py): the diagnostics file is
made with 16 KiB pages (a journalled exchange's bodies then cost half the WAL writes,
issue 15); a file that exists keeps its own size, and a diagnostics file of an older
schema version is made again, so with the new size."""
from __future__ import annotations

import sqlite3

from simulator.store.database import Database
from simulator.store.sqlite import DIAGNOSTICS_PAGE_SIZE, DIAGNOSTICS_VERSION, SQLiteStore

SCHEMA = "CREATE TABLE IF NOT EXISTS t (x BLOB);"


def page_size(path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA page_size").fetchone()[0]


def test_a_new_file_takes_the_page_size_asked(tmp_path):
    db = Database(tmp_path / "new.db", SCHEMA, page_size=16384)
    db.execute("INSERT INTO t VALUES (?)", (b"x" * 40_000,))
    assert db.execute("PRAGMA journal_mode")[0][0] == "wal"
    db.close()
    assert page_size(tmp_path / "new.db") == 16384


def test_a_file_that_exists_keeps_its_own_page_size(tmp_path):
    Database(tmp_path / "old.db", SCHEMA).close()  # SQLite's default
    default = page_size(tmp_path / "old.db")
    db = Database(tmp_path / "old.db", SCHEMA, page_size=16384)
    db.execute("INSERT INTO t VALUES (?)", (b"x" * 40_000,))
    assert [row[0] for row in db.execute("SELECT length(x) FROM t")] == [40_000]
    db.close()
    assert page_size(tmp_path / "old.db") == default != 16384


def test_the_diagnostics_file_has_16_kib_pages_and_an_outdated_one_is_made_again(tmp_path):
    path = tmp_path / "diagnostics.sqlite3"
    with sqlite3.connect(path) as conn:  # a diagnostics file of the previous version
        conn.execute(f"PRAGMA user_version = {DIAGNOSTICS_VERSION - 1}")
        conn.execute("CREATE TABLE journal (id INTEGER PRIMARY KEY)")
    assert page_size(path) != DIAGNOSTICS_PAGE_SIZE
    store = SQLiteStore(tmp_path)
    store.diagnostics.execute("SELECT COUNT(*) FROM journal")
    store.close()
    assert page_size(path) == DIAGNOSTICS_PAGE_SIZE
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == DIAGNOSTICS_VERSION


def test_the_journal_pages_benchmark_runs_on_each_page_size(capsys):
    # A smoke run of benchmarks/journal_pages.py (the evidence for the page size): it
    # refuses to report a size the file did not take.
    import json
    from benchmarks import journal_pages
    assert journal_pages.main(["--sizes", "4096,16384", "--rounds", "1", "--batches", "2",
                               "--request-bytes", "100", "--response-bytes", "100"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["median_us"]) == {"4096", "16384"}
    assert all(value > 0 for value in report["median_us"].values())
    assert report["x_first_size"]["4096"] == 1.0
