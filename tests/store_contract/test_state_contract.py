"""Meta values, the clock's state, the active scenario and its rule counters through
:mod:`simulator.ports.state`, including counting from many threads at once."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

from store_contract_helpers import eventually

MOMENT = datetime(2023, 2, 1, 9, 30, tzinfo=timezone.utc)


def test_meta_values_are_set_replaced_and_absent_as_none(store):
    assert store.get_meta("registry") is None
    store.set_meta("registry", "one")
    store.set_meta("registry", "two")
    assert store.get_meta("registry") == "two"


def test_clock_state_round_trips_offset_and_frozen_instant(store):
    assert store.clock_state() == (0.0, None)
    store.set_clock_state(-3600.5, None)
    assert store.clock_state() == (-3600.5, None)
    store.set_clock_state(0.0, MOMENT)
    assert store.clock_state() == (0.0, MOMENT)


def test_another_worker_sees_clock_and_scenario_changes(open_store):
    first, second = open_store(), open_store()
    assert second.clock_state() == (0.0, None) and second.active_scenario() is None
    first.set_clock_state(0.0, MOMENT)
    first.set_active_scenario({"id": "a1", "origin": "test", "source": "rules: []"})
    assert eventually(lambda: second.clock_state() == (0.0, MOMENT))
    assert eventually(lambda: (second.active_scenario() or {}).get("id") == "a1")


def test_scenario_switch_forgets_the_previous_activation_counters(store):
    store.set_active_scenario({"id": "a1", "origin": "o", "source": "s"})
    assert store.active_scenario() == {"id": "a1", "origin": "o", "source": "s"}
    assert store.count_rule_match("a1", 0, lambda matched, fired: True) == (1, True)
    assert store.count_rule_match("a1", 0, lambda matched, fired: False) == (2, False)
    assert store.rule_counters("a1") == {0: (2, 1)}
    store.set_active_scenario({"id": "a2", "origin": "o", "source": "s"})
    assert store.rule_counters("a1") == {}
    store.set_active_scenario(None)
    assert store.active_scenario() is None


def test_concurrent_counting_gives_each_match_its_own_number(open_store):
    """Threads of several store objects (workers) count one rule: every match gets a
    distinct number and the rule fires exactly on every third, as ``fires`` decides."""
    stores = [open_store() for _ in range(3)]
    stores[0].set_active_scenario({"id": "a", "origin": "o", "source": "s"})
    seen: list[tuple[int, bool]] = []
    lock = threading.Lock()

    def count(store) -> None:
        for _ in range(20):
            result = store.count_rule_match("a", 7, lambda matched, fired: matched % 3 == 0)
            with lock:
                seen.append(result)

    threads = [threading.Thread(target=count, args=(stores[i % 3],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(matched for matched, _ in seen) == list(range(1, 121))
    assert all(fired == (matched % 3 == 0) for matched, fired in seen)
    assert stores[1].rule_counters("a") == {7: (120, 40)}


def test_the_fires_decision_sees_the_fired_count_so_far(store):
    """``fail N times``: fire while fewer than 2 fired."""
    results = [store.count_rule_match("a", 1, lambda matched, fired: fired < 2)[1]
               for _ in range(4)]
    assert results == [True, True, False, False]
    assert store.rule_counters("a") == {1: (4, 2)}
