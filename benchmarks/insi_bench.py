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
3. prints a table, the INSi/echo throughput ratio of each pair and whether the targets
   hold, and writes everything (with the machine facts) to
   benchmarks/results/insi-<UTC timestamp>.json.

Server CPU seconds are read from /proc (or psutil when installed) over the server's
process tree. Every process started here is stopped by process group, even on error.
wrk is required and is not installed by this script.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.metadata
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS_DIR = HERE / "results"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"

sys.path.insert(0, str(REPO))
from benchmarks.echo_service import ECHO_TEXT, REQUEST_BODY as ECHO_BODY  # noqa: E402

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

TARGET_RATIO = 0.6
TARGET_P99_MS = 20.0
TARGET_HEALTHY_S = 2.0

HEALTH_POLL_S = 0.020
HEALTH_DEADLINE_S = 30.0
WARMUP_S = 2

LUA_TEMPLATE = r"""
-- POSTs one fixed body; counts non-200 answers and bodies without the expected text.
wrk.method = "POST"
wrk.body = %(body)s
wrk.headers["Content-Type"] = %(content_type)s
local expect = %(expect)s
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  responses = 0
  non200 = 0
  bad_body = 0
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then
    non200 = non200 + 1
  elseif body == nil or not string.find(body, expect, 1, true) then
    bad_body = bad_body + 1
  end
end

function done(summary, latency, requests)
  local r, n, b = 0, 0, 0
  for _, t in ipairs(threads) do
    r = r + t:get("responses")
    n = n + t:get("non200")
    b = b + t:get("bad_body")
  end
  io.write(string.format("BENCH_CHECK responses=%%d non200=%%d bad_body=%%d\n", r, n, b))
end
"""


class BenchError(RuntimeError):
    """A failure the script reports in one line."""


def lua_string(text: str) -> str:
    """A Lua long-bracket literal that cannot be closed by the text."""
    level = 0
    while ("]" + "=" * level + "]") in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


# ---------------------------------------------------------------- processes


class Server:
    """A server process started in its own process group; stopped by group."""

    registry: list["Server"] = []

    def __init__(self, name: str, argv: list[str], env: dict, log_path: Path):
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.spawned_at = time.monotonic()
        self.proc = subprocess.Popen(argv, env=env, cwd=str(REPO), stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.pgid = self.proc.pid  # start_new_session: the child leads its own group
        Server.registry.append(self)

    def stop(self, grace: float = 8.0) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # Workers may outlive the master for a moment: clear the whole group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.log.close()
        if self in Server.registry:
            Server.registry.remove(self)

    def tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def stop_all() -> None:
    for server in list(Server.registry):
        server.stop(grace=3.0)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def http_request(port: int, method: str, path: str, body: bytes | None = None,
                 timeout: float = 2.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Content-Type": CONTENT_TYPE} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_healthy(server: Server, port: int, deadline_s: float = HEALTH_DEADLINE_S) -> float:
    """Seconds from spawn to the first 200 on /_admin/health (polled every 20 ms)."""
    limit = server.spawned_at + deadline_s
    while True:
        try:
            status, _ = http_request(port, "GET", "/_admin/health", timeout=1.0)
            if status == 200:
                return time.monotonic() - server.spawned_at
        except OSError:
            pass
        if server.proc.poll() is not None:
            raise BenchError(f"{server.name} exited with {server.proc.returncode} before "
                             f"being healthy:\n{server.tail()}")
        if time.monotonic() > limit:
            raise BenchError(f"{server.name} not healthy after {deadline_s:.0f} s:\n"
                             f"{server.tail()}")
        time.sleep(HEALTH_POLL_S)


def wait_port(server: Server, port: int, path: str, body: bytes, expect: str,
              deadline_s: float = HEALTH_DEADLINE_S) -> None:
    """Wait until ``POST path`` answers 200 with the expected text."""
    limit = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < limit:
        if server.proc.poll() is not None:
            raise BenchError(f"{server.name} exited with {server.proc.returncode}:\n"
                             f"{server.tail()}")
        try:
            status, answer = http_request(port, "POST", path, body)
            if status == 200 and expect.encode() in answer:
                return
            last = f"HTTP {status}: {answer[:300]!r}"
            raise BenchError(f"{server.name}: unexpected answer to the benchmark request, "
                             f"{last}")
        except OSError as exc:
            last = repr(exc)
        time.sleep(HEALTH_POLL_S)
    raise BenchError(f"{server.name} not answering after {deadline_s:.0f} s ({last})")


# ---------------------------------------------------------------- CPU accounting

CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(pid: int) -> float | None:
    """user+system CPU seconds of one process (psutil if present, else /proc)."""
    try:
        import psutil  # optional
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - process gone
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().decode(errors="replace").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def machine_busy_seconds() -> float:
    """user+nice+system CPU seconds of the whole machine, all cores (from /proc/stat).

    irq/softirq (loopback networking) and steal are left out: they are not charged to
    processes, so they would show up as "other" load.
    """
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields[:3]) / CLK_TCK


def tree_cpu(root: int) -> dict[int, float]:
    out = {}
    for pid in process_tree(root):
        value = cpu_seconds(pid)
        if value is not None:
            out[pid] = value
    return out


# ---------------------------------------------------------------- wrk

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def to_ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(output: str) -> dict:
    result: dict = {"non_2xx": 0, "socket_errors": {"connect": 0, "read": 0, "write": 0,
                                                     "timeout": 0}}
    m = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not m:
        raise BenchError(f"cannot parse wrk output:\n{output}")
    result["requests_per_s"] = float(m.group(1))
    m = re.search(r"(\d+) requests in ([\d.]+\w+),", output)
    if m:
        result["requests"] = int(m.group(1))
        result["elapsed_s"] = to_ms(m.group(2)) / 1000.0
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", output, re.M)
        if m:
            result[f"p{pct}_ms"] = round(to_ms(m.group(1)), 3)
    m = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", output)
    if m:
        result["latency_avg_ms"] = round(to_ms(m.group(1)), 3)
        result["latency_max_ms"] = round(to_ms(m.group(3)), 3)
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if m:
        result["non_2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                  output)
    if m:
        result["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"),
                                           map(int, m.groups())))
    m = re.search(r"BENCH_CHECK responses=(\d+) non200=(\d+) bad_body=(\d+)", output)
    if m:
        result["checked_responses"], result["non_200"], result["bad_body"] = \
            map(int, m.groups())
    return result


def run_wrk(url: str, script: Path, duration: int, connections: int) -> tuple[dict, str]:
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency",
            "-s", str(script), url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True, text=True)
    try:
        out, _ = proc.communicate(timeout=duration + 30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise BenchError(f"wrk did not finish within {duration + 30} s")
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise BenchError(f"wrk exited with {proc.returncode}:\n{out}")
    result = parse_wrk(out)
    result["wrk_cpu_s"] = round((after.ru_utime - before.ru_utime)
                                + (after.ru_stime - before.ru_stime), 2)
    return result, out


# ---------------------------------------------------------------- targets


def start_simulator(workdir: Path, tag: str) -> tuple[Server, int]:
    port = free_port()
    exe = BIN / "insi-dmp-sim"
    argv = [str(exe) if exe.exists() else shutil.which("insi-dmp-sim") or "insi-dmp-sim",
            "serve", "--host", HOST, "--port", str(port),
            "--data-dir", str(workdir / f"data-{tag}")]
    env = dict(os.environ, SIM_WORKERS="2", SIM_LOG_LEVEL="warning")
    return Server(f"simulator[{tag}]", argv, env, workdir / f"sim-{tag}.log"), port


def start_echo(workdir: Path, tag: str) -> tuple[Server, int]:
    """The bare echo under the simulator's own server configuration."""
    port = free_port()
    python = BIN / "python"
    argv = [str(python) if python.exists() else sys.executable, "-m",
            "benchmarks.serve_echo", str(port)]
    env = dict(os.environ, PYTHONPATH=str(REPO), SIM_HOST=HOST, SIM_WORKERS="2",
               SIM_LOG_LEVEL="warning")
    return Server(f"echo[{tag}]", argv, env, workdir / f"echo-{tag}.log"), port


TARGETS = {
    "insi": {"label": "INSi traits search (simulator POST /lps)", "start": start_simulator,
             "path": "/lps", "body": INSI_BODY, "expect": INSI_EXPECT},
    "echo": {"label": "bare spyne SOAP 1.2 echo", "start": start_echo,
             "path": "/", "body": ECHO_BODY, "expect": ECHO_EXPECT},
}


def bench_target(kind: str, round_no: int, workdir: Path, args) -> dict:
    spec = TARGETS[kind]
    tag = f"{kind}{round_no}"
    script = workdir / f"{kind}.lua"
    if not script.exists():
        script.write_text(LUA_TEMPLATE % {"body": lua_string(spec["body"]),
                                          "content_type": lua_string(CONTENT_TYPE),
                                          "expect": lua_string(spec["expect"])})
    server, port = spec["start"](workdir, tag)
    try:
        wait_port(server, port, spec["path"], spec["body"].encode(), spec["expect"])
        url = f"http://{HOST}:{port}{spec['path']}"
        run_wrk(url, script, WARMUP_S, args.connections)  # warm-up, discarded
        cpu_before = tree_cpu(server.proc.pid)
        busy_before = machine_busy_seconds()
        result, raw = run_wrk(url, script, args.duration, args.connections)
        busy_after = machine_busy_seconds()
        cpu_after = tree_cpu(server.proc.pid)
        per_process = {str(pid): round(cpu_after[pid] - cpu_before.get(pid, 0.0), 2)
                       for pid in cpu_after}
        result["server_cpu_s"] = round(sum(per_process.values()), 2)
        result["server_cpu_by_pid"] = per_process
        # Busy CPU of the machine not spent by this server or wrk: other load (noise).
        result["machine_busy_cpu_s"] = round(busy_after - busy_before, 2)
        result["other_cpu_s"] = round(max(0.0, result["machine_busy_cpu_s"]
                                          - result["server_cpu_s"] - result["wrk_cpu_s"]), 2)
        if result.get("requests"):
            result["server_cpu_us_per_req"] = round(
                result["server_cpu_s"] / result["requests"] * 1e6, 1)
        result.update(target=kind, round=round_no, wrk_output=raw)
        return result
    finally:
        server.stop()


# ---------------------------------------------------------------- report


def machine_facts() -> dict:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for dist in ("spyne", "gunicorn", "gevent", "greenlet", "lxml", "Werkzeug", "Flask",
                 "psutil", "insi-dmp-simulator"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    wrk_version = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=5)
        wrk_version = (out.stdout + out.stderr).splitlines()[0].strip()
    return {"nproc": os.cpu_count(), "cpu_model": model,
            "python": platform.python_version(), "platform": platform.platform(),
            "packages": versions, "wrk": wrk_version}


def fmt_row(cells, widths):
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                     for i, (c, w) in enumerate(zip(cells, widths)))


def print_table(runs: list[dict]) -> None:
    head = ["run", "req/s", "p50 ms", "p99 ms", "non-2xx", "bad body", "sock err",
            "srv CPU s", "µs/req", "wrk CPU s", "other CPU s"]
    widths = [8, 9, 7, 7, 7, 8, 8, 9, 7, 9, 11]
    print(fmt_row(head, widths))
    print(fmt_row(["-" * w for w in widths], widths))
    for r in runs:
        print(fmt_row([f"{r['target']}#{r['round']}", f"{r['requests_per_s']:.0f}",
                       f"{r.get('p50_ms', float('nan')):.2f}",
                       f"{r.get('p99_ms', float('nan')):.2f}",
                       r["non_2xx"], r.get("bad_body", "?"),
                       sum(r["socket_errors"].values()), r.get("server_cpu_s", "-"),
                       r.get("server_cpu_us_per_req", "-"), r.get("wrk_cpu_s", "-"),
                       r.get("other_cpu_s", "-")], widths))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=2, help="A B pairs (default 2)")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 300 or not 1 <= args.connections <= 1000 \
            or not 1 <= args.rounds <= 10:
        parser.error("duration 1..300, connections 1..1000, rounds 1..10")

    if shutil.which("wrk") is None:
        print("insi_bench: wrk not found on PATH: install wrk (apt-get install wrk)",
              file=sys.stderr)
        return 2

    # Hard bound on the whole run; the handlers unwind through the finally below.
    budget = 3 * (HEALTH_DEADLINE_S + 10) + 2 * args.rounds * (args.duration + WARMUP_S + 60)

    def on_signal(signum, frame):
        raise BenchError(f"stopped by signal {signum}")

    def on_alarm(signum, frame):
        raise BenchError(f"time budget of {budget:.0f} s exceeded")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(budget))

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    workdir = Path(tempfile.mkdtemp(prefix="insi-bench-"))
    report: dict = {"started_utc": stamp, "machine": machine_facts(),
                    "config": {"duration_s": args.duration, "connections": args.connections,
                               "wrk_threads": 2, "warmup_s": WARMUP_S,
                               "server": "gunicorn, 2 workers, gevent, keep-alive 75 s",
                               "order": ("insi echo " * args.rounds).split()}}
    try:
        # 1. time to healthy
        healthy = []
        for i in range(3):
            server, port = start_simulator(workdir, f"health{i}")
            try:
                healthy.append(round(wait_healthy(server, port), 3))
            finally:
                server.stop()
            print(f"time-to-healthy #{i + 1}: {healthy[-1]:.3f} s", flush=True)
        report["time_to_healthy_s"] = {"runs": healthy, "max": max(healthy)}

        # 2. A B A B
        runs = []
        for round_no in range(1, args.rounds + 1):
            for kind in ("insi", "echo"):
                print(f"running {kind} #{round_no}: {WARMUP_S} s warm-up + "
                      f"{args.duration} s wrk ...", flush=True)
                runs.append(bench_target(kind, round_no, workdir, args))
        signal.alarm(0)
    except (BenchError, KeyboardInterrupt) as exc:
        signal.alarm(0)
        stop_all()
        print(f"insi_bench: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        stop_all()
        shutil.rmtree(workdir, ignore_errors=True)

    # 3. report
    pairs = []
    for round_no in range(1, args.rounds + 1):
        a = next(r for r in runs if r["target"] == "insi" and r["round"] == round_no)
        b = next(r for r in runs if r["target"] == "echo" and r["round"] == round_no)
        pairs.append({"round": round_no, "insi_rps": a["requests_per_s"],
                      "echo_rps": b["requests_per_s"],
                      "ratio": round(a["requests_per_s"] / b["requests_per_s"], 3)})
    insi_runs = [r for r in runs if r["target"] == "insi"]
    echo_runs = [r for r in runs if r["target"] == "echo"]
    mean_ratio = round(sum(r["requests_per_s"] for r in insi_runs)
                       / sum(r["requests_per_s"] for r in echo_runs), 3)
    worst_p99 = max(r.get("p99_ms", float("inf")) for r in insi_runs)
    errors = sum(r["non_2xx"] + r.get("bad_body", 0) + sum(r["socket_errors"].values())
                 for r in runs)
    us = {k: [r["server_cpu_us_per_req"] for r in runs
              if r["target"] == k and r.get("server_cpu_us_per_req")] for k in ("insi", "echo")}
    us_mean = {k: sum(v) / len(v) for k, v in us.items() if v}
    cpu_ratio = round(us_mean["echo"] / us_mean["insi"], 3) if len(us_mean) == 2 else None
    noise_limit = 0.1 * (os.cpu_count() or 1) * args.duration
    noisy = [f"{r['target']}#{r['round']}" for r in runs
             if r.get("other_cpu_s", 0) > noise_limit]
    targets = {
        f"insi_throughput >= {TARGET_RATIO}x echo (mean)": mean_ratio >= TARGET_RATIO,
        f"insi p99 < {TARGET_P99_MS:g} ms (worst run)": worst_p99 < TARGET_P99_MS,
        f"time-to-healthy < {TARGET_HEALTHY_S:g} s (max of 3)":
            report["time_to_healthy_s"]["max"] < TARGET_HEALTHY_S,
        "no errors (non-2xx, bad bodies, socket errors)": errors == 0,
    }
    report.update(runs=runs, pairs=pairs, mean_ratio=mean_ratio, insi_worst_p99_ms=worst_p99,
                  server_cpu_us_per_req_mean={k: round(v, 1) for k, v in us_mean.items()},
                  cpu_per_request_ratio=cpu_ratio, noisy_runs=noisy, targets=targets)

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out_path = RESULTS_DIR / f"insi-{stamp}.json"
    out_path.write_text(json.dumps(report, indent=2) + "\n")

    summary = {k: v for k, v in report.items() if k != "runs"}
    summary["runs"] = [{k: v for k, v in r.items() if k != "wrk_output"} for r in runs]
    print()
    print(json.dumps(summary, indent=2))
    print()
    m = report["machine"]
    print(f"machine: {m['nproc']} CPU ({m['cpu_model']}), Python {m['python']}, "
          f"spyne {m['packages']['spyne']}, gunicorn {m['packages']['gunicorn']}, "
          f"gevent {m['packages']['gevent']}; wrk -t2 -c{args.connections} "
          f"-d{args.duration}s on {HOST}")
    print(f"time-to-healthy (s): {', '.join(f'{h:.3f}' for h in healthy)}  "
          f"max {max(healthy):.3f}")
    print()
    print_table(runs)
    print()
    for p in pairs:
        print(f"pair {p['round']}: INSi {p['insi_rps']:.0f} / echo {p['echo_rps']:.0f} req/s "
              f"= {p['ratio']:.2f}x")
    print(f"overall: INSi/echo = {mean_ratio:.2f}x")
    if cpu_ratio is not None:
        print(f"server CPU per request: INSi {us_mean['insi']:.0f} µs, echo "
              f"{us_mean['echo']:.0f} µs (echo/INSi = {cpu_ratio:.2f}x, less sensitive to "
              "other load)")
    if noisy:
        print(f"warning: other processes used >10% of the machine during {', '.join(noisy)}"
              " (column 'other CPU s'): those throughput figures are disturbed")
    print()
    for name, ok in targets.items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")
    print(f"\nresults: {out_path.relative_to(REPO)}")
    return 1 if args.strict and not all(targets.values()) else 0

if __name__ == "__main__":
    sys.exit(main())
