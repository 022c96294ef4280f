"""pytest plugin: a simulator for your tests (registered as ``insi_dmp_sim``).

Fixtures:
- ``insi_dmp_sim_server`` (session): one simulator for the whole run, on a free port;
- ``insi_dmp_sim`` (function): that simulator, reset before the test, with the clock
  and scenario of the test's marks applied; a :class:`simulator.client.SimulatorClient`.

Marks: ``@pytest.mark.sim_date("2023-01-15")`` (frozen simulated clock) and
``@pytest.mark.sim_scenario("insi-down")`` (a shipped name or YAML text).
Option ``--sim-mode thread|process`` (ini ``sim_mode``): serve from the test process
(default, fast) or run the real ``insi-dmp-sim serve``. Option ``--sim-url URL`` (ini
``sim_url``, or ``SIM_URL``) attaches to a simulator that is already running (a
container, a shared CI service) instead of starting one, with ``--sim-token`` (ini
``sim_token``, or ``SIM_ADMIN_TOKEN``) when it has an admin token. The fixtures are the
same in every mode: :class:`simulator.client.SimulatorClient` methods.

Tenants (docs/tenants.md), so that runs sharing one simulator do not reset each other:
- attached to a simulator (``--sim-url``) under pytest-xdist, each worker works in its
  own tenant (``xdist-<run id>-<worker>``), deleted when the worker ends;
- ``--sim-tenant NAME`` (ini ``sim_tenant``, or ``SIM_TENANT``) puts the run in tenant
  ``NAME`` (``NAME-<worker>`` under xdist), e.g. a CI job id; ``none`` keeps the
  default tenant even under xdist;
- ``@pytest.mark.sim_tenant`` (or ``--sim-tenant-per-test`` for every test) gives a test
  a fresh tenant of its own, deleted after it.
The client's URLs (``insi_url``, ``dmp_url()``, ``base_url``) carry the tenant prefix:
give them to the software under test.
"""
from __future__ import annotations

import itertools
import os
import uuid

import pytest

from simulator.client import SimulatorClient, SimulatorError
from simulator.testing import start_simulator


def pytest_addoption(parser):
    """``--sim-mode`` / ``sim_mode``."""
    group = parser.getgroup("insi-dmp-sim")
    group.addoption("--sim-mode", choices=("thread", "process"), default=None,
                    help="serve the simulator from the test process (thread, default) or "
                         "run insi-dmp-sim serve (process)")
    parser.addini("sim_mode", "thread (default) or process", default="thread")
    group.addoption("--sim-url", default=None,
                    help="use the simulator running at this URL (e.g. http://sim:8080) "
                         "instead of starting one; SIM_URL also works")
    group.addoption("--sim-token", default=None,
                    help="the admin token of the simulator at --sim-url "
                         "(default: SIM_ADMIN_TOKEN)")
    parser.addini("sim_url", "URL of a running simulator to use instead of starting one",
                  default="")
    parser.addini("sim_token", "admin token of the simulator at sim_url", default="")
    group.addoption("--sim-tenant", default=None,
                    help="run the tests in this tenant of the simulator (NAME-<worker> "
                         "under xdist); 'none': the default tenant (SIM_TENANT also works)")
    parser.addini("sim_tenant", "tenant of the simulator the tests run in", default="")
    group.addoption("--sim-tenant-per-test", action="store_true", default=None,
                    help="give every test a fresh tenant of its own")
    parser.addini("sim_tenant_per_test", "give every test a fresh tenant of its own",
                  type="bool", default=False)


def pytest_configure(config):
    """Register the marks."""
    config.addinivalue_line("markers", "sim_date(iso): frozen simulated date-time for the test")
    config.addinivalue_line("markers", "sim_scenario(name_or_yaml): fault scenario for the test")
    config.addinivalue_line("markers", "sim_tenant: a fresh simulator tenant for this test, "
                                       "deleted after it")


@pytest.fixture(scope="session")
def insi_dmp_sim_server(pytestconfig):
    """One simulator for the session: started here, or the one at ``--sim-url``; in the
    session's tenant when it has one (see the module's docstring)."""
    url = pytestconfig.getoption("--sim-url") or pytestconfig.getini("sim_url") \
        or os.environ.get("SIM_URL")
    if url:
        token = pytestconfig.getoption("--sim-token") or pytestconfig.getini("sim_token") \
            or os.environ.get("SIM_ADMIN_TOKEN") or None
        client = SimulatorClient(url, token)
        tenant = session_tenant(pytestconfig, shared=True)
        try:
            if tenant is not None:
                client = client.for_tenant(tenant)
            client.reset()  # also proves that the URL and the token are right
        except (OSError, SimulatorError) as error:
            pytest.exit(f"--sim-url {url}: the simulator cannot be used: {error}",
                        returncode=3)
        yield client
        if tenant is not None:
            client.delete_tenant(tenant)
        return
    mode = pytestconfig.getoption("--sim-mode") or pytestconfig.getini("sim_mode")
    with start_simulator(mode) as handle:
        tenant = session_tenant(pytestconfig, shared=False)
        yield handle if tenant is None else handle.for_tenant(tenant)


def session_tenant(config, shared: bool) -> str | None:
    """The tenant this session (this xdist worker) runs in, or None for the default
    tenant: ``--sim-tenant NAME`` (``NAME-<worker>`` under xdist); else, under xdist on
    a ``shared`` simulator, ``xdist-<run id>-<worker>``."""
    chosen = config.getoption("--sim-tenant") or config.getini("sim_tenant") \
        or os.environ.get("SIM_TENANT") or ""
    if chosen.lower() == "none":
        return None
    worker = getattr(config, "workerinput", None)  # set in pytest-xdist's workers
    if not chosen:
        if worker is None or not shared:
            return None  # without a shared simulator, each worker starts its own
        chosen = "xdist-" + str(worker.get("testrunuid", uuid.uuid4().hex))[:8]
    return _fitted(chosen, f"-{worker['workerid']}" if worker is not None else "")


_TEST_TENANTS = itertools.count(1)


def _fitted(base: str, suffix: str) -> str:
    """``base + suffix`` within the 40 characters of a tenant name."""
    return base[:40 - len(suffix)] + suffix


def _wants_own_tenant(request) -> bool:
    config = request.config
    option = config.getoption("--sim-tenant-per-test")
    return request.node.get_closest_marker("sim_tenant") is not None or bool(
        option if option is not None else config.getini("sim_tenant_per_test"))


@pytest.fixture
def insi_dmp_sim(insi_dmp_sim_server, request):
    """The session's simulator, reset (or a fresh tenant of its own, with the
    ``sim_tenant`` mark), with the test's ``sim_date``/``sim_scenario``."""
    sim = insi_dmp_sim_server
    own = None
    if _wants_own_tenant(request):
        worker = getattr(request.config, "workerinput", None)
        base = sim.tenant or "pytest-" + uuid.uuid4().hex[:8] + (
            f"-{worker['workerid']}" if worker is not None else "")
        own = _fitted(base, f"-t{next(_TEST_TENANTS)}")
        sim = sim.for_tenant(own)
        request.addfinalizer(lambda: sim.delete_tenant(own))
    else:
        sim.reset()
    date = request.node.get_closest_marker("sim_date")
    if date is not None:
        sim.set_clock(date.args[0])
    scenario = request.node.get_closest_marker("sim_scenario")
    if scenario is not None:
        sim.set_scenario(scenario.args[0])
    return sim
