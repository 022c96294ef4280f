"""The answers of the identity registry's hot lookups, kept by each process of a SQLite
data directory until the registry changes.

Every DMP request naming a patient asks the registry what kind of identity its INS is
(the INS OID rule, services/dmp/ins_oid.py): a join and the identity's JSON decoded,
13 % of a TD0.3 (issue 15), for data that changes only through ``/_admin`` and resets.
The answers are kept for as long as the store's clock and scenario cache
(:class:`~simulator.store.pg_state.StateCache`) keeps its values: every identity change
renews the state token shared by the processes of the machine (state_token.py), which
makes each of them reload its values, and a reload drops the answers kept under the
previous ones. ``SIM_STATE_CACHE_SECONDS`` bounds their age too; ``0`` keeps nothing.

Only the SQLite store keeps them: its token is shared by every process that can write
the data directory. On PostgreSQL another replica's change would be seen only after the
bound, and identities are promised at once there (docs/storage.md, "Replicas").
"""
from __future__ import annotations

import threading
from typing import Callable

from simulator.identities.model import Identity
from simulator.store.pg_state import StateCache

LIMIT = 4096  # answers kept per process; all are dropped when full (a bound, not an LRU)


class IdentityLookups:
    """``(number, roles) -> identities`` answers of one store, in this process."""

    def __init__(self, limit: int = LIMIT):
        # No reference to the store (given the state at each call): a cycle would keep
        # the store's connections and token map open until the garbage collector runs.
        self._limit = limit
        self._lock = threading.Lock()
        # (the state values the answers were read under, the answers): one attribute,
        # so that a reader never pairs one generation's values with another's answers.
        self._kept: tuple[object, dict[tuple, tuple[Identity, ...]]] = (None, {})

    def get(self, state: StateCache, key: tuple,
            read: Callable[[], list[Identity]]) -> list[Identity]:
        """The answer to ``key``, read (``read()``) unless kept since ``state`` last
        changed."""
        values = state.values()
        under, answers = self._kept
        if under is values:
            found = answers.get(key)
            if found is not None:
                return list(found)
        found = tuple(read())
        with self._lock:
            under, answers = self._kept
            # Kept only if the values did not change while it was read: an answer read
            # before a change is never kept under the values loaded after it.
            if under is not values and state.values() is not values:
                return list(found)
            if under is not values or len(answers) >= self._limit:
                answers = {}
                self._kept = (values, answers)
            answers[key] = found  # in place: every answer in it was read under ``values``
        return list(found)
