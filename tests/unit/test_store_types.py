"""mypy on the ports and the backends: every backend satisfies the ports
(tests/typecheck/store_conformance.py). Skips when mypy is not installed."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ["simulator/ports", "simulator/store/sqlite.py", "simulator/store/postgres.py",
           "simulator/store/pg_pool.py", "simulator/store/pg_dmp.py",
           "simulator/store/pg_timeline.py", "simulator/store/pg_state.py",
           "simulator/store/pg_tenants.py", "simulator/tenants/directory.py",
           "simulator/store/backends.py", "tests/typecheck/store_conformance.py"]


def test_the_backends_satisfy_the_ports():
    pytest.importorskip("mypy", reason="mypy is not installed (pip install -e '.[test]')")
    ran = subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent",
                          "--ignore-missing-imports", "--no-error-summary", *CHECKED],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stdout + ran.stderr
