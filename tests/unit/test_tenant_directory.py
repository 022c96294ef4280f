"""The shared tenant list (simulator.tenants.directory) and one process's view of it
(simulator.tenants.manager): two ``Tenants`` on one directory stand for two worker
processes. The apps are stand-ins: what matters is which data directory each serves."""
from __future__ import annotations

import threading

import pytest

from simulator.tenants.directory import TenantDirectory, TenantLimit
from simulator.tenants.manager import TenantMissing, Tenants
from simulator.tenants.names import TenantNameError


class FakeApp:
    """A tenant's app: its data directory, whether it was initialised, and closed."""

    def __init__(self, record, initialise):
        self.record, self.initialised, self.closed = record, initialise, False
        self.simulator = self
        (record.data_dir / "marker").write_text(record.id)

    def close(self):
        self.closed = True


def worker(root, limit=3, auto_create=True) -> Tenants:
    return Tenants(TenantDirectory(root, limit), FakeApp, auto_create)


def test_a_tenant_is_created_on_first_use_initialised_once_and_seen_by_another_worker(tmp_path):
    a, b = worker(tmp_path), worker(tmp_path)
    first = a.app("ci-1")
    assert first.initialised
    assert [r.name for r in b.records()] == ["ci-1"]
    seen = b.app("ci-1")
    assert not seen.initialised  # opened, not initialised again
    assert seen.record == first.record


def test_without_auto_create_an_unknown_tenant_is_missing(tmp_path):
    tenants = worker(tmp_path, auto_create=False)
    with pytest.raises(TenantMissing):
        tenants.app("ci-1")
    assert tenants.records() == []
    record, created = tenants.create("ci-1")
    assert created and tenants.app("ci-1").record == record
    assert tenants.create("ci-1") == (record, False)


def test_the_limit_counts_every_tenant_and_frees_a_place_on_delete(tmp_path):
    tenants = worker(tmp_path, limit=2)
    tenants.app("a"), tenants.app("b")
    with pytest.raises(TenantLimit, match="SIM_MAX_TENANTS"):
        tenants.app("c")
    assert tenants.app("a")  # an existing tenant is still served
    assert tenants.delete("b")
    assert tenants.app("c").initialised


def test_zero_tenants_means_none(tmp_path):
    with pytest.raises(TenantLimit, match="at most 0"):
        worker(tmp_path, limit=0).app("a")


def test_delete_removes_the_data_and_a_stale_worker_never_serves_it_again(tmp_path):
    a, b = worker(tmp_path), worker(tmp_path)
    old = a.app("ci-1")
    stale = b.app("ci-1")  # the other worker has it open
    assert a.delete("ci-1")
    assert not old.record.data_dir.exists()
    assert old.closed
    fresh = b.app("ci-1")  # its next request: the old copy is closed, a new tenant made
    assert stale.closed and fresh is not stale
    assert fresh.initialised and fresh.record.id != old.record.id
    assert (fresh.record.data_dir / "marker").read_text() == fresh.record.id
    assert not old.record.data_dir.exists()  # nothing wrote the old one back
    assert a.app("ci-1").record == fresh.record


def test_deleting_a_missing_tenant_says_so(tmp_path):
    assert not worker(tmp_path).delete("nobody")
    with pytest.raises(TenantNameError):
        worker(tmp_path).delete("../x")


def test_two_workers_creating_one_name_at_once_agree_on_one_tenant(tmp_path):
    directory_a, directory_b = TenantDirectory(tmp_path, 5), TenantDirectory(tmp_path, 5)
    mine, theirs = directory_a.reserve("ci-1"), directory_b.reserve("ci-1")
    won, created = directory_a.publish(mine)
    assert created and won == mine
    lost, created = directory_b.publish(theirs)
    assert not created and lost == mine
    assert not theirs.data_dir.exists()  # the loser's directory is gone
    assert [r.id for r in directory_b.records()] == [mine.id]


def test_concurrent_creations_never_exceed_the_limit(tmp_path):
    limit, names = 4, [f"t{i}" for i in range(16)]
    results: dict[str, str] = {}

    def create(name):
        tenants = worker(tmp_path, limit=limit)  # one per thread: separate "workers"
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
    assert len(worker(tmp_path).records()) == limit


def test_hidden_and_deleted_directories_are_not_tenants(tmp_path):
    tenants = worker(tmp_path)
    tenants.app("a")
    (tmp_path / ".deleted-leftover").mkdir()
    assert [r.name for r in tenants.records()] == ["a"]


def test_a_tenant_deleted_while_a_worker_opens_it_is_not_made_again(tmp_path):
    a = worker(tmp_path)
    old = a.app("ci-1").record

    def open_during_a_deletion(record, initialise):
        if not initialise and record == old:
            a.delete("ci-1")  # another worker deletes it meanwhile...
            record.data_dir.mkdir(parents=True)  # ...and the store makes its directory
        return FakeApp(record, initialise)

    b = Tenants(TenantDirectory(tmp_path, 3), open_during_a_deletion, True)
    fresh = b.app("ci-1")
    assert fresh.initialised and fresh.record.id != old.id
    assert not old.data_dir.exists()
    assert [r.id for r in b.records()] == [fresh.record.id]
    assert a.app("ci-1").record == fresh.record


def test_a_worker_closes_tenants_deleted_elsewhere_even_if_never_asked_for_again(tmp_path):
    a = worker(tmp_path)
    b = Tenants(TenantDirectory(tmp_path, 3), FakeApp, True, sweep_every=0)
    per_test = b.app("test-1")  # a tenant made for one test, served by worker b
    assert a.delete("test-1")  # deleted through worker a at the end of the test
    b.app("other")  # worker b's next request, for another tenant
    assert per_test.closed
    assert set(b.opened()) == {"other"}
