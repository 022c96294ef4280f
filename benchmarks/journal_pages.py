"""CPU per journalled exchange on diagnostics files of different page sizes, one run.

    .venv/bin/python benchmarks/journal_pages.py [--sizes 4096,16384,65536] [--rounds 3]
        [--batches 50] [--request-bytes 5120] [--response-bytes 16384]

Each round makes, for each page size in turn, a fresh data directory whose diagnostics
file has that page size, then writes journal batches through the simulator's own
``SQLiteStore.append_journal`` (64 entries a batch, as the workers do, trimmed to the
default 1,000 entries kept) after as many batches of warm-up: the figure is the
thread's CPU time (user and system: the WAL's write calls are most of it) per entry.
The bodies are random bytes of the sizes given (a TD3.2 exchange: a 5 KB request, an
answer cut to the journal's 16 KiB). Prints one JSON object: per size, the entries'
µs in each round and their median, and each median over the first size's.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from simulator.ports.diagnostics import JOURNAL_COLUMNS  # noqa: E402
from simulator.store.sqlite import DIAGNOSTICS_FILE, DIAGNOSTICS_VERSION, SQLiteStore  # noqa: E402

BATCH = 64  # entries per batch (journal.py's default)
KEEP = 1000  # entries kept (SIM_JOURNAL_SIZE's default)


def entries(start: int, request: bytes, response: bytes) -> list[dict]:
    """One batch of journal entries with these bodies."""
    batch = []
    for number in range(start, start + BATCH):
        entry = dict.fromkeys(JOURNAL_COLUMNS)
        entry.update(request_id=f"r{number}", at="2024-03-01T09:00:00.000+00:00",
                     real_at="2026-12-06T20:00:00.000000+00:00", service="dmp",
                     operation="RetrieveDocumentSetRequest", http_method="POST",
                     path="/dmp/v2/repository", status=200, outcome="Success",
                     duration_ms=1.0, request_body=request, response_body=response)
        batch.append(entry)
    return batch


def cpu_per_entry(page_size: int, args, request: bytes, response: bytes) -> float:
    """µs of this thread's CPU per entry written, on a fresh file of ``page_size``."""
    data_dir = Path(tempfile.mkdtemp(prefix="journal-pages-"))
    try:
        # The file made beforehand with the page size and the current schema version,
        # which SQLiteStore then keeps (a page size is fixed when a file is made).
        with sqlite3.connect(data_dir / DIAGNOSTICS_FILE) as conn:
            conn.execute(f"PRAGMA page_size = {page_size}")
            conn.execute(f"PRAGMA user_version = {DIAGNOSTICS_VERSION}")
            conn.execute("VACUUM")
        store = SQLiteStore(data_dir)
        actual = store.diagnostics.execute("PRAGMA page_size")[0][0]
        if actual != page_size:
            raise SystemExit(f"journal_pages: the file has {actual}-byte pages, not {page_size}")
        number = 0
        for _ in range(args.batches):  # warm-up: the journal full, trimming as it goes
            store.append_journal(entries(number, request, response), KEEP)
            number += BATCH
        started = time.thread_time()
        for _ in range(args.batches):
            store.append_journal(entries(number, request, response), KEEP)
            number += BATCH
        spent = time.thread_time() - started
        store.close()
        return spent / (args.batches * BATCH) * 1e6
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="4096,16384,65536")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--request-bytes", type=int, default=5120)
    parser.add_argument("--response-bytes", type=int, default=16384)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    request, response = os.urandom(args.request_bytes), os.urandom(args.response_bytes)
    runs: dict[int, list[float]] = {size: [] for size in sizes}
    for _ in range(args.rounds):
        for size in sizes:
            runs[size].append(round(cpu_per_entry(size, args, request, response), 1))
    medians = {size: statistics.median(values) for size, values in runs.items()}
    print(json.dumps({
        "cpu_us_per_entry": {str(size): values for size, values in runs.items()},
        "median_us": {str(size): round(value, 1) for size, value in medians.items()},
        "x_first_size": {str(size): round(value / medians[sizes[0]], 2)
                         for size, value in medians.items()},
        "sqlite": sqlite3.sqlite_version, "request_bytes": args.request_bytes,
        "response_bytes": args.response_bytes, "batches": args.batches}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
