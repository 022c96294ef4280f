"""What one INSi traits search costs the simulator's code, in-process, against the bare
spyne echo: repeatable figures for a shared machine, where wrk's throughput is noisy.

    .venv/bin/python benchmarks/insi_profile.py [--requests 3000] [--repeat 5]
    .venv/bin/python benchmarks/insi_profile.py --callgrind [--requests 300]
    .venv/bin/python benchmarks/insi_profile.py --cprofile [--target insi] [--top 40]

Both WSGI applications are called directly, without gunicorn and gevent (the same
~115 µs per request for both under ``insi-dmp-sim serve``, issue 15), with the bodies of
benchmarks/insi_bench.py; every answer is checked. After a warm-up of 300 requests:

- by default: CPU time (``time.process_time``, this process's threads, the batch
  flushers included) of ``--requests`` requests, the best of ``--repeat`` rounds that
  alternate the two targets, in µs per request;
- ``--callgrind``: each target in its own process under valgrind's callgrind, collecting
  only while the requests run (``callgrind_control -i on/off``): instructions per
  request, which other load on the machine does not change (valgrind must be
  installed; about 2 minutes at 300 requests);
- ``--cprofile``: the functions where one target spends its time (cProfile adds its own
  cost to every Python call: read the shares, not the absolute times).

The simulator runs on a fresh data directory with a population of 100, at a frozen
date, like the wire tests; after the warm-up the heap is frozen (``gc.freeze()``) as
the server does after building the app.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from benchmarks.echo_service import REQUEST_BODY as ECHO_BODY  # noqa: E402
from benchmarks.insi_bench import CONTENT_TYPE, ECHO_EXPECT, INSI_BODY, INSI_EXPECT  # noqa: E402

WARMUP = 300
TARGETS = ("insi", "echo")


def build(target: str, workdir: Path):
    """(WSGI application, path, body, expected text) of a target."""
    if target == "echo":
        from benchmarks.echo_service import application
        return application, "/", ECHO_BODY.encode(), ECHO_EXPECT.encode()
    from simulator.app import create_app
    from simulator.settings import Settings, parse_datetime
    settings = Settings(data_dir=workdir / "data", population=100, frozen=True,
                        date=parse_datetime("2024-01-15T10:00:00Z"))
    return create_app(settings), "/lps", INSI_BODY.encode(), INSI_EXPECT.encode()


def settle() -> None:
    """As ``insi-dmp-sim serve`` does once the app is built (simulator/server.py): what
    exists now is moved out of the collector's reach."""
    gc.collect()
    gc.freeze()


def runner(app, path: str, body: bytes, expect: bytes):
    """A function sending ``n`` requests to ``app`` and checking each answer."""
    base = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "",
            "CONTENT_TYPE": CONTENT_TYPE, "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http"}
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def run(n: int) -> None:
        for _ in range(n):
            environ = dict(base)
            environ["wsgi.input"] = io.BytesIO(body)
            answer = b"".join(app(environ, start_response))
            if not statuses.pop().startswith("200") or expect not in answer:
                raise SystemExit(f"unexpected answer from {path}: {answer[:300]!r}")
    return run


def cpu_per_request(requests: int, repeat: int, workdir: Path) -> dict:
    """Best CPU µs per request of each target over ``repeat`` alternating rounds."""
    runs = {}
    for target in TARGETS:
        run = runner(*build(target, workdir))
        run(WARMUP)
        runs[target] = run
    settle()
    best = {target: [] for target in TARGETS}
    for _ in range(repeat):
        for target in TARGETS:
            started = time.process_time()
            runs[target](requests)
            best[target].append((time.process_time() - started) / requests * 1e6)
    return {target: {"best_us": round(min(v), 1), "max_us": round(max(v), 1)}
            for target, v in best.items()}


def callgrind_inner(target: str, requests: int, workdir: Path) -> None:
    """Under callgrind: warm up, then collect only while ``requests`` requests run."""
    run = runner(*build(target, workdir))
    run(WARMUP)
    settle()

    def instrument(flag: str) -> None:
        subprocess.run(["callgrind_control", "-i", flag, str(os.getpid())], check=True,
                       capture_output=True, timeout=120)
    instrument("on")
    run(requests)
    instrument("off")


def callgrind(requests: int, workdir: Path) -> dict:
    """Instructions per request of each target, each in its own valgrind process."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("insi_profile: valgrind (callgrind) is not installed")
    result = {}
    for target in TARGETS:
        out = workdir / f"callgrind.{target}"
        argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                f"--callgrind-out-file={out}", sys.executable, __file__, "--inner", target,
                "--requests", str(requests)]
        # A fixed hash seed: dict and set layouts, and so the counts, repeat from run to run.
        env = dict(os.environ, PYTHONHASHSEED="0")
        done = subprocess.run(argv, capture_output=True, text=True, timeout=1800, env=env)
        collected = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or collected is None:
            raise SystemExit(f"insi_profile: callgrind run of {target} failed:\n"
                             f"{done.stderr[-2000:]}")
        result[target] = round(int(collected.group(1)) / requests)
        print(f"{target}: {result[target]:,} instructions per request", flush=True)
    return result


def profile(target: str, requests: int, top: int, workdir: Path) -> None:
    """cProfile of ``requests`` requests of ``target``, by cumulative then own time."""
    run = runner(*build(target, workdir))
    run(WARMUP)
    settle()
    profiler = cProfile.Profile()
    profiler.runcall(run, requests)
    for key in ("cumulative", "tottime"):
        pstats.Stats(profiler).sort_stats(key).print_stats(top)


def main(argv=None) -> int:
    """Parse the options, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=None,
                        help="measured requests per round (3000; 300 under callgrind)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (CPU time mode)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--callgrind", action="store_true", help="instructions per request")
    mode.add_argument("--cprofile", action="store_true", help="where the time goes")
    mode.add_argument("--inner", choices=TARGETS, help=argparse.SUPPRESS)
    parser.add_argument("--target", choices=TARGETS, default="insi", help="with --cprofile")
    parser.add_argument("--top", type=int, default=40, help="functions shown by --cprofile")
    args = parser.parse_args(argv)
    requests = args.requests or (300 if args.callgrind or args.inner else 3000)
    if not 1 <= requests <= 100_000 or not 1 <= args.repeat <= 50:
        parser.error("requests 1..100000, repeat 1..50")
    workdir = Path(tempfile.mkdtemp(prefix="insi-profile-"))
    try:
        if args.inner:
            callgrind_inner(args.inner, requests, workdir)
        elif args.callgrind:
            counts = callgrind(requests, workdir)
            print(f"INSi / echo instructions per request: {counts['insi'] / counts['echo']:.2f}x"
                  f" ({requests} requests each, after {WARMUP} of warm-up)")
        elif args.cprofile:
            profile(args.target, requests, args.top, workdir)
        else:
            cpu = cpu_per_request(requests, args.repeat, workdir)
            for target, figures in cpu.items():
                print(f"{target}: {figures['best_us']} µs CPU per request (best of "
                      f"{args.repeat}; worst {figures['max_us']})")
            print(f"INSi / echo CPU per request: "
                  f"{cpu['insi']['best_us'] / cpu['echo']['best_us']:.2f}x (best rounds)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
