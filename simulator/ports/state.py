"""What the clock, the chaos engine and the registry seeding keep in the store: meta
values, the clock's offset, the active scenario and its rule counters."""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Protocol


class MetaStore(Protocol):
    """Small named values (the identity set's signature, whether the clock was set)."""

    def get_meta(self, key: str) -> str | None:
        """A value, or None."""

    def set_meta(self, key: str, value: str) -> None:
        """Set a value."""


class ClockStore(Protocol):
    """The simulated clock's state, shared by every worker (:class:`simulator.clock.SimClock`)."""

    def clock_state(self) -> tuple[float, datetime | None]:
        """(offset in seconds from real time, frozen instant or None)."""

    def set_clock_state(self, offset: float, frozen_at: datetime | None) -> None:
        """Persist the offset or the frozen instant."""


class ScenarioStore(Protocol):
    """The active fault scenario and its rule counters (:mod:`simulator.chaos.engine`)."""

    def active_scenario(self) -> dict | None:
        """The active scenario record ``{"id", "origin", "source"}``, or None."""

    def set_active_scenario(self, record: dict | None) -> None:
        """Activate a scenario record (or none) and forget the other activations' counters."""

    def count_rule_match(self, scenario_id: str, rule: int,
                         fires: Callable[[int, int], bool]) -> tuple[int, bool]:
        """Count one more match of a rule and decide, atomically across workers (and
        replicas), whether it fires: ``fires(matched, fired_so_far)``. Returns
        (matched, fired)."""

    def rule_counters(self, scenario_id: str) -> dict[int, tuple[int, int]]:
        """rule -> (times matched, times fired) for an activation."""
