"""Smoke run of benchmarks/dmp_bench.py: 1 s of wrk on TD2.1, TD3.2 and the echo.

The script runs as it would by hand, against real servers it starts: the TD2.1 Lua script
(a new body per request, SHA-1s recomputed) and the MTOM answer check must give answers
without a single error, and the JSON must carry the figures per operation. Skipped when
wrk or Locust (whose request builders the script imports) is absent.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed"),
    pytest.mark.skipif(importlib.util.find_spec("locust") is None,
                       reason="locust is not installed (the load-test request builders)"),
]


def test_smoke_run_measures_feeds_and_retrieves_without_error(tmp_path):
    command = [sys.executable, str(ROOT / "benchmarks" / "dmp_bench.py"), "--duration", "1",
               "--rounds", "1", "--documents", "2", "--targets", "td2.1,td3.2,echo",
               "--load-wait", "0", "--connections", "4", "--results-dir", str(tmp_path)]
    process = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    [result] = tmp_path.glob("dmp-*.json")
    report = json.loads(result.read_text())
    assert [r["target"] for r in report["runs"]] == ["td2.1", "td3.2", "echo"]
    for run in report["runs"]:
        assert run["checked_responses"] > 0, run["target"]
        assert run["non_200"] == run["bad_body"] == run["non_2xx"] == 0, run["target"]
        assert sum(run["socket_errors"].values()) == 0, run["target"]
    operations = report["operations"]
    assert operations["td3.2"]["ratio_to_echo"] > 0
    assert operations["td2.1"]["server_cpu_us_per_req"] > 0
    assert len(report["load"]["at_start"]) == 3
