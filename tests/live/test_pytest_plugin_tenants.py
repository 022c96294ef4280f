"""The pytest plugin's tenants (docs/tenants.md, "pytest"): a vendor's suite run with
pytest-xdist (-n 2) against one shared simulator (--sim-url), each worker in its own
tenant, so that the workers' resets, clocks and identities never meet; a test marked
``sim_tenant`` in a fresh tenant of its own; every tenant deleted at the end."""
from __future__ import annotations

import pytest

from simulator.settings import Settings
from simulator.testing import start_simulator

TOKEN = "tenants-ci-token"
pytest_plugins = ["pytester"]

# Each test resets its simulator (the fixture), sets a clock of its own, adds the same
# person, then keeps checking for a while that both are still as it left them. Two
# workers doing this in one tenant reset each other, and the second add is a conflict.
VENDOR_TESTS = """
    import os, time
    import pytest

    PERSON = {"birth_name": "DUPONT-MOREAU", "first_names": "ANNE", "sex": "F",
              "birth_date": "1988-04-09", "birth_place": "35238", "nir": "2880435238123"}

    def hold(sim, day):
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with open(os.environ["TENANTS_SEEN"], "a") as seen:
            seen.write(f"{worker} {sim.tenant} {sim.base_url}\\n")
        digit = int(worker[-1]) if worker[-1].isdigit() else 0
        now = f"2023-0{1 + digit}-{day:02d}T08:00:00Z"
        sim.set_clock(now)
        sim.add_identity(PERSON)
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline:
            assert sim.clock()["now"].startswith(now[:16])
            assert sim.identities(q="DUPONT-MOREAU")["total"] == 1

    @pytest.mark.parametrize("day", range(1, 7))
    def test_hold(insi_dmp_sim, day):
        hold(insi_dmp_sim, day)

    @pytest.mark.sim_tenant
    def test_own_tenant(insi_dmp_sim, insi_dmp_sim_server):
        assert insi_dmp_sim.tenant != insi_dmp_sim_server.tenant
        assert insi_dmp_sim.tenant in [t["name"] for t in insi_dmp_sim.tenants()]
        hold(insi_dmp_sim, 28)
"""


@pytest.fixture(scope="module")
def shared_simulator():
    """One process-mode simulator (2 workers) that several test runs share, as a CI
    service would be."""
    with start_simulator("process", Settings.from_env(population=50, admin_token=TOKEN)) \
            as handle:
        yield handle


def seen(path) -> list[tuple[str, str, str]]:
    return [tuple(line.split()) for line in path.read_text().splitlines()]


def test_each_xdist_worker_gets_its_own_tenant_on_one_shared_simulator(
        pytester, shared_simulator, tmp_path, monkeypatch):
    record = tmp_path / "tenants-seen.txt"
    monkeypatch.setenv("TENANTS_SEEN", str(record))
    shared_simulator.set_clock("2030-06-01T00:00:00Z")  # the default tenant's, untouched
    pytester.makepyfile(test_vendor=VENDOR_TESTS)
    result = pytester.runpytest_subprocess(
        "-n", "2", "--sim-url", shared_simulator.base_url, "--sim-token", TOKEN,
        "-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=7)
    rows = seen(record)
    workers = {worker for worker, _, _ in rows}
    assert workers == {"gw0", "gw1"}  # both workers ran tests
    session = {worker: tenant for worker, tenant, _ in rows
               if not tenant.rsplit("-", 1)[-1].startswith("t")}
    assert len(set(session.values())) == 2
    for worker, tenant in session.items():
        assert tenant.startswith("xdist-") and tenant.endswith(f"-{worker}")
    for worker, tenant, url in rows:
        assert url == f"{shared_simulator.base_url}/t/{tenant}"
    own = [tenant for _, tenant, _ in rows if tenant not in session.values()]
    assert len(own) == 1 and own[0].endswith("-t1")
    assert shared_simulator.tenants() == []  # every tenant deleted at the end
    assert shared_simulator.clock()["now"].startswith("2030-06-01")


def test_a_named_tenant_for_a_ci_job(pytester, shared_simulator, tmp_path, monkeypatch):
    record = tmp_path / "tenants-seen.txt"
    monkeypatch.setenv("TENANTS_SEEN", str(record))
    pytester.makepyfile(test_vendor=VENDOR_TESTS)
    result = pytester.runpytest_subprocess(
        "--sim-url", shared_simulator.base_url, "--sim-token", TOKEN,
        "--sim-tenant", "ci-job-4711", "-p", "no:cacheprovider", "-p", "no:randomly",
        "-k", "test_hold")
    result.assert_outcomes(passed=6)
    assert {tenant for _, tenant, _ in seen(record)} == {"ci-job-4711"}
    assert shared_simulator.tenants() == []
