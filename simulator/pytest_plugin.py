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
"""
from __future__ import annotations

import os

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


def pytest_configure(config):
    """Register the marks."""
    config.addinivalue_line("markers", "sim_date(iso): frozen simulated date-time for the test")
    config.addinivalue_line("markers", "sim_scenario(name_or_yaml): fault scenario for the test")


@pytest.fixture(scope="session")
def insi_dmp_sim_server(pytestconfig):
    """One simulator for the session: started here, or the one at ``--sim-url``."""
    url = pytestconfig.getoption("--sim-url") or pytestconfig.getini("sim_url") \
        or os.environ.get("SIM_URL")
    if url:
        token = pytestconfig.getoption("--sim-token") or pytestconfig.getini("sim_token") \
            or os.environ.get("SIM_ADMIN_TOKEN") or None
        client = SimulatorClient(url, token)
        try:
            client.reset()  # also proves that the URL and the token are right
        except (OSError, SimulatorError) as error:
            pytest.exit(f"--sim-url {url}: the simulator cannot be used: {error}",
                        returncode=3)
        yield client
        return
    mode = pytestconfig.getoption("--sim-mode") or pytestconfig.getini("sim_mode")
    with start_simulator(mode) as handle:
        yield handle


@pytest.fixture
def insi_dmp_sim(insi_dmp_sim_server, request):
    """The session's simulator, reset, with the test's ``sim_date``/``sim_scenario``."""
    sim = insi_dmp_sim_server
    sim.reset()
    date = request.node.get_closest_marker("sim_date")
    if date is not None:
        sim.set_clock(date.args[0])
    scenario = request.node.get_closest_marker("sim_scenario")
    if scenario is not None:
        sim.set_scenario(scenario.args[0])
    return sim
