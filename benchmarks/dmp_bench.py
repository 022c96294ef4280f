"""Throughput and latency of each DMP operation, next to INSi and the bare echo, one run.

    .venv/bin/python benchmarks/dmp_bench.py [--duration 10] [--connections 16] [--rounds 2]
        [--documents 10] [--targets td0.2,td0.3,td3.1,td3.2,td2.1,insi,echo]

Waits (up to ``--load-wait`` s) for the 1-minute load average to fall to ``--max-load``;
then, per round, one fresh server per target in the order of ``--targets``: the DMP
targets on ``insi-dmp-sim serve`` (2 workers) with the clock frozen at SIM_DATE (fixed
VIHF IssueInstants stay valid), INSi and the echo through insi_bench's own bench_target.
On a DMP server the state is made over HTTP with the load tests' request builders
(loadtests/dmp_soap.py, dmp_xds.py: TD0.2, TD1.1, TD0.3 for the EAI and a physician, N
TD2.1 feeds), and each measured request is sent once and read by the load tests' checks
(dmp_answers.py). Then a 2 s warm-up and ``wrk -t2 -cC -dDs --latency``, whose Lua script
counts non-200 answers and answers lacking an expected text. TD2.1 is not idempotent: its
script builds each body from a template whose uniqueIds and entry UUIDs end in a marker
replaced per request, and recomputes the SHA-1s (hash slots, lot signature digest) with
the libcrypto that wrk links. Results, wrk's raw output included, go to
benchmarks/results/dmp-<UTC timestamp>.json; benchmarks/README.md ("DMP") explains more.

Importing the load-test modules imports Locust: LOCUST_SKIP_MONKEY_PATCH keeps it from
monkey-patching this process. wrk is required and is not installed by this script.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS_DIR = HERE / "results"

os.environ.setdefault("LOCUST_SKIP_MONKEY_PATCH", "1")
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "loadtests"))
import dmp_answers  # noqa: E402  (loadtests/dmp_answers.py)
import dmp_soap  # noqa: E402
import dmp_xds  # noqa: E402
from dmp_load import PATIENTS, PlatformClock, Session, hospital_eai, physician  # noqa: E402

from benchmarks import insi_bench  # noqa: E402
from benchmarks.processes import (  # noqa: E402
    HEALTH_DEADLINE_S, HOST, BenchError, CpuSpan, Server, free_port, install_time_bound,
    stop_all, wait_healthy)
from benchmarks.report import machine_facts  # noqa: E402
from benchmarks.wrk import finish_wrk, start_wrk  # noqa: E402
from benchmarks.dmp_feeds import (  # noqa: E402
    SUCCESS, feed_template, measure_strict, write_target_script)
from benchmarks.dmp_report import derived, print_summary, summarize  # noqa: E402

SIM_DATE = "2024-03-01T10:00:00+01:00"
PATIENT_INS = "297022A02077878"           # ADRTROIS DOMINIQUE, the person INSi finds
WARMUP_S = insi_bench.WARMUP_S
DMP_TARGETS = ("td0.2", "td0.3", "td3.1", "td3.2", "td2.1")
# Variants of a DMP target (issue 15): ``td3.1@N`` with N documents in the DMP,
# ``td3.1-over`` over the result limit, ``td2.1xW`` on W workers, ``td2.1-strict`` with
# its signatures verified (pre-signed feeds sent by this script, not by wrk).
VARIANTS = ("td3.1@100", "td3.1@1000", "td3.1-over", "td2.1x1", "td2.1x4", "td2.1-strict")
ALL_TARGETS = DMP_TARGETS + VARIANTS + ("insi", "echo")
DEFAULT_TARGETS = ("td0.2", "td0.3", "td3.1", "td3.1@100", "td3.1@1000", "td3.1-over",
                   "td3.2", "td2.1x1", "td2.1", "td2.1x4", "td2.1-strict", "insi", "echo")
WORKERS = 2  # gunicorn workers of the DMP servers, unless a target says otherwise
OVER_DOCUMENTS = 1000  # documents of td3.1-over
OVER_LIMIT = 500  # its SIM_DMP_MAX_RESULTS (the default): every FindDocuments is too many
FIND_LIMIT = 5000  # SIM_DMP_MAX_RESULTS of the other targets: td3.1@1000 is answered
TOO_MANY = "XDSTooManyResults"
WRK_TIMEOUT = "10s"
SEQUENTIAL = 40  # TD3.1 requests timed one by one on an idle server, before wrk
POLL_LOAD_S = 30


# --- load of the shared machine ---------------------------------------------------------

def load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages (/proc/loadavg)."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def wait_for_quiet(max_load: float, max_wait: float) -> dict:
    """Poll the 1-minute load every 30 s while it is above ``max_load``, for at most
    ``max_wait`` s; the loads seen and the time waited."""
    started, seen = time.monotonic(), [load_average()]
    while seen[-1][0] > max_load and time.monotonic() - started + POLL_LOAD_S <= max_wait:
        print(f"load {seen[-1][0]:.2f} > {max_load}: waiting {POLL_LOAD_S} s ...", flush=True)
        time.sleep(POLL_LOAD_S)
        seen.append(load_average())
    return {"max_load": max_load, "polls": seen, "waited_s": round(time.monotonic() - started),
            "quiet": seen[-1][0] <= max_load, "at_start": seen[-1]}


# --- the DMP state, over HTTP ------------------------------------------------------------

def post(port: int, request: dmp_soap.DmpRequest) -> tuple[int, str, bytes]:
    """POST one load-test request to its DMP service; (status, Content-Type, body)."""
    url = f"http://{HOST}:{port}{dmp_soap.BASE_PATH}/{request.service}"
    http = urllib.request.Request(url, data=request.body, method="POST",
                                  headers={"Content-Type": request.content_type})
    try:
        with urllib.request.urlopen(http, timeout=30) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def checked(port: int, name: str, request: dmp_soap.DmpRequest, check):
    """Send ``request`` and read the answer with a loadtests/dmp_answers check; what the
    check extracted, or BenchError naming the refusal."""
    status, content_type, body = post(port, request)
    if status != 200:
        raise BenchError(f"{name}: {dmp_answers.fault_name(status, body)}")
    try:
        value, reason = check(*dmp_answers.unpack(content_type, body))
    except ValueError as error:
        value, reason = None, str(error)
    if reason:
        raise BenchError(f"{name}: {reason}")
    return value


def prepare(port: int, documents: int, over: bool = False) -> dict[str, dict]:
    """Create the patient's DMP, authorise the EAI and a physician, feed ``documents``
    (the last one is the TD2.1 template); check each measured request once;
    {target: request, expected texts}. ``over``: the server's result limit is below
    ``documents``, so the TD3.1 answer must be XDSTooManyResults (and TD3.2 is left out)."""
    host = f"http://{HOST}:{port}"
    clock = PlatformClock(host)             # the simulator's frozen clock (/_admin/clock)
    patient = next((p for p in PATIENTS if p.ins == PATIENT_INS), PATIENTS[0])
    eai = Session(host, hospital_eai(), clock, random.Random(1))
    doctor = Session(host, physician(random.Random(2)), clock, random.Random(2))
    if checked(port, "TD0.2", dmp_soap.existence_request(eai, patient),
               dmp_answers.expect_existence(patient))[0]:
        raise BenchError("TD0.2: a fresh simulator already has this patient's DMP")
    checked(port, "TD1.1", dmp_soap.create_request(eai, patient), dmp_answers.expect_created)
    for session in (eai, doctor):
        checked(port, "TD0.3", dmp_soap.authorise_request(session, patient),
                dmp_answers.expect_status_ok)
    for _ in range(documents - 1):
        checked(port, "TD2.1", dmp_xds.feed_request(eai, patient), dmp_answers.expect_registered)
    feed = feed_template(eai, patient)
    checked(port, "TD2.1 template", feed["request"], dmp_answers.expect_registered)
    find = dmp_xds.find_request(doctor, patient)
    if over:
        status, _, body = post(port, find)
        if status != 200 or TOO_MANY.encode() not in body:
            raise BenchError(f"TD3.1 over the limit: HTTP {status}, no {TOO_MANY}")
        return {"td3.1": {"request": find, "expect": [TOO_MANY]}, "td2.1": {**feed},
                "session": eai, "patient": patient}
    found = checked(port, "TD3.1", find, dmp_answers.expect_documents(patient))
    if len(found) != documents:
        raise BenchError(f"TD3.1 found {len(found)} documents, {documents} were fed")
    first = found[0].unique_id
    retrieve = dmp_xds.retrieve_request(doctor, patient, found[0])
    checked(port, "TD3.2", retrieve, dmp_answers.expect_document(found[0]))
    existence = dmp_soap.existence_request(doctor, patient)
    checked(port, "TD0.2", existence, dmp_answers.expect_existence(patient))
    authorise = dmp_soap.authorise_request(doctor, patient)
    checked(port, "TD0.3", authorise, dmp_answers.expect_status_ok)
    return {
        "td0.2": {"request": existence,
                  "expect": ['typeCode="AA"', 'queryResponseCode code="OK"']},
        "td0.3": {"request": authorise, "expect": [">DMPOK<"]},
        "td3.1": {"request": find,
                  "expect": [SUCCESS] + [f'value="{d.unique_id}"' for d in found]},
        "td3.2": {"request": retrieve, "expect": [SUCCESS, f">{first}</",
                                                  f'<id root="{first}"></id>',
                                                  "</ClinicalDocument>"]},
        "td2.1": {**feed, "expect": [SUCCESS]}, "session": eai, "patient": patient}


# --- the runs -----------------------------------------------------------------------------

def measure(server, port: int, path: str, scripts: tuple[Path, Path], args) -> dict:
    """Warm-up (discarded), then the measured wrk run with the server's CPU."""
    url = f"http://{HOST}:{port}{path}"
    # A 10 s timeout, not wrk's 2 s: a TD3.1 over 1,000 documents answers 6.6 MB.
    finish_wrk(start_wrk(url, scripts[0], WARMUP_S, args.connections, WRK_TIMEOUT), WARMUP_S)
    cpu = CpuSpan(server.proc.pid)
    result, raw = finish_wrk(start_wrk(url, scripts[1], args.duration, args.connections,
                                       WRK_TIMEOUT), args.duration)
    result.update(cpu.read())
    if result.get("requests"):
        result["server_cpu_us_per_req"] = round(
            result["server_cpu_s"] / result["requests"] * 1e6, 1)
    result["wrk_output"] = raw
    return result


def target_setup(kind: str, args) -> dict:
    """What a target name stands for: the operation, documents in the DMP, workers,
    result limit, whether signatures are verified."""
    operation = kind.split("@")[0].split("-")[0].split("x")[0]
    setup = {"operation": operation, "documents": args.documents, "workers": WORKERS,
             "max_results": FIND_LIMIT, "over": kind.endswith("-over"),
             "relaxed": args.relaxed and not kind.endswith("-strict")}
    if "@" in kind:
        setup["documents"] = int(kind.split("@")[1])
    if "x" in kind:
        setup["workers"] = int(kind.split("x")[1])
    if setup["over"]:
        setup.update(documents=OVER_DOCUMENTS, max_results=OVER_LIMIT)
    return setup


def start_dmp(workdir: Path, tag: str, setup: dict):
    """``insi-dmp-sim serve`` with the target's workers and settings, a fresh data dir."""
    port = free_port()
    exe = insi_bench.BIN / "insi-dmp-sim"
    argv = [str(exe) if exe.exists() else shutil.which("insi-dmp-sim") or "insi-dmp-sim",
            "serve", "--host", HOST, "--port", str(port),
            "--data-dir", str(workdir / f"data-{tag}")]
    env = dict(os.environ, SIM_WORKERS=str(setup["workers"]), SIM_LOG_LEVEL="warning",
               SIM_DATE=SIM_DATE, SIM_FROZEN="true",
               SIM_DMP_MAX_RESULTS=str(setup["max_results"]),
               SIM_DMP_RELAXED_SECURITY="true" if setup["relaxed"] else "false")
    return Server(f"simulator[{tag}]", argv, env, workdir / f"sim-{tag}.log", REPO), port


def sequential_ms(port: int, request: dmp_soap.DmpRequest, expect: str) -> dict:
    """Milliseconds of ``SEQUENTIAL`` requests sent one at a time on one keep-alive
    connection (an idle server: the latency a single client sees)."""
    times = []
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        for _ in range(SEQUENTIAL + 5):
            started = time.perf_counter()
            connection.request("POST", f"{dmp_soap.BASE_PATH}/{request.service}",
                               request.body, {"Content-Type": request.content_type})
            answer = connection.getresponse()
            body = answer.read()
            times.append((time.perf_counter() - started) * 1000)
            if answer.status != 200 or expect.encode() not in body:
                raise BenchError(f"sequential TD3.1: HTTP {answer.status}, no {expect!r}")
    finally:
        connection.close()
    times = sorted(times[5:])  # the first ones warm the connection and the caches
    return {"requests": len(times), "p50_ms": round(times[len(times) // 2], 2),
            "p90_ms": round(times[int(len(times) * 0.9)], 2), "max_ms": round(times[-1], 2)}


def bench_dmp(kind: str, round_no: int, workdir: Path, args) -> dict:
    """One fresh frozen-clock simulator: the state, its checks, one measured run (wrk,
    or this script's own client for td2.1-strict)."""
    tag = f"{kind}-{round_no}"
    setup = target_setup(kind, args)
    server, port = start_dmp(workdir, tag, setup)
    try:
        wait_healthy(server, port)
        state = prepare(port, setup["documents"], setup["over"])
        spec = state[setup["operation"]]
        extra = {}
        if setup["operation"] == "td3.1":
            extra["sequential"] = sequential_ms(port, spec["request"], spec["expect"][0])
        if kind == "td2.1-strict":
            result = measure_strict(server, port, state, args)
        else:
            scripts = (workdir / f"{tag}-warmup.lua", workdir / f"{tag}.lua")
            for phase, script in enumerate(scripts, start=1):
                write_target_script(script, setup["operation"], spec, phase)
            path = f"{dmp_soap.BASE_PATH}/{spec['request'].service}"
            result = measure(server, port, path, scripts, args)
        result.update(request_bytes=len(spec["request"].body), expected_texts=spec["expect"],
                      setup=setup, **extra)
        return result
    finally:
        server.stop()
        shutil.rmtree(workdir / f"data-{tag}", ignore_errors=True)


def bench(kind: str, round_no: int, workdir: Path, args) -> dict:
    """One run of ``kind``; INSi and the echo through insi_bench's own bench_target."""
    load = load_average()
    if kind not in ("insi", "echo"):
        result = bench_dmp(kind, round_no, workdir, args)
    else:
        result = insi_bench.bench_target(kind, round_no, workdir, args)
    result.update(target=kind, round=round_no, load_before=load)
    return result


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options, range-checked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over the targets")
    parser.add_argument("--documents", type=int, default=10, help="documents in the DMP")
    parser.add_argument("--targets", default=",".join(DEFAULT_TARGETS),
                        help="comma-separated, in the order of each round")
    parser.add_argument("--max-load", type=float, default=1.5,
                        help="wait while the 1-minute load average is above this")
    parser.add_argument("--load-wait", type=int, default=600, help="wait at most this (s)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    # wrk's Lua script rewrites every TD2.1 body (new uniqueIds, CDA digest in the manifest)
    # and cannot sign it again, so by default the simulator runs with its signature
    # checks relaxed (SIM_DMP_RELAXED_SECURITY: the manifest digests are still checked).
    parser.add_argument("--strict", action="store_true",
                        help="verify signatures (VIHF, lot SignedInfo): not for td2.1")
    args = parser.parse_args(argv)
    args.relaxed = not args.strict
    args.kinds = [k.strip() for k in args.targets.split(",") if k.strip()]
    if not 1 <= args.duration <= 300 or not 1 <= args.connections <= 1000 \
            or not 1 <= args.rounds <= 10 or not 1 <= args.documents <= 500 \
            or not 0 <= args.load_wait <= 3600:
        parser.error("duration 1..300, connections 1..1000, rounds 1..10, documents "
                     "1..500, load-wait 0..3600")
    unknown = set(args.kinds) - set(ALL_TARGETS)
    if unknown or not args.kinds or len(set(args.kinds)) != len(args.kinds):
        parser.error(f"--targets: distinct names among {', '.join(ALL_TARGETS)}")
    rewritten = [k for k in args.kinds if k.startswith("td2.1") and k != "td2.1-strict"]
    if args.strict and rewritten:
        parser.error(f"--strict: {', '.join(rewritten)}: wrk's rewritten bodies cannot be "
                     "signed again; leave them out (td2.1-strict is measured signed)")
    return args


def code_state() -> dict:
    """The commit measured and the files of the simulator modified in the work tree."""
    def git(*argv):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            return subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        return ""
    return {"commit": git("rev-parse", "HEAD"),
            "modified": git("status", "--porcelain", "--", "simulator").splitlines()}


def main(argv=None) -> int:
    """Wait for a quiet machine, run the rounds, write the JSON, print the tables."""
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("dmp_bench: wrk not found on PATH: install wrk (apt-get install wrk)",
              file=sys.stderr)
        return 2
    load = wait_for_quiet(args.max_load, args.load_wait)
    install_time_bound(args.rounds * sum(
        args.duration + WARMUP_S + HEALTH_DEADLINE_S + 60
        + (target_setup(k, args)["documents"] * 0.1 if k not in ("insi", "echo") else 0)
        for k in args.kinds))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    workdir = Path(tempfile.mkdtemp(prefix="dmp-bench-"))
    report: dict = {
        "started_utc": stamp, "machine": machine_facts(), "code": code_state(), "load": load,
        "config": {"duration_s": args.duration, "connections": args.connections,
                   "wrk_threads": 2, "warmup_s": WARMUP_S, "rounds": args.rounds,
                   "documents": args.documents, "sim_date": SIM_DATE, "sim_frozen": True,
                   "signatures_relaxed": args.relaxed,
                   "patient_ins": PATIENT_INS, "order": args.kinds * args.rounds,
                   "server": "gunicorn, 2 workers, gevent, keep-alive 75 s; fresh server "
                             "and data dir per run"}}
    runs = []
    try:
        for round_no in range(1, args.rounds + 1):
            for kind in args.kinds:
                print(f"running {kind} #{round_no}: {WARMUP_S} s warm-up + {args.duration} s "
                      f"wrk (load {load_average()[0]:.2f}) ...", flush=True)
                runs.append(bench(kind, round_no, workdir, args))
    except (BenchError, KeyboardInterrupt) as exc:
        print(f"dmp_bench: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        stop_all()
        shutil.rmtree(workdir, ignore_errors=True)

    load["at_end"] = load_average()
    noise_limit = 0.1 * (os.cpu_count() or 1) * args.duration
    operations = summarize(runs, args.kinds, args.rounds)
    setups = {k: target_setup(k, args) for k in args.kinds if k not in ("insi", "echo")}
    report.update(runs=runs, operations=operations, derived=derived(operations, setups),
                  noisy_runs=[f"{r['target']}#{r['round']}" for r in runs
                              if r.get("other_cpu_s", 0) > noise_limit])
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out_path = args.results_dir / f"dmp-{stamp}.json"
    out_path.write_text(json.dumps(report, indent=2) + "\n")
    print_summary(report)
    with contextlib.suppress(ValueError):
        out_path = out_path.resolve().relative_to(REPO)
    print(f"\nresults: {out_path}")
    return 0 if all(s["errors"] == 0 for s in report["operations"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
