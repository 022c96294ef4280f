"""Filling the identity registry: CNDA test persons, generated population, vendor files."""
from __future__ import annotations

from simulator.identities.cnda import cnda_identities
from simulator.identities.loader import load_identities
from simulator.identities.model import Identity
from simulator.identities.population import generate_population
from simulator.ports.identities import SeedStore
from simulator.settings import Settings

REGISTRY_VERSION = "2"  # 2: INS-C rows and CNAM identities


def initial_identities(settings: Settings) -> list[Identity]:
    """Everyone the registry holds after a start or a reset."""
    identities = cnda_identities() + generate_population(settings.seed, settings.population)
    if settings.identities_file is not None:
        identities += load_identities(settings.identities_file)
    return identities


def seed_registry(store: SeedStore, settings: Settings, force: bool = False) -> None:
    """Load the initial identities unless the store already holds this exact set.

    Identities added, replaced or deleted at runtime (``/_admin/identities``) last until
    the next reset (``force``): a restart on a persistent data directory keeps them, and
    when the seed, the population size or the vendor file changed, they are replayed
    over the new initial set (a runtime version wins over a file person of the same key).
    """
    source = settings.identities_file
    signature = ":".join([REGISTRY_VERSION, str(settings.seed), str(settings.population),
                          str(source), str(source.stat().st_mtime_ns) if source else ""])
    if not force and store.get_meta("registry") == signature:
        return
    store.replace_identities(initial_identities(settings), keep_changes=not force)
    store.set_meta("registry", signature)
