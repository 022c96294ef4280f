"""The simulator's image under Testcontainers (testcontainers-python), in a vendor's tests.

    pip install testcontainers pytest requests
    INSI_DMP_SIM_IMAGE=insi-dmp-sim:latest pytest test_with_testcontainers.py

One container serves the whole session on a free host port; each test resets it through
the control plane (the tests are not on the container's loopback: hence the token).
The project's CI runs this file against the image it builds (tests/package).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HttpWaitStrategy

IMAGE = os.environ.get("INSI_DMP_SIM_IMAGE", "insi-dmp-sim:latest")
TOKEN = "change-me"
# An INSi traits search for the CNDA test person ADRUN Zoé (docs/examples/insi/).
TRAITS = (Path(__file__).parent / "insi" / "01-traits-search.xml").read_bytes()


@pytest.fixture(scope="session")
def simulator_url():
    """The base URL of a simulator container, for the whole session."""
    container = (DockerContainer(IMAGE)
                 .with_env("SIM_ADMIN_TOKEN", TOKEN)
                 .with_env("SIM_DATE", "2022-12-15T10:00:00+01:00")
                 .with_exposed_ports(8080)
                 .waiting_for(HttpWaitStrategy(8080, "/_admin/health").for_status_code(200)))
    with container:
        yield f"http://{container.get_container_host_ip()}:{container.get_exposed_port(8080)}"


@pytest.fixture
def simulator(simulator_url):
    """The session's simulator, reset before the test."""
    reset = requests.post(f"{simulator_url}/_admin/reset", timeout=10,
                          headers={"Authorization": f"Bearer {TOKEN}"})
    reset.raise_for_status()
    return simulator_url


def test_insi_finds_a_cnda_test_person(simulator):
    answer = requests.post(f"{simulator}/lps", data=TRAITS, timeout=30,
                           headers={"Content-Type": "application/soap+xml; charset=utf-8"})
    assert answer.status_code == 200
    assert b"<CodeCR>00</CodeCR>" in answer.content


def test_the_simulated_clock_moves(simulator):
    moved = requests.put(f"{simulator}/_admin/clock", timeout=10,
                         json={"now": "2023-01-15T09:00:00+01:00", "frozen": True},
                         headers={"Authorization": f"Bearer {TOKEN}"})
    assert moved.status_code == 200 and moved.json()["frozen"] is True
    assert moved.json()["now"].startswith("2023-01-15T08:00:00")
