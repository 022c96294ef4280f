"""The identity registry INSi, TD0.0 and the DMP read, and the admin API changes."""
from __future__ import annotations

from typing import Protocol

from simulator.identities.model import Identity
from simulator.ports.state import MetaStore


class IdentityLookup(Protocol):
    """The reads the services make (INSi matching, the DMP's INS checks)."""

    def identities_by_traits(self, birth_name: str, sex: str,
                             birth_date: str) -> list[Identity]:
        """Identities with exactly this birth name, sex and birth date, by key."""

    def identities_by_matricule(self, number: str,
                                roles: tuple[str, ...]) -> list[Identity]:
        """Identities holding ``number`` in one of ``roles`` (active, history,
        ouvrant-droit), by key."""

    def identity_by_insc(self, insc: str) -> Identity | None:
        """The identity whose INS-C is ``insc`` (the lowest key if several)."""


class IdentityStore(IdentityLookup, Protocol):
    """Every identity operation: lookups, the admin API's changes, seeding."""

    def replace_identities(self, identities: list[Identity],
                           keep_changes: bool = False) -> None:
        """Drop every identity and store these instead, in one transaction; with
        ``keep_changes`` the runtime changes are replayed over them, in order."""

    def add_identity(self, identity: Identity) -> None:
        """Store one more identity (a runtime change); ``KeyError`` when its key exists."""

    def update_identity(self, identity: Identity) -> bool:
        """Replace the identity of the same key (a runtime change); False when none."""

    def delete_identity(self, key: str) -> bool:
        """Remove an identity (a runtime change); False when none."""

    def get_identity(self, key: str) -> Identity | None:
        """One identity by its registry key."""

    def search_identities(self, text: str = "", source: str | None = None,
                          limit: int = 50, offset: int = 0) -> tuple[int, list[Identity]]:
        """(total, page by key) of identities whose name, first names, matricule or
        INS-C contain ``text``."""

    def count_identities(self) -> int:
        """How many identities the registry holds."""


class SeedStore(IdentityStore, MetaStore, Protocol):
    """What :func:`simulator.identities.registry.seed_registry` needs."""
