"""The Locust load tests (loadtests/), smoke-run against a simulator on a free port.

Locust runs as a subprocess, as it would by hand, and the tests read its CSV reports:
every request name of the INSi sequences shows up with no failure, and with the
insi-down scenario the failures are reported and named by their fault code.
Skipped when Locust is not installed (it comes with the ``test`` extra).
"""
from __future__ import annotations

import csv
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.testing import start_simulator

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
LOCUST = Path(sys.executable).with_name("locust")

EXPECTED_NAMES = ("traits: first name", "traits: full list", "traits: with birth place",
                  "vitale: ouvrant droit + rang", "vitale: individual matricule")

pytestmark = pytest.mark.skipif(not LOCUST.exists(),
                                reason=f"locust is not installed ({LOCUST} not found)")


@pytest.fixture(scope="module")
def sim():
    """An in-process simulator for this module (quiet request log)."""
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)
    try:
        with start_simulator() as handle:
            yield handle
    finally:
        werkzeug_log.setLevel(level)


def run_locust(sim, out: Path, users: int, seconds: int) -> tuple[subprocess.CompletedProcess,
                                                                   dict, list[dict]]:
    """Run the locustfile headless; returns the process, the stats rows by name and the
    failure rows."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("LOCUST_", "INSI_", "LOADTEST_"))}
    env["LOADTEST_WAIT"] = "0.01,0.05"       # brisk, so a few seconds cover every path
    command = [str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "-u", str(users),
               "-r", str(users), "-t", f"{seconds}s", "--only-summary",
               "--host", sim.base_url, "--csv", str(out / "run")]
    # cwd: a directory without locust.conf or pyproject.toml, so no stray configuration.
    process = subprocess.run(command, cwd=out, env=env, capture_output=True, text=True,
                             timeout=seconds + 30)
    stats_file = out / "run_stats.csv"
    assert stats_file.exists(), f"no CSV report\n{process.stdout}\n{process.stderr}"
    with stats_file.open(newline="") as f:
        stats = {row["Name"]: row for row in csv.DictReader(f)}
    with (out / "run_failures.csv").open(newline="") as f:
        failures = list(csv.DictReader(f))
    return process, stats, failures


def test_smoke_run_covers_every_step_without_failure(sim, tmp_path):
    sim.clear_scenario()
    process, stats, failures = run_locust(sim, tmp_path, users=5, seconds=5)
    report = f"{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
    total = stats["Aggregated"]
    assert int(total["Request Count"]) > 100, report
    assert int(total["Failure Count"]) == 0, f"{failures}\n{report}"
    assert failures == []
    for name in EXPECTED_NAMES:
        assert name in stats and int(stats[name]["Request Count"]) > 0, (name, report)
    assert process.returncode == 0, report
    assert "Traceback" not in process.stderr, report


def test_insi_down_failures_are_named_by_fault_code(sim, tmp_path):
    sim.set_scenario("insi-down")
    try:
        process, stats, failures = run_locust(sim, tmp_path, users=2, seconds=2)
    finally:
        sim.clear_scenario()
    report = f"{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
    assert int(stats["Aggregated"]["Failure Count"]) > 0, report
    assert failures, report
    for row in failures:
        assert "fault desir_1020 (siram_40, HTTP 500)" in row["Error"], row
    assert process.returncode == 1, report     # Locust's exit code when requests failed
