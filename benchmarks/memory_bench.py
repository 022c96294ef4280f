"""Memory of the simulator over 100,000 requests: RSS, journal, metrics, database files.

    .venv/bin/python benchmarks/memory_bench.py [--total 100000] [--step 10000] [--connections 16]

Starts ``insi-dmp-sim serve`` (SIM_WORKERS=2, SIM_JOURNAL_SIZE=1000, fresh data dir) and
drives it with wrk (keep-alive, -t2) in steps of ``--step`` requests, rotating five bodies
per request: CR 00, CR 01 and CR 02 traits searches, a desir_550 fault (IDAM 'XXX') and a
malformed body. After each step it reads the VmRSS of the master and each worker, the
SQLite file sizes, the journal and the /metrics line count, and checks the issue's target:
RSS grows < 20 MB from 10,000 to 100,000 requests; journal and metrics stay bounded.
Writes benchmarks/results/memory-<UTC>.json (see README.md).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
import envelopes as env  # noqa: E402  (tests/envelopes.py)
from benchmarks.insi_bench import start_simulator  # noqa: E402
from benchmarks.processes import (  # noqa: E402
    HOST, BenchError, http_request, install_time_bound, process_tree, stop_all, wait_answering)
from benchmarks.report import machine_facts, table_row  # noqa: E402
from simulator.store.sqlite import DIAGNOSTICS_FILE  # noqa: E402
from benchmarks.wrk import finish_wrk, lua_string, start_wrk  # noqa: E402

JOURNAL_SIZE = 1000
TARGET_GROWTH_MB = 20.0
SETTLE_S = 1.0  # the journal and metric batches are flushed every 0.2 s
# wrk's -d is an upper bound: each thread stops after its share of the step and says so;
# then wrk (whose main thread sleeps -d) gets SIGINT, which makes it report and exit.
WRK_MAX_S = 300
_SEARCH = env.CONTEXTE_BAM + env.contexte_lps() + env.wsa("rechercherInsAvecTraitsIdentite")
# (name, body, expected status, text expected in the answer)
KINDS = [
    ("cr00", env.traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26"), 200, "CodeCR>00</"),
    ("cr01", env.traits_request("HOUILLES", "PIERRE", "M", "1993-01-27"), 200, "CodeCR>01</"),
    ("cr02", env.traits_request("DE VINCI", "LEONARDO", "M", "2014-02-01"), 200, "CodeCR>02</"),
    ("desir_550", env.envelope(env.traits_body("ADRTROIS", "DOMINIQUE", "F", "1997-02-26"),
                               env.CONTEXTE_BAM + env.contexte_lps(idam="XXX")
                               + env.wsa("rechercherInsAvecTraitsIdentite")), 500, "desir_550"),
    ("malformed", b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">'
                  b"<soap:Header>" + _SEARCH.encode() + b"</soap:Header><soap:Body><r:RECSANS",
     500, "insi_400"),
]

LUA = r"""
-- Bodies in turn; checks status and text; each thread stops after %(limit)d responses.
wrk.method = "POST"
wrk.headers["Content-Type"] = %(content_type)s
local bodies = { %(bodies)s }
local statuses = { %(statuses)s }
local expects = { %(expects)s }
local limit = %(limit)d
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  sent, responses, non200, bad_body = 0, 0, 0, 0
  for i = 1, #bodies do _G["seen" .. i] = 0 end
end
function request()
  sent = sent + 1
  return wrk.format(nil, nil, nil, bodies[(sent - 1) %% #bodies + 1])
end
function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then non200 = non200 + 1 end
  local hit = false
  for i = 1, #expects do
    if not hit and status == statuses[i] and string.find(body or "", expects[i], 1, true) then
      _G["seen" .. i], hit = _G["seen" .. i] + 1, true
    end
  end
  if not hit then bad_body = bad_body + 1 end
  if responses == limit then
    io.write("BENCH_THREAD_STOPPED\n")
    io.flush()
    wrk.thread:stop()
  end
end
function done(summary, latency, requests)
  local r, n, b, seen = 0, 0, 0, {}
  for i = 1, #bodies do seen[i] = 0 end
  for _, t in ipairs(threads) do
    r, n, b = r + t:get("responses"), n + t:get("non200"), b + t:get("bad_body")
    for i = 1, #bodies do seen[i] = seen[i] + t:get("seen" .. i) end
  end
  io.write(string.format("BENCH_CHECK responses=%%d non200=%%d bad_body=%%d\n", r, n, b))
  io.write("BENCH_MIX " .. table.concat(seen, " ") .. "\n")
end
"""


def write_lua(path: Path, per_thread: int) -> None:
    """The wrk script: the five bodies in turn, ``per_thread`` responses per wrk thread."""
    path.write_text(LUA % {
        "content_type": lua_string(env.SOAP_CT), "limit": per_thread,
        "bodies": ", ".join(lua_string(k[1].decode()) for k in KINDS),
        "statuses": ", ".join(str(k[2]) for k in KINDS),
        "expects": ", ".join(lua_string(k[3]) for k in KINDS)})


def status_kb(pid: int) -> dict:
    """VmRSS and RssAnon of one process, in kB (empty when it is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {key: int(value.split()[0]) for key, _, value in (ln.partition(":") for ln in lines)
            if key in ("VmRSS", "RssAnon")}


def measure(master: int, port: int, data_dir: Path) -> dict:
    """RSS of the process tree, database files, journal, metrics and requests counted."""
    time.sleep(SETTLE_S)
    procs = {pid: status_kb(pid) for pid in process_tree(master)}
    workers = sorted(pid for pid in procs if pid != master)
    _, text = http_request(port, "GET", "/metrics", timeout=10)
    lines = text.decode().splitlines()
    counted = sum(float(m.group(1)) for line in lines
                  if (m := re.match(r"insi_dmp_sim_requests_total\{.*\} (\S+)$", line)))
    _, raw = http_request(port, "GET", "/_admin/journal?limit=100000&bodies=0", timeout=10)
    with sqlite3.connect(data_dir / DIAGNOSTICS_FILE, timeout=10) as conn:
        rows = conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0]
    files = {p.name: p.stat().st_size for p in sorted(data_dir.iterdir())
             if p.name.endswith((".sqlite3", ".sqlite3-wal"))}
    db_kb = {name: sum(s for f, s in files.items() if f.startswith(name)) / 1024
             for name in ("diagnostics", "simulator")}
    return {"requests_served": int(counted),
            "rss_kb": {str(pid): p.get("VmRSS", 0) for pid, p in procs.items()},
            "rss_anon_kb": {str(pid): p.get("RssAnon", 0) for pid, p in procs.items()},
            "master": master, "workers": workers,
            "rss_total_kb": sum(p.get("VmRSS", 0) for p in procs.values()),
            "journal_entries": len(json.loads(raw)["entries"]), "journal_rows": rows,
            "metrics_lines": len(lines), "db_files_bytes": files,
            "db_kb": {k: round(v, 1) for k, v in db_kb.items()}}


def mb(kb: float) -> str:
    return f"{kb / 1024:.1f}"


def print_table(rows: list[dict]) -> None:
    head = ["requests", "sent", "total RSS MB", "master MB", "worker MB", "journal API/rows",
            "metrics lines", "diag db KB", "sim db KB"]
    widths = [8, 8, 12, 9, 13, 16, 13, 10, 9]
    print(table_row(head, widths))
    print(table_row(["-" * w for w in widths], widths))
    for r in rows:
        print(table_row([r["requests_served"], r["requests_sent"], mb(r["rss_total_kb"]),
                         mb(r["rss_kb"][str(r["master"])]),
                         " / ".join(mb(r["rss_kb"][str(w)]) for w in r["workers"]),
                         f"{r['journal_entries']}/{r['journal_rows']}", r["metrics_lines"],
                         r["db_kb"]["diagnostics"], r["db_kb"]["simulator"]], widths))


def verdicts(rows: list[dict]) -> tuple[dict, list[str]]:
    """Growth from the first row at >= 10,000 requests to the last; the target checks."""
    threshold = min(10_000, rows[-1]["requests_sent"])
    base = next(r for r in rows[1:] if r["requests_sent"] >= threshold)
    last = rows[-1]
    growth = {"total": (last["rss_total_kb"] - base["rss_total_kb"]) / 1024}
    lines = [f"RSS growth {base['requests_sent']} -> {last['requests_sent']} requests: "
             f"total {growth['total']:+.1f} MB"]
    for pid in [base["master"]] + base["workers"]:
        who = "master" if pid == base["master"] else f"worker {pid}"
        if str(pid) in last["rss_kb"]:
            growth[who] = (last["rss_kb"][str(pid)] - base["rss_kb"][str(pid)]) / 1024
            anon = (last["rss_anon_kb"][str(pid)] - base["rss_anon_kb"][str(pid)]) / 1024
            lines.append(f"  {who}: {growth[who]:+.1f} MB (RssAnon {anon:+.1f} MB)")
        else:
            lines.append(f"  {who}: gone by the end (restarted?)")
    after = [r for r in rows if r["requests_sent"] >= base["requests_sent"]]
    errors = sum(r.get("bad_body", 0) + r.get("socket_errors", 0) for r in rows)
    targets = {
        f"RSS growth < {TARGET_GROWTH_MB:g} MB (total over the tree, 10k -> 100k)":
            growth["total"] < TARGET_GROWTH_MB,
        f"journal entries <= SIM_JOURNAL_SIZE ({JOURNAL_SIZE}) (API and table rows)":
            all(max(r["journal_entries"], r["journal_rows"]) <= JOURNAL_SIZE for r in rows),
        "metrics lines bounded (same count from 10k to 100k)":
            len({r["metrics_lines"] for r in after}) == 1,
        "every answer as expected (status and text; no socket errors)": errors == 0,
    }
    return {"growth_mb": {k: round(v, 2) for k, v in growth.items()}, "targets": targets}, lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--step", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("memory_bench: wrk not found on PATH (apt-get install wrk)", file=sys.stderr)
        return 2
    steps = args.total // args.step
    install_time_bound(120 + steps * (WRK_MAX_S + 60))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    workdir = Path(tempfile.mkdtemp(prefix="memory-bench-"))
    os.environ["SIM_JOURNAL_SIZE"] = str(JOURNAL_SIZE)  # inherited by the simulator
    script = workdir / "mix.lua"
    write_lua(script, args.step // 2)
    rows, sent = [], 0
    try:
        server, port = start_simulator(workdir, "mem")
        kind = KINDS[0]
        wait_answering(server, port, "/lps", kind[1], env.SOAP_CT, kind[3])
        rows.append(dict(measure(server.proc.pid, port, workdir / "data-mem"), requests_sent=0))
        for i in range(steps):
            proc = start_wrk(f"http://{HOST}:{port}/lps", script, WRK_MAX_S, args.connections)
            raw = ""
            while raw.count("BENCH_THREAD_STOPPED") < 2 and (line := proc.stdout.readline()):
                raw += line
            proc.send_signal(signal.SIGINT)
            result, rest = finish_wrk(proc, WRK_MAX_S)
            raw += rest
            sent += result.get("checked_responses", 0)
            mix = re.search(r"BENCH_MIX ([\d ]+)", raw).group(1).split()
            row = measure(server.proc.pid, port, workdir / "data-mem")
            row.update(requests_sent=sent, wrk_requests_per_s=result["requests_per_s"],
                       bad_body=result.get("bad_body", 0),
                       socket_errors=sum(result["socket_errors"].values()),
                       mix=dict(zip([k[0] for k in KINDS], map(int, mix))), wrk_output=raw)
            rows.append(row)
            print(f"step {i + 1}/{steps}: {sent} requests, {result['requests_per_s']:.0f} req/s,"
                  f" RSS {mb(row['rss_total_kb'])} MB", flush=True)
    except (BenchError, KeyboardInterrupt) as exc:
        print(f"memory_bench: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        stop_all()
        shutil.rmtree(workdir, ignore_errors=True)

    summary, growth_lines = verdicts(rows)
    machine = machine_facts()
    report = {"started_utc": stamp, "machine": machine, "rows": rows, **summary,
              "config": {"total": args.total, "step": args.step, "wrk_threads": 2,
                         "connections": args.connections, "journal_size": JOURNAL_SIZE,
                         "kinds": [k[0] for k in KINDS], "server": "SIM_WORKERS=2"}}
    out = HERE / "results" / f"memory-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nmachine: {machine['nproc']} CPU ({machine['cpu_model']}), Python "
          f"{machine['python']}, gunicorn {machine['packages']['gunicorn']}, gevent "
          f"{machine['packages']['gevent']}; wrk -t2 -c{args.connections}, {steps} steps of "
          f"{args.step}, mix {'/'.join(k[0] for k in KINDS)} in turn\n")
    print_table(rows)
    print("\n" + "\n".join(growth_lines) + "\n")
    for name, ok in summary["targets"].items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")
    print(f"\nresults: {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
