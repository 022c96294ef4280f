"""Soak test: a realistic mix of INSi and DMP v2 clients held for minutes against the real
server with a fault scenario active; no error beyond the injected ones, flat memory,
no acknowledged feed lost.

    .venv/bin/python benchmarks/soak.py [--minutes 5] [--users 12] [--scenario NAME|PATH]

Starts ``insi-dmp-sim serve`` (2 gunicorn workers, fresh data dir, --date, a scenario:
by default SOAK_SCENARIO below), runs the Locust users of loadtests/ headless for the
given time, and every ``--sample-every`` seconds reads the VmRSS of the master and each
worker (/proc/<pid>/status), /metrics and the new journal entries. At the end it
compares Locust's failures with the faults /metrics says were injected, checks every
error answer of the journal against its rule, reads the DMP store (admin API, then the
SQLite file read-only once the server stopped), prints a report and writes
benchmarks/results/soak-<UTC>.json (see README.md, "Soak"). Exit status 0 when every
check passes, 1 when one fails, 2 when the run could not be made.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
from benchmarks import soak_checks as checks  # noqa: E402
from benchmarks.processes import (  # noqa: E402
    HOST, BenchError, Server, free_port, http_request, install_time_bound, process_tree,
    stop_all, wait_healthy)
from benchmarks.report import machine_facts  # noqa: E402
from benchmarks.soak_report import print_report  # noqa: E402
from simulator.store.sqlite import STATE_FILE  # noqa: E402

BIN = Path(sys.executable).parent
LOCUSTFILE = REPO / "loadtests" / "locustfile.py"
USERS = ("InsiDeskUser", "InsiVitaleUser", "DmpFeedUser", "DmpConsultUser")
WORKERS = 2
STOP_TIMEOUT_S = 30  # Locust lets every user finish its sequence (spikes are capped at 5 s)
JOURNAL_LIMIT = 1000  # entries read per poll (the default SIM_JOURNAL_SIZE)
SETTLE_S = 1.0  # journal and metric batches are flushed every 0.2 s
# A few faults of every kind the scenario engine has, over INSi and the DMP; rules are
# tried in order, so about 2.5 % of the INSi searches and 4 % of the DMP calls (6 % of
# the feeds) are altered, and one request in fifty waits a latency spike.
SOAK_SCENARIO = """\
name: soak-mixed-faults
description: A few faults of every kind on INSi and the DMP; most requests untouched
seed: 20240301
rules:
  - name: insi-technical-error
    match: {service: insi}
    probability: 0.01
    action: {fault: insi_102}
  - name: dmp-front-end-503
    match: {service: dmp}
    probability: 0.005
    action: {http_status: 503}
  - name: dmp-technical-error
    match: {service: dmp}
    probability: 0.005
    action: {fault: technical_error}
  - name: feed-answer-lost
    match: {service: dmp, operation: ProvideAndRegisterDocumentSet-b}
    probability: 0.02
    action: reset
  - name: connection-reset
    probability: 0.005
    action: reset
  - name: empty-answer
    probability: 0.003
    action: empty
  - name: cut-answer
    probability: 0.003
    action: {truncate: 0.5}
  - name: garbage
    probability: 0.002
    action: garble
  - name: latency-spike
    probability: 0.02
    latency: {lognormal: {median: 500ms, sigma: 0.6}, cap: 5s}
"""


def clean_env(**extra: str) -> dict:
    """This environment without the simulator's and the load test's settings, plus
    ``extra``: nothing from the caller's shell changes the run."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SIM_", "LOCUST_", "INSI_", "DMP_", "LOADTEST_"))}
    env.update(extra)
    return env


def exe(name: str) -> str:
    """A console script of this venv, else from PATH."""
    path = BIN / name
    return str(path) if path.exists() else shutil.which(name) or name


def admin_json(port: int, path: str):
    """GET a control-plane path (loopback: no token) as JSON."""
    status, body = http_request(port, "GET", path, timeout=10.0)
    if status != 200:
        raise BenchError(f"GET {path}: HTTP {status}: {body[:200]!r}")
    return json.loads(body)


def rss_of(pid: int) -> dict | None:
    """VmRSS and RssAnon of a process in kB (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return None
    kb = {k: int(fields[k].split()[0]) for k in ("VmRSS", "RssAnon") if k in fields}
    return {"pid": pid, "rss_kb": kb.get("VmRSS", 0), "anon_kb": kb.get("RssAnon", 0)}


def server_processes(master: int) -> dict:
    """RSS of the gunicorn master and of each worker (its children), by role."""
    found = {"master": rss_of(master)}
    for pid in sorted(process_tree(master)):
        if pid != master:
            found[f"worker {pid}"] = rss_of(pid)
    return {role: rss for role, rss in found.items() if rss is not None}


class Sampler:
    """Reads the server every few seconds: memory, /metrics totals, new journal entries."""

    def __init__(self, port: int, master: int, started: float, data_dir: Path):
        self.port, self.master, self.started = port, master, started
        self.state_file = data_dir / STATE_FILE
        self.samples: list[dict] = []
        self.journal: dict[int, dict] = {}

    def sample(self, label: str = "") -> dict:
        """One sample (also kept in ``samples``)."""
        now = time.monotonic()
        metrics = checks.parse_metrics(
            http_request(self.port, "GET", "/metrics", timeout=10.0)[1].decode())
        injected = checks.metric_counts(metrics, "insi_dmp_sim_chaos_injections_total",
                                        "action")
        self.poll_journal()
        with open("/proc/loadavg") as f:
            load = [float(x) for x in f.read().split()[:3]]
        sample = {"t": round(now - self.started, 2), "label": label, "loadavg": load,
                  "processes": server_processes(self.master),
                  "requests": sum(checks.metric_counts(
                      metrics, "insi_dmp_sim_requests_total").values()),
                  "injected": sum(n for (a,), n in injected.items() if a != "latency"),
                  "journal_seen": len(self.journal), "documents": self.documents()}
        self.samples.append(sample)
        return sample

    def documents(self) -> int | None:
        """Document entries in the registry, read from the state file by this process
        (read-only; asking the server would make its workers load every entry)."""
        try:
            with sqlite3.connect(f"file:{self.state_file}?mode=ro", uri=True,
                                 timeout=5) as db:
                return db.execute("SELECT COUNT(*) FROM xds_objects "
                                  "WHERE kind = 'document'").fetchone()[0]
        except sqlite3.Error:
            return None

    def poll_journal(self) -> None:
        """Keep every journal entry not seen yet (id, operation, status, outcome, rule)."""
        answer = admin_json(self.port, f"/_admin/journal?limit={JOURNAL_LIMIT}&bodies=0")
        for e in answer["entries"]:
            self.journal.setdefault(e["id"], {k: e.get(k) for k in (
                "id", "request_id", "at", "service", "operation", "status", "outcome",
                "chaos", "duration_ms")})


def print_sample(s: dict) -> None:
    """One progress line."""
    rss = " / ".join(f"{p['rss_kb'] / 1024:.1f}" for p in s["processes"].values())
    print(f"  t={s['t']:6.0f} s  requests {s['requests']:6d}  injected {s['injected']:4d}  "
          f"documents {s['documents']}  load {s['loadavg'][0]:.2f}  RSS MB {rss}", flush=True)


def wait_workers(server: Server, count: int, deadline_s: float = 20.0) -> None:
    """Wait until the master has ``count`` workers (/health answers from the first)."""
    limit = time.monotonic() + deadline_s
    while len(process_tree(server.proc.pid)) < count + 1:
        if server.proc.poll() is not None or time.monotonic() > limit:
            raise BenchError(f"the server did not start {count} workers:\n{server.tail()}")
        time.sleep(0.05)


def dmp_documents(port: int) -> tuple[int, dict]:
    """Documents per patient from GET /_admin/dmp/patients/<ins>, and their sum."""
    per_patient = {}
    for patient in admin_json(port, "/_admin/dmp/patients")["patients"]:
        per_patient[patient["ins"]] = admin_json(
            port, f"/_admin/dmp/patients/{patient['ins']}")["documents"]
    return sum(per_patient.values()), per_patient


def read_registry(data_dir: Path) -> dict:
    """Counts of the state file, opened read-only (zeros when there is none yet)."""
    path = data_dir / STATE_FILE
    if not path.exists():
        return {"submission_sets": 0, "documents": 0, "documents_without_bytes": 0,
                "patients": 0, "integrity": "ok"}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        kinds = dict(db.execute("SELECT kind, COUNT(*) FROM xds_objects GROUP BY kind"))
        without = db.execute(
            "SELECT COUNT(*) FROM xds_objects o WHERE kind = 'document' AND NOT EXISTS "
            "(SELECT 1 FROM xds_documents d WHERE d.unique_id = o.unique_id)").fetchone()[0]
        patients = db.execute("SELECT COUNT(DISTINCT ins) FROM xds_objects").fetchone()[0]
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    return {"submission_sets": kinds.get("submission-set", 0),
            "documents": kinds.get("document", 0), "documents_without_bytes": without,
            "patients": patients, "integrity": integrity}


def registry_change(before: dict, after: dict) -> dict:
    """What the run added to the registry, with the state after it."""
    return {**after, "submission_sets": after["submission_sets"] - before["submission_sets"],
            "documents": after["documents"] - before["documents"],
            "documents_total": after["documents"], "before": before}


LOG_ALARMS = (" ERROR ", "[ERROR]", "CRITICAL", "Traceback", "WORKER TIMEOUT",
              "exited with code")


def log_errors(path: Path) -> tuple[list[str], list[str]]:
    """Lines of the server log reporting an error, a traceback or a worker lost: before
    the server was told to stop, and after (teardown noise, reported apart)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return [], []
    stop = next((i for i, line in enumerate(lines) if "Handling signal: term" in line),
                len(lines))
    alarms = [i for i, line in enumerate(lines) if any(a in line for a in LOG_ALARMS)]
    return [lines[i] for i in alarms if i < stop], [lines[i] for i in alarms if i >= stop]


def scenario_text(scenario: str) -> str | None:
    """The YAML of a scenario file or of a shipped scenario (scenarios/<name>.yaml)."""
    for path in (Path(scenario), REPO / "scenarios" / f"{scenario}.yaml"):
        if path.is_file():
            return path.read_text()
    return None


def run(args, duration: int, warmup: float, workdir: Path) -> dict:
    """Start the server, hold the load, collect everything; returns the raw result."""
    scenario = args.scenario
    if scenario and Path(scenario).is_file():  # the server runs from the repository
        scenario = str(Path(scenario).resolve())
    if scenario is None:
        scenario = str(workdir / "soak-scenario.yaml")
        Path(scenario).write_text(SOAK_SCENARIO)
    port, data_dir = free_port(), workdir / "data"
    if args.data_from:  # the state only: journal and metrics start empty
        data_dir.mkdir()
        for path in Path(args.data_from).glob(STATE_FILE + "*"):
            shutil.copy2(path, data_dir / path.name)
    registry_before = read_registry(data_dir)
    server = Server("simulator", [
        exe("insi-dmp-sim"), "serve", "--host", HOST, "--port", str(port),
        "--workers", str(WORKERS), "--data-dir", str(data_dir), "--date", args.date,
        "--scenario", scenario],
        clean_env(SIM_LOG_LEVEL="info"), workdir / "server.log", REPO)
    healthy_s = wait_healthy(server, port)
    wait_workers(server, WORKERS)
    with open("/proc/loadavg") as f:
        load_before = [float(x) for x in f.read().split()[:3]]
    print(f"server healthy in {healthy_s:.2f} s (pid {server.proc.pid}); load average "
          f"{load_before[0]:.2f}; Locust for {duration} s, {args.users} users", flush=True)
    locust_result = workdir / "locust-final.json"
    locust_env = clean_env(SOAK_LOCUST_RESULT=str(locust_result),
                           DMP_SEARCH_WINDOW=str(args.search_window),
                           **({"LOADTEST_WAIT": args.wait} if args.wait else {}))
    started = time.monotonic()
    sampler = Sampler(port, server.proc.pid, started, data_dir)
    sampler.sample("before load")
    locust = Server("locust", [
        exe("locust"), "-f", f"{LOCUSTFILE},{HERE / 'soak_locust.py'}", *args.classes,
        "--headless", "-u", str(args.users),
        "-r", str(args.spawn_rate), "-t", f"{duration}s", "--stop-timeout",
        str(STOP_TIMEOUT_S), "--only-summary", "--host", f"http://{HOST}:{port}",
        "--csv", str(workdir / "locust")], locust_env, workdir / "locust.log", workdir)
    next_at = time.monotonic() + args.sample_every
    while locust.proc.poll() is None:
        if time.monotonic() >= next_at:
            s = sampler.sample()
            next_at += args.sample_every
            if args.progress:
                print_sample(s)
        time.sleep(0.2)
    locust_rc = locust.proc.returncode
    locust.stop()
    time.sleep(SETTLE_S)
    sampler.sample("end")
    sampler.poll_journal()
    metrics = checks.parse_metrics(http_request(port, "GET", "/metrics", timeout=10.0)[1]
                                   .decode())
    admin_total, admin_per_patient = dmp_documents(port)
    server.stop()
    errors, at_stop = log_errors(workdir / "server.log")
    if not locust_result.exists():
        raise BenchError(f"Locust wrote no final statistics (exit {locust_rc}):\n"
                         + (workdir / "locust.log").read_text(errors="replace")[-2000:])
    stats, failures, exceptions = checks.read_locust_result(locust_result)
    return {"duration_s": duration, "warmup_s": warmup, "healthy_s": round(healthy_s, 3),
            "scenario_arg": args.scenario, "scenario_source": scenario_text(scenario),
            "load_before": load_before,
            "locust_exit": locust_rc, "stats": stats, "failures": failures,
            "exceptions": exceptions, "metrics": metrics, "samples": sampler.samples,
            "journal_entries": sampler.journal, "admin_documents": admin_total,
            "admin_per_patient": admin_per_patient,
            "registry": registry_change(registry_before, read_registry(data_dir)),
            "server_log_errors": errors, "server_log_errors_at_stop": at_stop,
            "locust_log_tail": (workdir / "locust.log").read_text(
                errors="replace").splitlines()[-40:]}


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=5.0, help="load duration (default 5)")
    p.add_argument("--seconds", type=int, help="load duration in seconds (overrides)")
    p.add_argument("--users", type=int, default=12, help="Locust users (default 12)")
    p.add_argument("--classes", nargs="+", default=list(USERS), choices=USERS,
                   metavar="CLASS", help="user classes of loadtests/locustfile.py (default: "
                                         "all four, by their weights)")
    p.add_argument("--spawn-rate", type=float, default=2.0, help="users started per second")
    p.add_argument("--scenario", help="shipped scenario name or YAML path (default: the "
                                      "script's soak-mixed-faults)")
    p.add_argument("--date", default="2024-03-01T09:00:00Z", help="simulated start date")
    p.add_argument("--data-from", type=Path, help="start from a copy of the state file of "
                                                  "this data directory (e.g. a kept run's)")
    p.add_argument("--wait", help="LOADTEST_WAIT for the users (default theirs: 0.5,2 s)")
    p.add_argument("--search-window", type=float, default=60.0,
                   help="DMP_SEARCH_WINDOW of the consulting users, in seconds (default 60): "
                        "TD3.1 finds the documents created that recently, so its answers keep "
                        "one size while the run fills the DMPs")
    p.add_argument("--warmup", type=float, help="seconds before the memory baseline "
                                                "(default min(60, 20 %% of the run))")
    p.add_argument("--sample-every", type=float, default=5.0, help="seconds between samples")
    p.add_argument("--rss-bound-mb", type=float, default=20.0,
                   help="largest RSS growth per process after warm-up (default 20)")
    p.add_argument("--results-dir", type=Path, default=HERE / "results")
    p.add_argument("--keep-workdir", action="store_true", help="keep logs, CSV and data")
    p.add_argument("--progress", action="store_true", help="print every sample")
    return p.parse_args(argv)


def main(argv=None) -> int:
    """Run, analyse, print, write the JSON; exit status as the module says."""
    args = parse_args(argv)
    duration = args.seconds or round(args.minutes * 60)
    warmup = args.warmup if args.warmup is not None else min(60.0, duration * 0.2)
    install_time_bound(duration + STOP_TIMEOUT_S + 240)
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    try:
        raw = run(args, duration, warmup, workdir)
    except BenchError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 2
    finally:
        stop_all()
        if args.keep_workdir:
            print(f"workdir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    machine = machine_facts()
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        machine["packages"]["locust"] = importlib.metadata.version("locust")
    result = {"kind": "soak", "started_utc": stamp, "machine": machine,
              "options": {k: str(v) if isinstance(v, Path) else v
                          for k, v in vars(args).items()},
              "users": args.classes, **raw, **checks.analyse(raw, args.rss_bound_mb)}
    # Kept small: the journal's verdicts, not its entries; /metrics without the buckets.
    del result["journal_entries"]
    result["metrics"] = [m for m in raw["metrics"] if not m[0].endswith("_bucket")]
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"soak-{stamp}.json"
    out.write_text(json.dumps(result, indent=1, default=str))
    print_report(result, out)
    return 0 if result["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
