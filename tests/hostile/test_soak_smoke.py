"""Smoke test of the soak script (benchmarks/soak.py): a short run on the real server
with a scenario injecting every kind of fault often; every client failure must be
explained by an injected fault, and the JSON result written. A check on the comparison
itself: a failure no injected fault can cause is counted as unexplained. Skipped when
Locust is not installed.

The run lasts 15 s of wall-clock time, so how much it does depends on the machine: the
assertions are relations that hold at any speed (client and server counts equal, each
failure explained by one injected fault, the journal's altered exchanges equal to the
injections /metrics counted), never amounts of load.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "soak.py"
LOCUST = Path(sys.executable).with_name("locust")

# Every action the soak compares, a few per cent each, so that 15 s of load get dozens.
SMOKE_SCENARIO = """\
name: soak-smoke
seed: 7
rules:
  - name: insi-fault
    match: {service: insi}
    probability: 0.03
    action: {fault: insi_102}
  - name: dmp-503
    match: {service: dmp}
    probability: 0.03
    action: {http_status: 503}
  - name: dmp-fault
    match: {service: dmp}
    probability: 0.02
    action: {fault: technical_error}
  - {name: reset, probability: 0.03, action: reset}
  - {name: empty, probability: 0.02, action: empty}
  - {name: cut, probability: 0.02, action: {truncate: 0.5}}
  - {name: garbage, probability: 0.02, action: garble}
  - {name: slow, probability: 0.05, latency: {uniform: [50ms, 300ms]}}
"""


def test_comparison_counts_a_failure_no_fault_can_cause():
    sys.path.insert(0, str(ROOT))
    from benchmarks.soak_checks import failure_kind, unexplained
    # A reset explains a lost connection, not a SOAP fault; a cut answer either.
    assert unexplained(Counter(connection=1, fault=1), Counter(reset=1, garble=3)) == \
        (1, ("fault",))
    assert unexplained(Counter(connection=2, answer=1), Counter(reset=1, truncate=2))[0] == 0
    assert unexplained(Counter(connection=2, answer=2), Counter(reset=1, truncate=2))[0] == 1
    assert [failure_kind(m) for m in ("network: HTTPConnectionClosed", "HTTP 503",
                                      "fault insi_102 (siram_40, HTTP 500)",
                                      "CR 01 instead of CR 00")] == \
        ["connection", "http", "fault", "answer"]


def test_store_check_counts_the_submission_sets_of_iti57_updates():
    sys.path.insert(0, str(ROOT))
    from benchmarks.soak_checks import store_check
    registry = {"submission_sets": 12, "documents": 20, "documents_without_bytes": 0,
                "integrity": "ok"}
    feeds = Counter({"Success 2 entries": 10})
    # 10 feeds and 2 deletions (ITI-57), each with its submission set: consistent.
    assert store_check(10, feeds, Counter(), registry, None, updates_stored=2)["ok"]
    # Without counting them, two sets are unexplained.
    assert not store_check(10, feeds, Counter(), registry, None)["ok"]


@pytest.mark.skipif(not LOCUST.exists(), reason=f"locust is not installed ({LOCUST})")
def test_short_soak_explains_every_failure_and_writes_its_result(tmp_path):
    scenario = tmp_path / "smoke.yaml"
    scenario.write_text(SMOKE_SCENARIO)
    results = tmp_path / "results"
    process = subprocess.run(
        [sys.executable, str(SCRIPT), "--seconds", "15", "--users", "8", "--spawn-rate", "8",
         "--wait", "0.05,0.3", "--sample-every", "2", "--scenario", str(scenario),
         "--results-dir", str(results)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    report = process.stdout
    assert process.returncode in (0, 1), f"{report}\n{process.stderr}"
    assert "errors beyond the injected ones: 0\n" in report, f"{report}\n{process.stderr}"
    written = re.search(r"^results: (.+)$", report, re.M)
    assert written and Path(written.group(1)).parent == results, report
    result = json.loads(Path(written.group(1)).read_text())
    explained = result["explained"]
    # Not vacuous: with faults on about a fifth of the requests, a run of a few dozen
    # requests (any machine makes them in 15 s) injects some; a failure needs one.
    assert explained["injected"] >= 1 and explained["failures"] >= 1, explained
    assert explained["unexplained"] == 0 and not explained["unexplained_detail"]
    # Each failure is one injected fault seen by the client (some, e.g. a garbled
    # answer that still parses, go unnoticed): never more failures than injections.
    assert explained["failures"] <= explained["injected"], explained
    for operation, data in explained["operations"].items():
        assert sum(data["failures"].values()) <= sum(data["injected"].values()), operation
        assert data["silent"] >= 0, (operation, data)
    # What the client sent is what the server counted, operation by operation.
    assert result["client_by_op"] == result["server_by_op"] and result["server_by_op"]
    journal = result["journal"]
    assert journal["complete"] and journal["unexplained_error_count"] == 0
    # The journal's exchanges altered by each rule are those /metrics counted.
    assert journal["altered_matches_metrics"], journal["altered"]
    assert journal["exchanges"] == sum(result["server_by_op"].values())
    assert result["store"]["ok"], result["store"]
    assert result["samples"] and all(
        "master" in s["processes"] and len(s["processes"]) == 3 for s in result["samples"])
