"""The clock and scenario cache of the SQLite store (simulator/store/state_token.py):
a change made through one store is seen at once by every other store of the data
directory, in this process or another, whatever the cache's time bound."""
from __future__ import annotations

import multiprocessing

from simulator.settings import parse_datetime
from simulator.store.sqlite import open_store

MOMENT = parse_datetime("2023-05-01T00:00:00Z")
HOUR = 3600.0  # a bound no test waits for: what is seen comes from the token


def test_a_change_is_seen_at_once_by_another_store_of_the_data_dir(tmp_path):
    first, second = open_store(tmp_path, HOUR), open_store(tmp_path, HOUR)
    assert second.clock_state() == (0.0, None) and second.active_scenario() is None
    first.set_clock_state(0.0, MOMENT)
    first.set_active_scenario({"id": "a1", "origin": "test", "source": "rules: []"})
    assert second.clock_state() == (0.0, MOMENT)
    assert second.active_scenario()["id"] == "a1"
    first.set_active_scenario(None)
    assert second.active_scenario() is None


def test_the_cache_answers_without_reading_the_database(tmp_path):
    store = open_store(tmp_path, HOUR)
    store.set_clock_state(-60.0, None)
    assert store.clock_state() == (-60.0, None)
    # Written behind the store's back (no token change): the cached value stays.
    store.data.execute("UPDATE clock SET offset_seconds = 5 WHERE id = 1")
    assert store.clock_state() == (-60.0, None)
    assert open_store(tmp_path, HOUR).clock_state() == (5.0, None)  # a fresh cache


def _set_clock(data_dir) -> None:
    open_store(data_dir, HOUR).set_clock_state(0.0, MOMENT)


def test_a_change_made_by_another_process_is_seen_at_once(tmp_path):
    store = open_store(tmp_path, HOUR)
    assert store.clock_state() == (0.0, None)  # cached
    process = multiprocessing.get_context("spawn").Process(target=_set_clock,
                                                           args=(tmp_path,))
    process.start()
    process.join(60)
    assert process.exitcode == 0
    assert store.clock_state() == (0.0, MOMENT)
