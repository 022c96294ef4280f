"""The shared tenant list and one process's view of it (simulator.tenants.manager), on
both backends: files under the data directory (simulator.tenants.directory) and the
PostgreSQL database (simulator.store.pg_tenants). Two ``Tenants`` on one list stand
for two worker processes (or replicas). The apps are stand-ins: what matters is which
tenant data each serves: a data directory, or a PostgreSQL schema."""
from __future__ import annotations

import threading
import time

import pytest

from simulator.ports.tenants import TenantLimit
from simulator.tenants.directory import TenantDirectory
from simulator.tenants.manager import TenantMissing, Tenants
from simulator.tenants.names import TenantNameError


class TenantData:
    """What a tenant's store does to its data on one backend: make it (opening a store
    makes its directory or schema), mark it with the tenant's id, read the mark back."""

    def __init__(self, root, url=None):
        self.root, self.url = root, url
        self.pg = None
        if url:
            from simulator.store.pg_pool import ConnectionPool, PgDatabase
            self.pg = PgDatabase(ConnectionPool(url, 2))

    def directory(self, limit: int):
        """A new tenant list object on the shared state (another process's)."""
        if self.url is None:
            return TenantDirectory(self.root, limit)
        from simulator.store.pg_tenants import PgTenantDirectory
        return PgTenantDirectory(self.url, limit, self.root, cache_seconds=0)

    def make(self, record) -> None:
        if self.pg is None:
            record.data_dir.mkdir(parents=True, exist_ok=True)
            (record.data_dir / "marker").write_text(record.id)
            return
        with self.pg.transaction() as cursor:
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{record.schema}"')
            cursor.execute(f'CREATE TABLE IF NOT EXISTS "{record.schema}".marker (id TEXT)')
            cursor.execute(f'INSERT INTO "{record.schema}".marker VALUES (%s)', (record.id,))

    def exists(self, record) -> bool:
        if self.pg is None:
            return record.data_dir.exists()
        return bool(self.pg.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                                    (record.schema,)))

    def marker(self, record) -> str:
        if self.pg is None:
            return (record.data_dir / "marker").read_text()
        return self.pg.execute(f'SELECT id FROM "{record.schema}".marker')[0][0]


@pytest.fixture
def data(backend, tmp_path, request):
    """The tenant data of ``backend`` (a fresh PostgreSQL database for ``postgresql``)."""
    if backend == "sqlite":
        yield TenantData(tmp_path)
        return
    from postgres_server import drop_database, new_database
    server = request.getfixturevalue("postgres_server")
    url = new_database(server)
    yield TenantData(tmp_path, url)
    drop_database(server, url)


class FakeApp:
    """A tenant's app: its data made and marked, whether it was initialised, closed."""

    data: TenantData  # set for each test by ``_fake_apps``

    def __init__(self, record, initialise):
        self.record, self.initialised, self.closed = record, initialise, False
        self.simulator = self
        FakeApp.data.make(record)

    def close(self):
        self.closed = True


@pytest.fixture(autouse=True)
def _fake_apps(data):
    FakeApp.data = data


def worker(data, limit=3, auto_create=True) -> Tenants:
    return Tenants(data.directory(limit), FakeApp, auto_create)


def test_a_tenant_is_created_on_first_use_initialised_once_and_seen_by_another_worker(data):
    a, b = worker(data), worker(data)
    first = a.app("ci-1")
    assert first.initialised
    assert [r.name for r in b.records()] == ["ci-1"]
    seen = b.app("ci-1")
    assert not seen.initialised  # opened, not initialised again
    assert seen.record == first.record


def test_without_auto_create_an_unknown_tenant_is_missing(data):
    tenants = worker(data, auto_create=False)
    with pytest.raises(TenantMissing):
        tenants.app("ci-1")
    assert tenants.records() == []
    record, created = tenants.create("ci-1")
    assert created and tenants.app("ci-1").record == record
    assert tenants.create("ci-1") == (record, False)


def test_the_limit_counts_every_tenant_and_frees_a_place_on_delete(data):
    tenants = worker(data, limit=2)
    tenants.app("a"), tenants.app("b")
    with pytest.raises(TenantLimit, match="SIM_MAX_TENANTS"):
        tenants.app("c")
    assert tenants.app("a")  # an existing tenant is still served
    assert tenants.delete("b")
    assert tenants.app("c").initialised


def test_zero_tenants_means_none(data):
    with pytest.raises(TenantLimit, match="at most 0"):
        worker(data, limit=0).app("a")


def test_delete_removes_the_data_and_a_stale_worker_never_serves_it_again(data):
    a, b = worker(data), worker(data)
    old = a.app("ci-1")
    stale = b.app("ci-1")  # the other worker has it open
    assert a.delete("ci-1")
    assert not data.exists(old.record)
    assert old.closed
    fresh = b.app("ci-1")  # its next request: the old copy is closed, a new tenant made
    assert stale.closed and fresh is not stale
    assert fresh.initialised and fresh.record.id != old.record.id
    assert data.marker(fresh.record) == fresh.record.id
    assert not data.exists(old.record)  # nothing wrote the old one back
    assert a.app("ci-1").record == fresh.record


def test_deleting_a_missing_tenant_says_so(data):
    assert not worker(data).delete("nobody")
    with pytest.raises(TenantNameError):
        worker(data).delete("../x")


def test_two_workers_creating_one_name_at_once_agree_on_one_tenant(data):
    directory_a, directory_b = data.directory(5), data.directory(5)
    mine, theirs = directory_a.reserve("ci-1"), directory_b.reserve("ci-1")
    data.make(mine), data.make(theirs)  # both opened their stores
    won, created = directory_a.publish(mine)
    assert created and won == mine
    lost, created = directory_b.publish(theirs)
    assert not created and lost == mine
    assert not data.exists(theirs)  # the loser's data is gone
    assert [r.id for r in directory_b.records()] == [mine.id]


def test_concurrent_creations_never_exceed_the_limit(data):
    limit, names = 4, [f"t{i}" for i in range(16)]
    results: dict[str, str] = {}

    def create(name):
        tenants = worker(data, limit=limit)  # one per thread: separate "workers"
        try:
            tenants.create(name)
            results[name] = "created"
        except TenantLimit:
            results[name] = "refused"

    threads = [threading.Thread(target=create, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()).count("created") == limit
    assert len(worker(data).records()) == limit


def test_hidden_and_deleted_directories_are_not_tenants(data, tmp_path):
    if data.url:
        pytest.skip("a layout of the file-based list")
    tenants = worker(data)
    tenants.app("a")
    (tmp_path / ".deleted-leftover").mkdir()
    assert [r.name for r in tenants.records()] == ["a"]


def test_a_tenant_deleted_while_a_worker_opens_it_is_not_made_again(data):
    a = worker(data)
    old = a.app("ci-1").record

    def open_during_a_deletion(record, initialise):
        if not initialise and record == old:
            a.delete("ci-1")  # another worker deletes it meanwhile...
            data.make(record)  # ...and the store makes its data again
        return FakeApp(record, initialise)

    b = Tenants(data.directory(3), open_during_a_deletion, True)
    fresh = b.app("ci-1")
    assert fresh.initialised and fresh.record.id != old.id
    assert not data.exists(old)
    assert [r.id for r in b.records()] == [fresh.record.id]
    assert a.app("ci-1").record == fresh.record


def test_a_worker_closes_tenants_deleted_elsewhere_even_if_never_asked_for_again(data):
    a = worker(data)
    b = Tenants(data.directory(3), FakeApp, True, sweep_every=0)
    per_test = b.app("test-1")  # a tenant made for one test, served by worker b
    assert a.delete("test-1")  # deleted through worker a at the end of the test
    b.app("other")  # worker b's next request, for another tenant
    assert per_test.closed
    assert set(b.opened()) == {"other"}


def test_on_postgresql_a_worker_trusts_its_list_for_the_cache_bound_only(data):
    if data.url is None:
        pytest.skip("the file-based list reads the files on every request")
    from simulator.store.pg_tenants import PgTenantDirectory
    bound = 0.3
    mine = PgTenantDirectory(data.url, 5, data.root, cache_seconds=bound)
    other = data.directory(5)
    assert mine.records() == [] and not mine.is_current(other.reserve("late"))
    # a tenant created elsewhere after this worker's last look: a "no" is read again
    record, created = other.publish(other.reserve("ci-1"))
    assert created and mine.is_current(record)
    assert other.delete("ci-1")
    time.sleep(bound)  # once the bound has passed, the deletion is seen
    assert not mine.is_current(record)
