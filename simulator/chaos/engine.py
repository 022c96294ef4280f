"""The chaos engine: which rule of the active scenario fires for a request.

The active scenario lives in the store (so every worker sees a switch at its next
request, and requests in flight keep the scenario they started with); each worker
parses it once per activation. Draws are reproducible: the n-th match of rule i uses
``Random(f"{seed}:{i}:{n}")``, with n counted across workers in the store.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Callable

from simulator.chaos.loader import parse_scenario
from simulator.ports.state import ScenarioStore
from simulator.chaos.scenario import Action, RequestFacts, Rule, Scenario


@dataclass(frozen=True)
class Decision:
    """What a fired rule does to one request."""

    rule: Rule
    delay: float  # seconds before the first byte
    action: Action
    draw: int  # which match of the rule this was
    seed: int  # the scenario's seed (with rule and draw, seeds the garbling)

    def describe(self) -> str:
        """Journal label, e.g. ``rule 2 (tail): +1834 ms, fault insi_102``."""
        parts = [f"+{self.delay * 1000:.0f} ms"] if self.rule.latency is not None else []
        if self.action.kind:
            parts.append(self.action.describe())
        label = f"rule {self.rule.index}"
        if self.rule.name != label:
            label += f" ({self.rule.name})"
        return f"{label}: {', '.join(parts)}"


class ChaosEngine:
    """Decides, per request, which rule of the active scenario fires."""

    def __init__(self, store: ScenarioStore, clock):
        self.store = store
        self.clock = clock
        self._parsed: tuple[str, Scenario] | None = None

    def active(self) -> tuple[str, Scenario] | None:
        """(activation id, scenario), or None when no scenario is active."""
        record = self.store.active_scenario()
        if record is None:
            return None
        if self._parsed is None or self._parsed[0] != record["id"]:
            self._parsed = (record["id"], parse_scenario(record["source"], record["origin"]))
        return self._parsed

    def activate(self, scenario: Scenario, origin: str) -> str:
        """Make ``scenario`` the active one (rule counters start again); returns its id."""
        activation = uuid.uuid4().hex
        self.store.set_active_scenario({"id": activation, "origin": origin,
                                        "source": scenario.source})
        return activation

    def clear(self) -> None:
        """No scenario: every request gets its normal answer."""
        self.store.set_active_scenario(None)

    def decide(self, facts_of: Callable[[], RequestFacts]) -> Decision | None:
        """The first rule that fires for this request, or None. ``facts_of()`` is only
        called when a scenario is active (extracting facts costs a little)."""
        active = self.active()
        if active is None:
            return None
        activation, scenario = active
        facts = facts_of()
        now = self.clock.now()
        for rule in scenario.rules:
            if not rule.match.matches(facts, now):
                continue
            outcome = {}

            def fires(matched: int, fired: int) -> bool:
                rng = random.Random(f"{scenario.seed}:{rule.index}:{matched}")
                if rng.random() >= rule.probability or \
                        (rule.times is not None and fired >= rule.times):
                    return False
                outcome["delay"] = rule.latency.sample(rng) if rule.latency else 0.0
                return True
            matched, fired = self.store.count_rule_match(activation, rule.index, fires)
            if fired:
                return Decision(rule, outcome["delay"], rule.action, matched, scenario.seed)
        return None

