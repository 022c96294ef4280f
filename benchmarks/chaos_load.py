"""What chaos_bench runs: the scenario, the three searches, the Lua scripts, the phases.

The searches are insi_bench's INSi traits search with three birth names: ADRTROIS (the
normal search, CR 00), SLOW (delayed by the scenario; not in the registry, CR 01) and
NODELAY (not in the registry either, no rule: the control, CR 01). Each phase returns
wrk's parsed results and raw output with the CPU it used (:class:`CpuSpan`).
"""
from __future__ import annotations

import resource
import time
from pathlib import Path

from benchmarks.insi_bench import CONTENT_TYPE, INSI_BODY, INSI_EXPECT
from benchmarks.processes import BenchError, CpuSpan, Server, http_request, wait_answering
from benchmarks.wrk import finish_wrk, run_wrk, start_wrk, stop_wrk, write_script

DELAY_S = 2.0
SLOW_NAME = "SLOW"
CONTROL_NAME = "NODELAY"
NORMAL_NAME_ELEMENT = "<r:NomNaissance>ADRTROIS</r:NomNaissance>"
if NORMAL_NAME_ELEMENT not in INSI_BODY:  # pragma: no cover - guards the replace below
    raise RuntimeError("insi_bench.INSI_BODY changed: update chaos_load.search_for")


def search_for(birth_name: str) -> str:
    """The benchmark's INSi traits search with another birth name."""
    return INSI_BODY.replace(NORMAL_NAME_ELEMENT,
                             f"<r:NomNaissance>{birth_name}</r:NomNaissance>")


NORMAL_BODY = INSI_BODY
SLOW_BODY = search_for(SLOW_NAME)
CONTROL_BODY = search_for(CONTROL_NAME)
NORMAL_EXPECT = INSI_EXPECT  # CR 00
NOT_FOUND_EXPECT = "CodeCR>01</"  # SLOW and NODELAY are not in the registry: CR 01, 200
PATH = "/lps"

SCENARIO_YAML = f"""\
# chaos_bench: a fixed {DELAY_S:g} s delay on the searches for birth name {SLOW_NAME} only.
name: bench-slow-birth-name
description: Fixed {DELAY_S:g} s latency on requests for birth name {SLOW_NAME}
seed: 1
rules:
  - name: slow-birth-name
    match:
      patient: {{birth_name: {SLOW_NAME}}}
    latency: {{fixed: {DELAY_S:g}s}}
"""

WARMUP_S = 2
WINDOW_FROM_S = 2 * DELAY_S + 1  # every connection has had its first answer by then
WINDOW_END_MARGIN_S = 0.5
NORMAL_CONNECTIONS = 4
CONTROL_PAUSE_S = 0.2  # C/10 connections pausing 200 ms on average: about C / 2 s req/s
WRK_TIMEOUT = "10s"
FD_MARGIN = 256


def raise_fd_limit(connections: int) -> dict:
    """Raise the soft RLIMIT_NOFILE (inherited by wrk and the server) to fit the load."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = connections + NORMAL_CONNECTIONS + FD_MARGIN
    before = soft
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise BenchError(f"open files: hard limit {hard} < {needed} needed for "
                             f"{connections} connections (raise it: ulimit -Hn)")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        soft = needed
    return {"soft_before": before, "soft": soft, "hard": hard, "needed": needed}


def count_window(slow_duration: int) -> tuple[float, float]:
    """Seconds of the slow run over which its throughput is measured (steady state)."""
    return WINDOW_FROM_S, slow_duration - WINDOW_END_MARGIN_S


def control_connections(connections: int) -> int:
    """Connections of the control load: about the slow load's rate with 200 ms pauses."""
    return max(2, round(connections * CONTROL_PAUSE_S / DELAY_S))  # wrk: >= 1 per thread


def write_scripts(workdir: Path, slow_duration: int) -> tuple[Path, Path, Path]:
    """The Lua scripts of the slow load (first requests staggered, responses counted in
    the window), of the control load (random pauses) and of the normal search."""
    slow_lua, control_lua, normal_lua = (workdir / f"{n}.lua"
                                         for n in ("slow", "control", "normal"))
    write_script(slow_lua, SLOW_BODY, CONTENT_TYPE, NOT_FOUND_EXPECT, stagger=DELAY_S,
                 count_window=count_window(slow_duration))
    write_script(control_lua, CONTROL_BODY, CONTENT_TYPE, NOT_FOUND_EXPECT,
                 pause=CONTROL_PAUSE_S)
    write_script(normal_lua, NORMAL_BODY, CONTENT_TYPE, NORMAL_EXPECT)
    return slow_lua, control_lua, normal_lua


def check_answers(server: Server, port: int) -> dict:
    """Normal: CR 00 at once; SLOW: CR 01 after ~2 s; NODELAY: CR 01 at once."""
    wait_answering(server, port, PATH, NORMAL_BODY.encode(), CONTENT_TYPE, NORMAL_EXPECT)
    out = {}
    for name, body, expect in (("normal", NORMAL_BODY, NORMAL_EXPECT),
                               ("slow", SLOW_BODY, NOT_FOUND_EXPECT),
                               ("control", CONTROL_BODY, NOT_FOUND_EXPECT)):
        start = time.monotonic()
        status, answer = http_request(port, "POST", PATH, body.encode(), CONTENT_TYPE,
                                      timeout=DELAY_S + 8)
        elapsed = time.monotonic() - start
        if status != 200 or expect.encode() not in answer:
            raise BenchError(f"{name} search: expected HTTP 200 with {expect!r}, got HTTP "
                             f"{status}: {answer[:300]!r}")
        out[f"{name}_s"] = round(elapsed, 3)
    if not DELAY_S <= out["slow_s"] < DELAY_S + 1:
        raise BenchError(f"the SLOW search took {out['slow_s']} s, not ~{DELAY_S:g} s: "
                         "is the scenario applied?")
    for name in ("normal", "control"):
        if out[f"{name}_s"] >= DELAY_S / 2:
            raise BenchError(f"the {name} search took {out[f'{name}_s']} s: it is delayed")
    return out


def baseline_phase(url: str, normal_lua: Path, server: Server, normal_duration: int) -> dict:
    """The normal search alone: a warm-up (discarded), then the measured wrk run."""
    run_wrk(url, normal_lua, WARMUP_S, NORMAL_CONNECTIONS)
    cpu = CpuSpan(server.proc.pid)
    baseline, raw = run_wrk(url, normal_lua, normal_duration, NORMAL_CONNECTIONS)
    baseline.update(cpu.read())
    baseline.update(run="normal_alone", connections=NORMAL_CONNECTIONS, wrk_output=raw,
                    elapsed_s=round(cpu.elapsed_s, 2))
    return baseline


def loaded_phase(url: str, background: tuple[Path, int, str], normal_lua: Path,
                 server: Server, args) -> dict:
    """A background load for ``slow_duration`` s, the normal search in its middle 8 s."""
    bg_lua, bg_connections, label = background
    offset = (args.slow_duration - args.normal_duration) / 2
    cpu = CpuSpan(server.proc.pid)
    procs = []
    try:
        started = time.monotonic()
        procs.append(start_wrk(url, bg_lua, args.slow_duration, bg_connections,
                               timeout=WRK_TIMEOUT))
        time.sleep(max(0.0, started + offset - time.monotonic()))
        normal_started = time.monotonic()
        procs.append(start_wrk(url, normal_lua, args.normal_duration, NORMAL_CONNECTIONS))
        normal, normal_raw = finish_wrk(procs[1], args.normal_duration)
        bg, bg_raw = finish_wrk(procs[0], args.slow_duration)
    finally:
        for proc in procs:
            stop_wrk(proc)  # no-op for a finished wrk
    phase = cpu.read()  # "other_cpu_s": other load on the machine (noise)
    normal["started_after_s"] = round(normal_started - started, 3)
    bg.update(run=label, connections=bg_connections, wrk_output=bg_raw)
    normal.update(run=f"normal_under_{label}", connections=NORMAL_CONNECTIONS,
                  wrk_output=normal_raw)
    if server.proc.poll() is not None:
        raise BenchError(f"the simulator exited during the {label} load:\n{server.tail()}")
    phase.update(background=bg, normal=normal, elapsed_s=round(cpu.elapsed_s, 2))
    return phase
