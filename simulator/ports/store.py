"""The whole simulator's store, and the INSi service's slice of it."""
from __future__ import annotations

from typing import Protocol

from simulator.ports.diagnostics import JournalStore, MetricsStore
from simulator.ports.dmp import DmpRecordStore
from simulator.ports.identities import IdentityLookup, IdentityStore, SeedStore
from simulator.ports.replicas import ReplicaStore
from simulator.ports.state import ClockStore, MetaStore, ScenarioStore
from simulator.ports.timeline import TimelineRecords


class SimulatorStore(SeedStore, ClockStore, ScenarioStore, JournalStore, MetricsStore,
                     ReplicaStore, Protocol):
    """Everything the simulator keeps, as one object with a DMP and a timeline part."""

    # Read-only members (properties), so that a backend's own classes satisfy them.
    @property
    def dmp(self) -> DmpRecordStore:
        """The DMP part."""

    @property
    def timeline(self) -> TimelineRecords:
        """The timeline part."""

    def close(self) -> None:
        """Close this process's connections."""


class InsiStore(IdentityLookup, Protocol):
    """What INSi and the DMP's feed qualification read: identities, and the timeline
    (usage counts, INS provenance)."""

    @property
    def timeline(self) -> TimelineRecords:
        """The timeline part."""
