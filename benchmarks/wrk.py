"""Driving wrk: the Lua script that POSTs a body and checks the answers, one run, its output.

The script counts, over all wrk threads, the responses, the non-200 answers and the 200
answers whose body lacks the expected text, and prints them on a ``BENCH_CHECK`` line
that :func:`parse_wrk` reads with wrk's own figures.
"""
from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import subprocess
from pathlib import Path

from benchmarks.processes import BenchError

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

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def lua_string(text: str) -> str:
    """A Lua long-bracket literal that cannot be closed by the text."""
    level = 0
    while ("]" + "=" * level + "]") in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


def write_script(path: Path, body: str, content_type: str, expect: str) -> None:
    """Write the Lua script that POSTs ``body`` and expects ``expect`` in each answer."""
    path.write_text(LUA_TEMPLATE % {"body": lua_string(body),
                                    "content_type": lua_string(content_type),
                                    "expect": lua_string(expect)})


def to_ms(text: str) -> float:
    """A wrk duration ("812.00us", "1.20ms", "2.00s") in milliseconds."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(output: str) -> dict:
    """Throughput, latency percentiles, errors and the BENCH_CHECK counts of one wrk run."""
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
    """``wrk -t2 -cN -dDs --latency -s script url``: (parsed result with wrk's CPU, raw output)."""
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
