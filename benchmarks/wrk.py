"""Driving wrk: the Lua script that POSTs a body and checks the answers, one run, its output.

The script counts, over all wrk threads, the responses, the non-200 answers and the 200
answers whose body lacks the expected text, and prints them on a ``BENCH_CHECK`` line
that :func:`parse_wrk` reads with wrk's own figures.
"""
from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Sequence
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

# Optional additions to LUA_TEMPLATE (see write_script). The clock: CLOCK_MONOTONIC
# through LuaJIT's ffi (os.time() only has whole seconds); each thread notes its start in
# ``init``, which wrk calls just after fixing the run's stop time, and seeds its random
# numbers with its own number.
LUA_CLOCK = r"""
-- Monotonic clock, the start of each thread, a random seed per thread.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local bench_ts = ffi.new("bench_timespec")
local function bench_now()
  ffi.C.clock_gettime(1, bench_ts)  -- CLOCK_MONOTONIC
  return tonumber(bench_ts.tv_sec) + tonumber(bench_ts.tv_nsec) * 1e-9
end
local bench_threads = 0
local setup_checks = setup
function setup(thread)
  setup_checks(thread)
  bench_threads = bench_threads + 1
  thread:set("bench_seed", bench_threads)
end
local init_checks = init
function init(args)
  init_checks(args)
  bench_start = bench_now()
  math.randomseed(bench_seed or 1)
end
"""

# Spreads the first request of each connection at random over ``stagger`` seconds, so
# that the connections of a slow load do not send their requests in synchronized waves.
# A request issued in the first second of the run is a first request as long as no
# answer comes back within a second (the load it is meant for is slower than that).
# wrk starts timing a request once its delay is over.
LUA_STAGGER = r"""
-- Stagger the first request of each connection.
function delay()
  if bench_now() - bench_start < 1.0 then
    return math.random(0, %(stagger_ms)d)
  end
  return 0
end
"""

# Sends each request of every connection after a random pause, uniform from 0 to twice
# ``pause``: a paced load of about connections / (pause + response time) requests per
# second, whose connections do not fall into step (a fixed pause would keep the requests
# of connections that started together in synchronized waves).
LUA_PAUSE = r"""
-- A random pause before each request, %(pause_ms)d ms on average.
function delay()
  return math.random(0, 2 * %(pause_ms)d)
end
"""

# Counts the responses received between ``start + from`` and ``start + to`` seconds:
# ``done`` prints a ``BENCH_WINDOW`` line that parse_wrk reads.
LUA_COUNT_WINDOW = r"""
-- Responses received within a time window of the run.
local window_from, window_to = %(from_s)r, %(to_s)r
local count_response = response
function response(status, headers, body)
  local elapsed = bench_now() - bench_start
  if elapsed >= window_from and elapsed < window_to then
    in_window = (in_window or 0) + 1
  end
  count_response(status, headers, body)
end
local print_checks = done
function done(summary, latency, requests)
  print_checks(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do
    n = n + (t:get("in_window") or 0)
  end
  io.write(string.format("BENCH_WINDOW from=%%.3f to=%%.3f responses=%%d\n",
                         window_from, window_to, n))
end
"""

# More texts every 200 answer must contain: a 200 answer lacking one of them counts as a
# bad body (checked before the template's own check, which then does not see it).
LUA_EXPECT_MORE = r"""
-- Every one of these texts is expected in a 200 answer too.
local expect_more = { %(texts)s }
local check_expected = response
function response(status, headers, body)
  if status == 200 and body ~= nil then
    for _, text in ipairs(expect_more) do
      if not string.find(body, text, 1, true) then
        responses = responses + 1
        bad_body = bad_body + 1
        return
      end
    end
  end
  check_expected(status, headers, body)
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


def write_script(path: Path, body: str, content_type: str, expect: str,
                 stagger: float | None = None, pause: float | None = None,
                 count_window: tuple[float, float] | None = None,
                 expect_more: Sequence[str] = (), extra: str = "") -> None:
    """Write the Lua script that POSTs ``body`` and expects ``expect`` in each answer.

    ``stagger``: spread the first request of each connection at random over that many
    seconds. ``pause``: wait a random 0 to 2 x ``pause`` seconds before every request
    (not with ``stagger``). ``count_window``: (from, to) seconds of the run; also count the
    responses received in that window (``window_responses`` in :func:`parse_wrk`).
    ``expect_more``: other texts every 200 answer must contain too. ``extra``: Lua
    appended as is (e.g. a ``request()`` that builds a body per request).
    """
    if stagger is not None and pause is not None:
        raise ValueError("stagger and pause both define wrk's delay(): choose one")
    text = LUA_TEMPLATE % {"body": lua_string(body), "content_type": lua_string(content_type),
                           "expect": lua_string(expect)}
    if stagger is not None or pause is not None or count_window is not None:
        text += LUA_CLOCK
    if stagger is not None:
        text += LUA_STAGGER % {"stagger_ms": round(stagger * 1000)}
    if pause is not None:
        text += LUA_PAUSE % {"pause_ms": round(pause * 1000)}
    if count_window is not None:
        text += LUA_COUNT_WINDOW % {"from_s": float(count_window[0]),
                                    "to_s": float(count_window[1])}
    if expect_more:
        text += LUA_EXPECT_MORE % {"texts": ", ".join(lua_string(t) for t in expect_more)}
    path.write_text(text + extra)


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
    m = re.search(r"BENCH_WINDOW from=([\d.]+) to=([\d.]+) responses=(\d+)", output)
    if m:
        result["window_s"] = [float(m.group(1)), float(m.group(2))]
        result["window_responses"] = int(m.group(3))
    return result


def start_wrk(url: str, script: Path, duration: int, connections: int,
              timeout: str | None = None) -> subprocess.Popen:
    """Start ``wrk -t2 -cN -dDs --latency [--timeout T] -s script url`` in its own
    process group, without waiting; finish it with :func:`finish_wrk`."""
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    if timeout is not None:
        argv += ["--timeout", timeout]
    argv += ["-s", str(script), url]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True, text=True)


def stop_wrk(proc: subprocess.Popen) -> None:
    """SIGKILL a wrk started by :func:`start_wrk` (its whole group) and reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ValueError, OSError):
        proc.communicate()


def finish_wrk(proc: subprocess.Popen, duration: int) -> tuple[dict, str]:
    """Wait (at most ``duration + 30`` s from now) for a wrk started by :func:`start_wrk`;
    (parsed result, raw output). Kills its group on timeout or any error."""
    try:
        out, _ = proc.communicate(timeout=duration + 30)
    except subprocess.TimeoutExpired:
        stop_wrk(proc)
        raise BenchError(f"wrk did not finish within {duration + 30} s")
    except BaseException:
        stop_wrk(proc)
        raise
    if proc.returncode != 0:
        raise BenchError(f"wrk exited with {proc.returncode}:\n{out}")
    return parse_wrk(out), out


def run_wrk(url: str, script: Path, duration: int, connections: int) -> tuple[dict, str]:
    """``wrk -t2 -cN -dDs --latency -s script url``: (parsed result, raw output)."""
    return finish_wrk(start_wrk(url, script, duration, connections), duration)
