"""The store contract suite: every test runs once per backend (``sqlite``,
``postgresql``), through the ports of :mod:`simulator.ports` only.

``open_store()`` gives a new store object on the same state each time it is called,
as another worker process would have: tests of sharing call it twice.
"""
from __future__ import annotations

from typing import Callable

import pytest

from simulator.ports.store import SimulatorStore

from store_contract_helpers import STATE_BOUND

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """The backend under test."""
    return request.param


@pytest.fixture
def open_store(backend, tmp_path, request) -> Callable[[], SimulatorStore]:
    """A factory of store objects sharing one fresh state of ``backend``."""
    opened: list = []
    if backend == "sqlite":
        from simulator.store.sqlite import open_store as open_sqlite

        def make() -> SimulatorStore:
            opened.append(open_sqlite(tmp_path / "data"))
            return opened[-1]
        yield make
        for store in opened:
            store.close()
        return
    from postgres_server import drop_database, new_database

    from simulator.store.postgres import PostgresStore
    server = request.getfixturevalue("postgres_server")
    url = new_database(server)

    def make_pg() -> SimulatorStore:
        opened.append(PostgresStore(url, state_cache_seconds=STATE_BOUND))
        return opened[-1]
    yield make_pg
    for store in opened:
        store.close()
    drop_database(server, url)


@pytest.fixture
def store(open_store) -> SimulatorStore:
    """One store object on a fresh state."""
    return open_store()
