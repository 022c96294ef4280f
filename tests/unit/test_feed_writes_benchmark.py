"""A smoke run of benchmarks/feed_writes.py (the evidence for where a feed's write lock
goes), in a child process: it replaces ``sqlite3.connect`` for its whole process."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "feed_writes.py"


def test_the_feed_writes_benchmark_names_the_commit_and_the_pages_written():
    done = subprocess.run([sys.executable, str(SCRIPT), "--feeds", "5", "--documents", "1"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.search(r"^\s+[\d.]+\s+[\d.]+%\s+x[\d.]+\s+COMMIT$", done.stdout, re.M), done.stdout
    frames = re.search(r"WAL frames a feed adds to simulator\.sqlite3: ([\d.]+) of 4,096",
                       done.stdout)
    assert frames and float(frames[1]) > 7, done.stdout  # at least the CDA's overflow pages
    assert "xds_documents (overflow)" in done.stdout
