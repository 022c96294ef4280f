"""A smoke run of benchmarks/feed_stages.py (where a feed's CPU time goes), in a child
process: it wraps the simulator's functions for its whole process."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "feed_stages.py"


def test_the_feed_stages_benchmark_accounts_for_every_step_of_a_feed():
    done = subprocess.run([sys.executable, str(SCRIPT), "--feeds", "5", "--documents", "1"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = re.findall(r"^(\s+|\s+of which\s+)(-?[\d.]+)\s+(-?[\d.]+)%\s+(.+)$", done.stdout, re.M)
    steps = {label: float(share) for indent, _, share, label in rows if "of which" not in indent}
    for label in ("SOAP 1.2 and MTOM parse", "submission checks", "planning",
                  "rows and fragments prepared", "statements under the write lock",
                  "BEGIN IMMEDIATE and COMMIT (state file)", "answer rendered",
                  "recording (journal, metrics)"):
        assert steps.get(label, 0) > 0, (label, done.stdout)
    nested = [label for indent, _, _, label in rows if "of which" in indent]
    assert sorted(nested) == ["CDA checks", "lot signature checks"], done.stdout
    # Nested steps (inside the submission checks) are not counted twice in the whole.
    assert abs(sum(steps.values()) - 100) < 0.5, done.stdout
