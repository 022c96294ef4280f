"""Throughput, latency and start-up time of the simulator, against a bare spyne baseline.

    .venv/bin/python benchmarks/insi_bench.py [--duration 10] [--connections 16]

What it does, all on 127.0.0.1 and bounded in time:

1. time-to-healthy: spawns ``insi-dmp-sim serve`` (SIM_WORKERS=2, fresh data dir) three
   times and polls ``GET /_admin/health`` every 20 ms; reports spawn -> first 200;
2. throughput: alternates (A) the simulator's INSi traits search (``POST /lps``) and
   (B) a bare spyne SOAP 1.2 echo (benchmarks/echo_service.py) under the same server
   configuration (gunicorn, 2 gevent workers, keep-alive 75 s), A B A B; each run is a
   2 s warm-up then ``wrk -t2 -cN -dDs --latency`` with a Lua script that POSTs the body
   and counts non-200 answers and unexpected bodies;
3. prints a table, the INSi/echo throughput ratio and CPU-per-request ratio of each
   pair, their spread over the rounds (mean, min, max, stdev), and whether the targets
   hold, and writes everything (with the machine facts) to
   benchmarks/results/insi-<UTC timestamp>.json.

Server CPU seconds are read from /proc (or psutil when installed) over the server's
process tree. Every process started here is stopped by process group, even on error.
wrk is required and is not installed by this script.

The servers and CPU accounting are in benchmarks/processes.py, wrk and its Lua script in
benchmarks/wrk.py, the ratios, verdicts and printed table in benchmarks/report.py.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS_DIR = HERE / "results"
BIN = Path(sys.executable).parent

sys.path.insert(0, str(REPO))
from benchmarks.echo_service import ECHO_TEXT, REQUEST_BODY as ECHO_BODY  # noqa: E402
from benchmarks.processes import (  # noqa: E402
    HEALTH_DEADLINE_S, HOST, BenchError, CpuSpan, Server, free_port, install_time_bound,
    stop_all, wait_answering, wait_healthy)
from benchmarks.report import machine_facts, print_report, summarize  # noqa: E402
from benchmarks.wrk import run_wrk, write_script  # noqa: E402

INSI_BODY = (
    '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Header>'
    '<ctxbam:ContexteBAM xmlns:ctxbam="urn:siram:bam:ctxbam" Version="01_02">'
    '<ctxbam:Id>db0184e1-c933-462b-acbd-8f24a4f8a338</ctxbam:Id>'
    '<ctxbam:Temps>2022-03-01T10:29:58.604Z</ctxbam:Temps><ctxbam:COUVERTURE/>'
    '</ctxbam:ContexteBAM>'
    '<ctxlps:ContexteLPS xmlns:ctxlps="urn:siram:lps:ctxlps" Nature="CTXLPS" Version="01_00">'
    '<ctxlps:Id>596fa3a6</ctxlps:Id><ctxlps:Temps>2022-03-01T10:29:58.604Z</ctxlps:Temps>'
    '<ctxlps:LPS><ctxlps:IDAM R="4">PDP17NF21DD0</ctxlps:IDAM><ctxlps:Version>2022'
    '</ctxlps:Version><ctxlps:Nom>bench</ctxlps:Nom></ctxlps:LPS></ctxlps:ContexteLPS>'
    '<wsa:Action xmlns:wsa="http://www.w3.org/2005/08/addressing">'
    'urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite</wsa:Action>'
    '<wsa:MessageID xmlns:wsa="http://www.w3.org/2005/08/addressing">'
    'uuid:b3549edd-4ae9-472a-b26f-fd2fb4ef397f</wsa:MessageID></soap:Header>'
    '<soap:Body><r:RECSANSVITALE xmlns:r="http://www.cnamts.fr/INSiRecSans">'
    '<r:NomNaissance>ADRTROIS</r:NomNaissance><r:Prenom>DOMINIQUE</r:Prenom>'
    '<r:Sexe>F</r:Sexe><r:DateNaissance>1997-02-26</r:DateNaissance>'
    '</r:RECSANSVITALE></soap:Body></soap:Envelope>')
CONTENT_TYPE = "application/soap+xml; charset=utf-8"
# "<CodeCR>00</CodeCR>" in the current generation, "<ns2:CodeCR>00</ns2:CodeCR>" before
# 2022-10-25: the check accepts both.
INSI_EXPECT = "CodeCR>00</"
ECHO_EXPECT = f">{ECHO_TEXT}<"
WARMUP_S = 2


def start_simulator(workdir: Path, tag: str,
                    scenario: Path | None = None) -> tuple[Server, int]:
    """``insi-dmp-sim serve [--scenario PATH]`` with 2 workers and a fresh data dir, on a
    free port."""
    port = free_port()
    exe = BIN / "insi-dmp-sim"
    argv = [str(exe) if exe.exists() else shutil.which("insi-dmp-sim") or "insi-dmp-sim",
            "serve", "--host", HOST, "--port", str(port),
            "--data-dir", str(workdir / f"data-{tag}")]
    if scenario is not None:
        argv += ["--scenario", str(scenario)]
    env = dict(os.environ, SIM_WORKERS="2", SIM_LOG_LEVEL="warning")
    return Server(f"simulator[{tag}]", argv, env, workdir / f"sim-{tag}.log", REPO), port


def start_echo(workdir: Path, tag: str) -> tuple[Server, int]:
    """The bare echo under the simulator's own server configuration, on a free port."""
    port = free_port()
    python = BIN / "python"
    argv = [str(python) if python.exists() else sys.executable, "-m",
            "benchmarks.serve_echo", str(port)]
    env = dict(os.environ, PYTHONPATH=str(REPO), SIM_HOST=HOST, SIM_WORKERS="2",
               SIM_LOG_LEVEL="warning")
    return Server(f"echo[{tag}]", argv, env, workdir / f"echo-{tag}.log", REPO), port


# A: the simulator's INSi traits search; B: the bare echo.
TARGETS = {
    "insi": {"start": start_simulator, "path": "/lps", "body": INSI_BODY,
             "expect": INSI_EXPECT},
    "echo": {"start": start_echo, "path": "/", "body": ECHO_BODY, "expect": ECHO_EXPECT},
}


def time_to_healthy(workdir: Path, times: int = 3) -> list[float]:
    """Seconds from spawn to healthy of ``times`` fresh simulators, printed as they come."""
    healthy = []
    for i in range(times):
        server, port = start_simulator(workdir, f"health{i}")
        try:
            healthy.append(round(wait_healthy(server, port), 3))
        finally:
            server.stop()
        print(f"time-to-healthy #{i + 1}: {healthy[-1]:.3f} s", flush=True)
    return healthy


def bench_target(kind: str, round_no: int, workdir: Path, args) -> dict:
    """Start one server, warm it up, measure one wrk run with the server's CPU, stop it."""
    spec = TARGETS[kind]
    tag = f"{kind}{round_no}"
    script = workdir / f"{kind}.lua"
    if not script.exists():
        write_script(script, spec["body"], CONTENT_TYPE, spec["expect"])
    server, port = spec["start"](workdir, tag)
    try:
        wait_answering(server, port, spec["path"], spec["body"].encode(), CONTENT_TYPE,
                       spec["expect"])
        url = f"http://{HOST}:{port}{spec['path']}"
        run_wrk(url, script, WARMUP_S, args.connections)  # warm-up, discarded
        cpu = CpuSpan(server.proc.pid)
        result, raw = run_wrk(url, script, args.duration, args.connections)
        result.update(cpu.read())  # "other_cpu_s": other load on the machine (noise)
        if result.get("requests"):
            result["server_cpu_us_per_req"] = round(
                result["server_cpu_s"] / result["requests"] * 1e6, 1)
        result.update(target=kind, round=round_no, wrk_output=raw)
        return result
    finally:
        server.stop()


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options, range-checked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=3, help="A B pairs (default 3)")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 300 or not 1 <= args.connections <= 1000 \
            or not 1 <= args.rounds <= 10:
        parser.error("duration 1..300, connections 1..1000, rounds 1..10")
    return args


def main(argv=None) -> int:
    """Run the measurements, write the JSON results, print the report; the exit status."""
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("insi_bench: wrk not found on PATH: install wrk (apt-get install wrk)",
              file=sys.stderr)
        return 2

    # SIGTERM, SIGHUP and the time budget raise BenchError, unwinding through the finally.
    install_time_bound(3 * (HEALTH_DEADLINE_S + 10)
                       + 2 * args.rounds * (args.duration + WARMUP_S + 60))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    workdir = Path(tempfile.mkdtemp(prefix="insi-bench-"))
    report: dict = {"started_utc": stamp, "machine": machine_facts(),
                    "config": {"duration_s": args.duration, "connections": args.connections,
                               "wrk_threads": 2, "warmup_s": WARMUP_S,
                               "server": "gunicorn, 2 workers, gevent, keep-alive 75 s",
                               "order": ("insi echo " * args.rounds).split()}}
    try:
        healthy = time_to_healthy(workdir)
        report["time_to_healthy_s"] = {"runs": healthy, "max": max(healthy)}
        runs = []
        for round_no in range(1, args.rounds + 1):
            for kind in ("insi", "echo"):
                print(f"running {kind} #{round_no}: {WARMUP_S} s warm-up + "
                      f"{args.duration} s wrk ...", flush=True)
                runs.append(bench_target(kind, round_no, workdir, args))
    except (BenchError, KeyboardInterrupt) as exc:
        print(f"insi_bench: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        stop_all()
        shutil.rmtree(workdir, ignore_errors=True)

    report.update(summarize(runs, args.rounds, args.duration, max(healthy)))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out_path = RESULTS_DIR / f"insi-{stamp}.json"
    out_path.write_text(json.dumps(report, indent=2) + "\n")
    print_report(report, HOST, str(out_path.relative_to(REPO)))
    return 1 if args.strict and not all(report["targets"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
