"""Injected latency does not hold workers: a 2 s delay under C concurrent connections.

    .venv/bin/python benchmarks/chaos_bench.py [--connections 400] [--strict]

What it does, all on 127.0.0.1 and bounded in time:

1. writes a one-rule scenario to a temp dir (a fixed 2 s latency on requests whose
   patient birth name is SLOW) and starts ``insi-dmp-sim serve --scenario PATH``
   (SIM_WORKERS=2: gunicorn, 2 gevent workers of 1000 connections each);
2. checks the requests: the INSi traits search for ADRTROIS DOMINIQUE answers CR 00 at
   once, the same search for SLOW answers 200 with CR 01 (not in the registry) after
   about 2 s, and for NODELAY (not in the registry either, no rule) CR 01 at once;
3. baseline: 2 s warm-up, then ``wrk -t2 -c4 -d8s`` on the normal search alone;
4. load: ``wrk -t2 -cC -d20s --timeout 10s`` on the SLOW search and, for the middle 8 s
   of it, the same 4-connection wrk on the normal search;
5. control: the same, with the SLOW load replaced by NODELAY searches at about the same
   rate (C/10 connections, each pausing 0 to 400 ms at random before every request): the
   same extra work for the server, without any injected delay;
6. prints a table: the slow load's throughput against the ideal C / 2 s, its latency
   (~2.0 s), the normal search's p50/p99 under the load against the baseline and the
   control, errors; writes everything (machine facts, scenario, wrk's raw output) to
   benchmarks/results/chaos-<UTC timestamp>.json.

The slow load's first request on each connection is delayed at random by 0 to 2 s (wrk's
Lua ``delay``; wrk times a request from when it is sent), so that the C connections do
not send their requests in synchronized waves of C every 2 s: such a wave is C requests
to parse at the same instant, and the normal search would measure that burst of CPU, not
whether the delayed requests hold a worker.

Throughput of the slow load: wrk's own req/s counts the first seconds, before the first
answers come back, and misses the C requests in flight when it stops, so it stays below
C / 2 s whatever the server does. The throughput compared with the ideal is the number
of responses received from 5 s (every connection has had its first answer) to 19.5 s,
counted by the Lua script, divided by those 14.5 s. wrk's own figure is reported too.

The soft limit on open files is raised (resource.setrlimit) when it is too low for C
connections. Every process started here is stopped by process group, even on error.
wrk is required and is not installed by this script.

The scenario, the searches, the Lua scripts and the phases are in benchmarks/chaos_load.py,
the ratios, verdicts and printed table in benchmarks/chaos_report.py; they reuse
benchmarks/processes.py, wrk.py and report.py.
"""
from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS_DIR = HERE / "results"

sys.path.insert(0, str(REPO))
from benchmarks.chaos_load import (  # noqa: E402
    CONTROL_NAME, CONTROL_PAUSE_S, DELAY_S, NORMAL_CONNECTIONS, PATH, SCENARIO_YAML,
    SLOW_NAME, WARMUP_S, WRK_TIMEOUT, baseline_phase, check_answers, control_connections,
    count_window, loaded_phase, raise_fd_limit, write_scripts)
from benchmarks.chaos_report import print_report, summarize  # noqa: E402
from benchmarks.insi_bench import start_simulator  # noqa: E402
from benchmarks.processes import (  # noqa: E402
    HEALTH_DEADLINE_S, HOST, BenchError, install_time_bound, stop_all, wait_healthy)
from benchmarks.report import machine_facts  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options, range-checked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=400,
                        help="wrk connections of the slow load (default 400)")
    parser.add_argument("--slow-duration", type=int, default=20,
                        help="seconds of slow (and control) load (default 20)")
    parser.add_argument("--normal-duration", type=int, default=8,
                        help="seconds of the normal search, alone and under load (default 8)")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if not 2 <= args.connections <= 1900:
        parser.error("connections 2..1900 (wrk's 2 threads; 2 workers x 1000, minus a "
                     "margin)")
    if not 10 <= args.slow_duration <= 120 \
            or not 1 <= args.normal_duration <= args.slow_duration - 2 * DELAY_S:
        parser.error(f"slow-duration 10..120, normal-duration 1..slow-duration - "
                     f"{2 * DELAY_S:g}")
    return args


def main(argv=None) -> int:
    """Run the measurements, write the JSON results, print the report; the exit status."""
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("chaos_bench: wrk not found on PATH: install wrk (apt-get install wrk)",
              file=sys.stderr)
        return 2
    # SIGTERM, SIGHUP and the time budget raise BenchError, unwinding through the finally.
    install_time_bound(HEALTH_DEADLINE_S + 30 + WARMUP_S + args.normal_duration
                       + 2 * (args.slow_duration + 60) + 30)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    workdir = Path(tempfile.mkdtemp(prefix="chaos-bench-"))
    report: dict = {"started_utc": stamp, "machine": machine_facts()}
    try:
        fd_limit = raise_fd_limit(args.connections)
        report["config"] = {
            "connections": args.connections, "slow_s": args.slow_duration,
            "normal_connections": NORMAL_CONNECTIONS, "normal_s": args.normal_duration,
            "normal_offset_s": (args.slow_duration - args.normal_duration) / 2,
            "warmup_s": WARMUP_S, "delay_s": DELAY_S, "wrk_threads": 2,
            "wrk_timeout": WRK_TIMEOUT, "open_files_limit": fd_limit,
            "slow_first_request_stagger_s": DELAY_S,
            "slow_count_window_s": list(count_window(args.slow_duration)),
            "control_connections": control_connections(args.connections),
            "control_pause_s": CONTROL_PAUSE_S,
            "server": "gunicorn, 2 workers, gevent, worker_connections 1000, keep-alive 75 s",
            "scenario_yaml": SCENARIO_YAML}
        scenario = workdir / "slow-birth-name.yaml"
        scenario.write_text(SCENARIO_YAML)
        slow_lua, control_lua, normal_lua = write_scripts(workdir, args.slow_duration)

        server, port = start_simulator(workdir, "chaos", scenario)
        report["time_to_healthy_s"] = round(wait_healthy(server, port), 3)
        report["answers"] = check_answers(server, port)
        url = f"http://{HOST}:{port}{PATH}"
        print(f"baseline: {WARMUP_S} s warm-up + {args.normal_duration} s wrk "
              f"-c{NORMAL_CONNECTIONS} on the normal search ...", flush=True)
        report["baseline"] = baseline_phase(url, normal_lua, server, args.normal_duration)
        for key, lua, conns, label in (
                ("load", slow_lua, args.connections, "slow"),
                ("control", control_lua, control_connections(args.connections), "control")):
            print(f"{key}: {args.slow_duration} s wrk -c{conns} on the "
                  f"{SLOW_NAME if label == 'slow' else CONTROL_NAME} search, "
                  f"{args.normal_duration} s wrk -c{NORMAL_CONNECTIONS} on the normal search "
                  "in its middle ...", flush=True)
            report[key] = loaded_phase(url, (lua, conns, label), normal_lua, server, args)
    except (BenchError, KeyboardInterrupt, OSError) as exc:
        print(f"chaos_bench: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        stop_all()
        shutil.rmtree(workdir, ignore_errors=True)

    report["summary"] = summarize(report, args.connections)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out_path = RESULTS_DIR / f"chaos-{stamp}.json"
    out_path.write_text(json.dumps(report, indent=2) + "\n")
    print_report(report, str(out_path.relative_to(REPO)))
    return 1 if args.strict and not all(report["summary"]["targets"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
