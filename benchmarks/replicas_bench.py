"""INSi traits-search throughput of one simulator on SQLite, one on PostgreSQL, and two
replicas on the same PostgreSQL database, in the same run.

    python -m benchmarks.replicas_bench [--database-url URL] [--duration 10] [--rounds 2]

Each round runs the three set-ups in turn (interleaved: a busy spell of the machine
hits every set-up alike): ``insi-dmp-sim serve`` with 2 workers per replica, warmed up,
then measured by wrk with the INSi benchmark's request (benchmarks/insi_bench.py). Two
replicas are loaded by two wrk processes at once, one per replica, the connections
split between them (no load balancer in between); their requests/s are summed.
Without ``--database-url``, a throwaway PostgreSQL server is started as the tests
start theirs (tests/postgres_server.py). Prints each run with the machine's load
average, then the medians and their ratios; docs/storage.md and benchmarks/README.md
quote a run.
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
from benchmarks.report import errors_of, machine_facts
from benchmarks.wrk import finish_wrk, start_wrk, write_script

WARMUP_S = 2
SETUPS = {"sqlite-1": (False, 1), "postgresql-1": (True, 1), "postgresql-2": (True, 2)}


def load_wrk(ports: list[int], script: Path, duration: int, connections: int) -> dict:
    """One wrk per port at once, ``connections`` split between them: summed
    requests/s and errors."""
    procs = [start_wrk(f"http://127.0.0.1:{port}/lps", script, duration,
                       max(1, connections // len(ports))) for port in ports]
    results = [finish_wrk(proc, duration)[0] for proc in procs]
    return {"requests_per_s": sum(r["requests_per_s"] for r in results),
            "errors": sum(errors_of(r) for r in results),
            "p50_ms": [r.get("p50_ms") for r in results]}


def measure(workdir: Path, tag: str, database_url: str | None, replicas: int,
            duration: int, connections: int) -> dict:
    """``replicas`` servers on one backend: warm-up, then one measured load."""
    servers, ports = [], []
    try:
        for index in range(replicas):
            os.environ["SIM_REPLICA_ID"] = f"{tag}-{index}"
            if database_url:
                os.environ["SIM_DATABASE_URL"] = database_url
            else:
                os.environ.pop("SIM_DATABASE_URL", None)
            server, port = start_simulator(workdir, f"{tag}-{index}")
            servers.append(server)
            ports.append(port)
        for server, port in zip(servers, ports):
            wait_answering(server, port, "/lps", INSI_BODY.encode(), CONTENT_TYPE,
                           INSI_EXPECT)
        script = workdir / "insi.lua"
        if not script.exists():
            write_script(script, INSI_BODY, CONTENT_TYPE, INSI_EXPECT)
        load_wrk(ports, script, WARMUP_S, connections)
        before = os.getloadavg()[0]
        result = load_wrk(ports, script, duration, connections)
        result["load"] = (before, os.getloadavg()[0])
        return result
    finally:
        for server in servers:
            server.stop()
        os.environ.pop("SIM_REPLICA_ID", None)
        os.environ.pop("SIM_DATABASE_URL", None)


def main(argv=None) -> int:
    """Run the rounds; print each run, the medians and their ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a throwaway PostgreSQL database to use; "
                        "default: start a server")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16,
                        help="wrk connections in all (split between replicas)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the 3 set-ups")
    args = parser.parse_args(argv)
    facts = machine_facts()
    print(f"{facts['nproc']} CPUs ({facts['cpu_model']}), Python {facts['python']}, "
          f"{facts['wrk']}; load average at start {os.getloadavg()[0]:.2f}", flush=True)
    rates: dict[str, list[float]] = {name: [] for name in SETUPS}
    with benchmark_database(args.database_url) as url:
        with tempfile.TemporaryDirectory(prefix="replicas-bench-") as work:
            for round_no in range(args.rounds):
                for name, (on_postgres, replicas) in SETUPS.items():
                    result = measure(Path(work), f"{name}-r{round_no}",
                                     url if on_postgres else None, replicas,
                                     args.duration, args.connections)
                    rates[name].append(result["requests_per_s"])
                    print(f"round {round_no + 1} {name}: {result['requests_per_s']:.0f} "
                          f"req/s, p50 {result['p50_ms']} ms, errors {result['errors']}, "
                          f"load average {result['load'][0]:.2f} -> {result['load'][1]:.2f}",
                          flush=True)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, value in medians.items():
        print(f"{name}: median {value:.0f} req/s over {len(rates[name])} runs")
    base = medians["sqlite-1"]
    print(f"ratios to sqlite-1: postgresql-1 {medians['postgresql-1'] / base:.2f}, "
          f"postgresql-2 {medians['postgresql-2'] / base:.2f}; postgresql-2 / "
          f"postgresql-1 {medians['postgresql-2'] / medians['postgresql-1']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
