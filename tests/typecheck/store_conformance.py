"""Checked by mypy, never run (tests/unit/test_store_types.py): each backend, and each
of its parts, is what the ports in simulator/ports declare. The parts are checked on
their own too: mypy was seen to accept a part missing a method through the whole
store's read-only ``dmp`` and ``timeline`` members."""
from __future__ import annotations

from simulator.ports.dmp import DmpRecordStore, RegistryAccess
from simulator.ports.store import InsiStore, SimulatorStore
from simulator.ports.tenants import TenantList
from simulator.ports.timeline import TimelineRecords
from simulator.store.dmp import DmpStore
from simulator.store.pg_dmp import PgDmpStore, PgRegistry
from simulator.store.pg_tenants import PgTenantDirectory
from simulator.store.pg_timeline import PgTimelineStore
from simulator.store.postgres import PostgresStore
from simulator.store.sqlite import SQLiteStore
from simulator.store.timeline import TimelineStore
from simulator.tenants.directory import TenantDirectory
from simulator.store.xds_registry import RegistryTransaction


def sqlite_is_a_simulator_store(store: SQLiteStore) -> SimulatorStore:
    return store


def postgres_is_a_simulator_store(store: PostgresStore) -> SimulatorStore:
    return store


def a_simulator_store_serves_insi(store: SimulatorStore) -> InsiStore:
    return store


def dmp_parts(sqlite: DmpStore, postgres: PgDmpStore) -> list[DmpRecordStore]:
    return [sqlite, postgres]


def registry_parts(sqlite: RegistryTransaction, postgres: PgRegistry) -> list[RegistryAccess]:
    return [sqlite, postgres]


def timeline_parts(sqlite: TimelineStore, postgres: PgTimelineStore) -> list[TimelineRecords]:
    return [sqlite, postgres]


def tenant_lists(files: TenantDirectory, postgres: PgTenantDirectory) -> list[TenantList]:
    return [files, postgres]
