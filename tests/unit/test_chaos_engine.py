"""The chaos engine on a real SQLite store and a controlled simulated clock."""
from __future__ import annotations

import math
import random
import threading
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from simulator.chaos.engine import ChaosEngine, Decision
from simulator.chaos.loader import load_scenario, parse_scenario
from simulator.chaos.scenario import Action, RequestFacts
from simulator.clock import SimClock
from simulator.services.insi.contract import OP_TRAITS, OP_VITALE
from simulator.store.sqlite import open_store

K = 4.0  # standard errors allowed
UTC = timezone.utc
INSI = RequestFacts("insi", OP_TRAITS, idam="IDAM1", lps_name="LOGICIEL",
                    birth_name="DUPONT")
DMP = RequestFacts("dmp", "ProvideAndRegisterDocumentSet-b", version="v2")


class FakeWall:
    def __init__(self):
        self.now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def __call__(self):
        return self.now


class Worker:
    """One engine with its own store connection, clock and wall."""

    def __init__(self, data_dir, wall=None):
        self.store = open_store(data_dir)
        self.wall = wall or FakeWall()
        self.clock = SimClock(self.store, wall=self.wall)
        self.engine = ChaosEngine(self.store, self.clock)

    def activate(self, text: str, origin: str = "test.yaml") -> str:
        return self.engine.activate(parse_scenario(text, origin), origin)

    def decide(self, facts: RequestFacts = INSI) -> Decision | None:
        return self.engine.decide(lambda: facts)

    def outcomes(self, n: int, facts: RequestFacts = INSI) -> list:
        return [key(self.decide(facts)) for _ in range(n)]


def key(decision: Decision | None):
    if decision is None:
        return None
    return decision.rule.index, decision.delay, decision.action.kind, decision.draw


@pytest.fixture
def worker(tmp_path):
    return Worker(tmp_path)


def scenario(*rules: str, seed: int = 7) -> str:
    return f"name: t\nseed: {seed}\nrules:\n" + "".join(f"  - {r}\n" for r in rules)


# -- order and probabilities ------------------------------------------------------------

def test_no_active_scenario_no_decision(worker):
    assert worker.engine.active() is None
    assert worker.decide() is None


def test_first_matching_rule_wins(worker):
    worker.activate(scenario(
        "{name: dmp-only, match: {service: dmp}, action: {http_status: 503}}",
        "{name: insi-first, match: {service: insi}, action: {fault: insi_102}}",
        "{name: insi-second, match: {service: insi}, action: reset}",
        "{name: anyone, action: empty}"))
    for _ in range(5):
        assert worker.decide(INSI).rule.name == "insi-first"
        assert worker.decide(DMP).rule.name == "dmp-only"
    assert worker.decide(RequestFacts("dmp")).rule.name == "dmp-only"


def test_probability_0_never_fires_and_1_always_fires(worker):
    activation = worker.activate(scenario(
        "{name: never, probability: 0, action: reset}",
        "{name: always, probability: 1, latency: {uniform: [10ms, 20ms]}}"))
    decisions = [worker.decide() for _ in range(500)]
    assert all(d is not None and d.rule.name == "always" for d in decisions)
    assert all(0.01 <= d.delay <= 0.02 for d in decisions)
    assert len({d.delay for d in decisions}) == 500  # drawn, not constant
    assert worker.store.rule_counters(activation) == {1: (500, 0), 2: (500, 500)}


def test_probability_fires_in_its_share_and_falls_through_otherwise(worker):
    n, p = 2_000, 0.3
    activation = worker.activate(scenario(
        "{name: sometimes, probability: 0.3, action: {fault: insi_102}}",
        "{name: otherwise, latency: 1s}"))
    decisions = [worker.decide() for _ in range(n)]
    fired = sum(1 for d in decisions if d.rule.index == 1)
    assert abs(fired / n - p) < K * math.sqrt(p * (1 - p) / n), fired
    assert all(d.rule.index == 2 and d.delay == 1.0 and d.action.kind is None
               for d in decisions if d.rule.index != 1)
    assert all(d.action == Action("fault", fault="insi_102") for d in decisions
               if d.rule.index == 1)
    assert worker.store.rule_counters(activation)[1] == (n, fired)
    # the n-th match's draw number is n
    assert [d.draw for d in decisions if d.rule.index == 1] == \
        [i + 1 for i, d in enumerate(decisions) if d.rule.index == 1]


def test_stacked_probabilities_compose(worker):
    n = 2_000
    worker.activate(scenario("{probability: 0.5, action: reset}",
                             "{probability: 0.5, action: empty}"))
    kinds = [d.action.kind if d else None for d in (worker.decide() for _ in range(n))]
    for kind, p in (("reset", 0.5), ("empty", 0.25), (None, 0.25)):
        share = kinds.count(kind) / n
        assert abs(share - p) < K * math.sqrt(p * (1 - p) / n), (kind, share)


# -- reproducibility --------------------------------------------------------------------

REPRO = scenario(
    "{name: errors, match: {service: insi}, probability: 0.1, action: {fault: insi_102}}",
    "{name: slow-errors, probability: 0.05, latency: {lognormal: {median: 2s, sigma: 0.7}},"
    " action: reset}",
    "{name: dmp-cut, match: {service: dmp}, probability: 0.2, action: garble}",
    "{name: jitter, latency: {uniform: [20ms, 80ms], spike: {probability: 0.1, latency: "
    "{percentiles: {p50: 1s, p99: 5s}}}}}")


def mixed_requests(n: int) -> list[RequestFacts]:
    rng = random.Random(5)
    return [INSI if rng.random() < 0.7 else DMP for _ in range(n)]


def test_same_scenario_and_seed_same_decisions_on_two_stores(tmp_path):
    first, second = Worker(tmp_path / "a"), Worker(tmp_path / "b")
    first.activate(REPRO)
    second.activate(REPRO)
    requests = mixed_requests(400)
    one = [key(first.decide(f)) for f in requests]
    two = [key(second.decide(f)) for f in requests]
    assert one == two
    assert {k[0] for k in one} == {1, 2, 3, 4}  # every rule took part
    third = Worker(tmp_path / "c")
    third.activate(REPRO.replace("seed: 7", "seed: 8"))
    assert [key(third.decide(f)) for f in requests] != one


def test_draws_follow_the_documented_seeding(worker):
    worker.activate(scenario("{latency: {lognormal: {median: 300ms, sigma: 0.6}}}", seed=42))
    rule = worker.engine.active()[1].rules[0]
    for n in range(1, 21):
        rng = random.Random(f"42:1:{n}")
        rng.random()  # the probability draw comes first
        assert worker.decide().delay == rule.latency.sample(rng)


def test_deterministic_rule_fires_every_time_with_its_fixed_delay(worker):
    worker.activate(scenario("{name: down, latency: 150ms, action: {fault: desir_1020}}"))
    assert worker.outcomes(4) == [(1, 0.15, "fault", n) for n in (1, 2, 3, 4)]


# -- times ------------------------------------------------------------------------------

def test_times_fails_n_times_then_succeeds(worker):
    activation = worker.activate(scenario("{name: thrice, times: 3, action: {fault: insi_102}}"))
    outcomes = worker.outcomes(6)
    assert outcomes == [(1, 0.0, "fault", 1), (1, 0.0, "fault", 2), (1, 0.0, "fault", 3),
                        None, None, None]
    assert worker.store.rule_counters(activation) == {1: (6, 3)}


def test_times_then_the_next_rule_applies(worker):
    worker.activate(scenario("{name: thrice, times: 3, action: reset}",
                             "{name: then, latency: 2s}"))
    assert [k[0] for k in worker.outcomes(6)] == [1, 1, 1, 2, 2, 2]


def test_times_with_a_probability_counts_fires_not_matches(worker):
    activation = worker.activate(scenario("{times: 5, probability: 0.5, action: reset}"))
    outcomes = worker.outcomes(200)
    assert sum(1 for o in outcomes if o) == 5
    assert worker.store.rule_counters(activation) == {1: (200, 5)}
    assert outcomes[-1] is None


def test_counters_are_shared_by_two_workers_on_the_same_data_dir(tmp_path):
    first = Worker(tmp_path)
    second = Worker(tmp_path, first.wall)
    activation = first.activate(scenario("{times: 3, action: {fault: insi_102}}"))
    outcomes = []
    for _ in range(4):
        outcomes += [first.decide(), second.decide()]
    assert [o is not None for o in outcomes] == [True] * 3 + [False] * 5
    assert [o.draw for o in outcomes[:3]] == [1, 2, 3]
    assert first.store.rule_counters(activation) == second.store.rule_counters(activation) \
        == {1: (8, 3)}


def test_counters_are_shared_by_concurrent_workers(tmp_path):
    workers = [Worker(tmp_path) for _ in range(4)]
    activation = workers[0].activate(scenario("{times: 3, action: reset}"))
    fired = []

    def run(w):
        fired.extend(d.draw for d in (w.decide() for _ in range(25)) if d is not None)
    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(fired) == [1, 2, 3]
    assert workers[0].store.rule_counters(activation) == {1: (100, 3)}


def test_activating_again_resets_the_counters(tmp_path):
    first, second = Worker(tmp_path), Worker(tmp_path)
    text = scenario("{times: 3, action: reset}")
    first_id = first.activate(text)
    assert sum(1 for o in first.outcomes(5) if o) == 3
    second_id = second.activate(text)
    assert second_id != first_id
    assert first.store.rule_counters(first_id) == {}
    assert sum(1 for o in first.outcomes(2) + second.outcomes(3) if o) == 3
    # and the draws start again from the first match
    third_id = first.activate(text)
    assert [k[3] for k in first.outcomes(3)] == [1, 2, 3]
    assert first.store.rule_counters(third_id) == {1: (3, 3)}


def test_a_worker_picks_up_a_switch_of_scenario(tmp_path):
    first, second = Worker(tmp_path), Worker(tmp_path)
    first.activate(scenario("{action: reset}"))
    assert second.decide().action.kind == "reset"
    first.activate(scenario("{action: empty}"))
    assert second.decide().action.kind == "empty"
    first.engine.clear()
    assert second.decide() is None and second.engine.active() is None


def test_clear_means_no_decision(worker):
    worker.activate(scenario("{action: reset}"))
    assert worker.decide() is not None
    worker.engine.clear()
    assert worker.engine.active() is None
    assert worker.decide() is None
    assert worker.decide(DMP) is None


# -- time windows on the simulated clock ------------------------------------------------

def test_windows_follow_the_simulated_clock(worker):
    worker.engine.activate(load_scenario("nightly-maintenance"), "nightly-maintenance")
    clock = worker.clock
    clock.set(datetime(2023, 1, 10, 21, 30, tzinfo=UTC), frozen=True)   # 22:30 Paris
    assert worker.decide(INSI).action == Action("fault", fault="desir_1020")
    assert worker.decide(DMP).action == Action("http_status", status=503)
    clock.set(datetime(2023, 1, 10, 20, 59, tzinfo=UTC))                 # 21:59 Paris
    assert worker.decide(INSI) is None and worker.decide(DMP) is None
    # a running clock walks out of the window with the wall clock
    clock.set(datetime(2023, 1, 11, 4, 58, tzinfo=UTC), frozen=False)    # 05:58 Paris
    assert worker.decide(INSI) is not None
    worker.wall.now += timedelta(minutes=1, seconds=59)                  # 05:59:59
    assert worker.decide(INSI) is not None
    worker.wall.now += timedelta(seconds=1)                              # 06:00
    assert worker.decide(INSI) is None
    # and into the next night
    worker.wall.now += timedelta(hours=16)                               # 22:00
    assert worker.decide(INSI) is not None


def test_a_dated_period_on_the_simulated_clock(worker):
    worker.engine.activate(load_scenario("insi-oct-nov-2022"), "insi-oct-nov-2022")
    worker.clock.set(datetime(2022, 10, 24, 21, 0, tzinfo=UTC), frozen=True)  # cut-over
    decision = worker.decide(INSI)
    assert decision.rule.name == "cut-over-2022-10-24"
    assert decision.describe() == "rule 1 (cut-over-2022-10-24): fault desir_1020"
    worker.clock.set(datetime(2022, 12, 1, 9, 0, tzinfo=UTC))                 # all over
    assert worker.decide(INSI) is None
    worker.clock.set(datetime(2022, 11, 4, 10, 0, tzinfo=UTC))                # bad day
    names = [worker.decide(INSI).rule.name for _ in range(300)]
    assert set(names) == {"technical-errors-2022-11-04", "slow-2022-11-04"}
    share = names.count("technical-errors-2022-11-04") / 300
    assert abs(share - 0.3) < K * math.sqrt(0.3 * 0.7 / 300)


# -- matching ---------------------------------------------------------------------------

@pytest.mark.parametrize("match, hit, miss", [
    ({"service": "insi", "operation": OP_VITALE},
     RequestFacts("insi", OP_VITALE), RequestFacts("insi", OP_TRAITS)),
    ({"operation": ["ProvideAndRegisterDocumentSet-b"]}, DMP, RequestFacts("dmp", "Other")),
    ({"service": "dmp", "version": "v2"}, DMP, RequestFacts("dmp", version="v1")),
    ({"software": {"idam": "IDAM1"}}, INSI, RequestFacts("insi", OP_TRAITS, idam="IDAM2")),
    ({"software": {"idam": ["X", "IDAM1"], "lps_name": "LOGICIEL"}}, INSI,
     RequestFacts("insi", OP_TRAITS, idam="IDAM1", lps_name="AUTRE")),
    ({"software": {"lps_name": "LOGICIEL"}}, INSI, RequestFacts("insi", OP_TRAITS)),
    ({"patient": {"ins": "180012A123456"}}, RequestFacts("insi", OP_VITALE, ins="180012A123456"),
     RequestFacts("insi", OP_VITALE, ins="180012A123457")),
    ({"patient": {"ins": "180012A12345678"}},
     RequestFacts("insi", OP_VITALE, ins="180012A123456"),
     RequestFacts("insi", OP_VITALE, ins=None)),
    ({"patient": {"birth_name": "dupont"}}, INSI,
     RequestFacts("insi", OP_TRAITS, birth_name="DUPOND")),
    ({"patient": {"birth_name": ["Martin", "Dupont"]}}, INSI,
     RequestFacts("insi", OP_TRAITS)),
])
def test_matching_criteria(worker, match, hit, miss):
    worker.activate(yaml.safe_dump({"name": "m", "rules": [{"match": match,
                                                            "action": "reset"}]}))
    assert worker.decide(hit) is not None
    assert worker.decide(miss) is None


# -- Decision.describe ------------------------------------------------------------------

def test_describe(worker):
    worker.engine.activate(load_scenario("insi-down"), "insi-down")
    assert worker.decide().describe() == "rule 1 (insi-unavailable): +150 ms, fault desir_1020"
    worker.activate(scenario("{match: {service: dmp}, action: {http_status: 503}}",
                             "{name: slow, latency: {uniform: [1834ms, 1834ms]}}",
                             "{name: rule 3, action: {hang: 90s}}"))
    assert worker.decide(DMP).describe() == "rule 1: http 503"
    assert worker.decide(INSI).describe() == "rule 2 (slow): +1834 ms"
    worker.activate(scenario("{name: tail, latency: 1834.4ms, action: {fault: insi_102}}",
                             "{name: x, action: {dribble: 10s}}"))
    assert worker.decide(INSI).describe() == "rule 1 (tail): +1834 ms, fault insi_102"
    worker.activate(scenario("{name: rule 1, action: {hang: 90s}}"))
    assert worker.decide().describe() == "rule 1: hang 90s"
    worker.activate(scenario("{name: x, action: {dribble: 10s}}"))
    assert worker.decide().describe() == "rule 1 (x): dribble 10s"
    worker.activate(scenario("{name: z, latency: 0, action: garble}"))
    assert worker.decide().describe() == "rule 1 (z): +0 ms, garble"


# -- counters seen by the admin view ----------------------------------------------------

def test_counters_count_rules_that_fire_without_draws(worker):
    # GET /_admin/scenario shows these counters for every rule (docs/scenarios.md)
    activation = worker.engine.activate(load_scenario("insi-down"), "insi-down")
    for _ in range(3):
        worker.decide()
    assert worker.store.rule_counters(activation) == {1: (3, 3)}


def test_facts_are_not_extracted_without_an_active_scenario(tmp_path):
    store = open_store(tmp_path)
    engine = ChaosEngine(store, SimClock(store))

    def facts_of():
        raise AssertionError("facts extracted although no scenario is active")
    assert engine.decide(facts_of) is None
