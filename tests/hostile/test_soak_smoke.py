"""Smoke test of the soak script (benchmarks/soak.py): a short run on the real server
with a scenario injecting every kind of fault often, so that a few seconds make dozens
of them; every client failure must be explained by an injected fault, and the JSON
result written. A check on the comparison itself: a failure no injected fault can cause
is counted as unexplained. Skipped when Locust is not installed.
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
    assert "errors beyond the injected ones: 0\n" in report, report
    written = re.search(r"^results: (.+)$", report, re.M)
    assert written and Path(written.group(1)).parent == results, report
    result = json.loads(Path(written.group(1)).read_text())
    explained = result["explained"]
    assert explained["unexplained"] == 0 and not explained["unexplained_detail"]
    assert explained["injected"] >= 10, "the scenario injected too few faults to compare"
    assert explained["failures"] >= 10
    assert result["client_by_op"] == result["server_by_op"]
    assert {"rechercherInsAvecTraitsIdentite", "ProvideAndRegisterDocumentSet-b",
            "RetrieveDocumentSet"} <= set(result["server_by_op"])
    assert result["journal"]["complete"] and result["journal"]["unexplained_error_count"] == 0
    assert result["store"]["ok"], result["store"]
    assert len(result["samples"]) >= 5 and all(
        "master" in s["processes"] and len(s["processes"]) == 3 for s in result["samples"])
