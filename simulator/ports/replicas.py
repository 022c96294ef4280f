"""Which simulator processes (replicas) share the store, and when each was last alive."""
from __future__ import annotations

from typing import Protocol


class ReplicaStore(Protocol):
    """Heartbeats of the replicas (:mod:`simulator.replicas`): every ``serve`` process
    sharing the store records that it is alive; any of them lists all."""

    def beat_replica(self, replica: str, details: dict, forget_after: float) -> None:
        """Record that ``replica`` is alive now (the store's own clock, so that replicas
        on machines whose clocks differ compare alike), with ``details`` (JSON values);
        forget the replicas silent for more than ``forget_after`` seconds."""

    def forget_replica(self, replica: str) -> None:
        """Remove ``replica`` from the list (it stopped cleanly)."""

    def replicas(self) -> list[dict]:
        """Every replica recorded, by id: ``{"replica", "first_seen", "last_seen"`` (ISO
        instants, UTC), ``"silent_seconds"`` (since its last heartbeat, by the store's
        clock), ``"details"}``."""
