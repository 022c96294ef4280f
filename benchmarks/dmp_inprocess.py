"""Server CPU per DMP request in-process, without HTTP: a steadier figure than wrk's on a
shared machine (the main thread's CPU time, best of 3 batches).

    .venv/bin/python benchmarks/dmp_inprocess.py [--ops td0.2,td0.3,td3.2,td3.1,td2.1]
        [--documents 10,100,1000] [--over 1000] [--requests 300]
    .venv/bin/python benchmarks/dmp_inprocess.py --callgrind [--ops ...] [--requests 300]
    .venv/bin/python benchmarks/dmp_inprocess.py --cprofile td0.2 [--requests 300]

The simulator is built by ``create_app`` on a fresh data dir (SIM_DATE frozen at
dmp_bench's date, signatures relaxed unless ``--strict``), the DMP state is made with the
load tests' builders (TD1.1, TD0.3 for the EAI and a physician, N TD2.1 feeds), and each
request is sent to the WSGI app directly, its answer checked (HTTP 200). TD2.1 bodies are
built (and signed) before the timing. ``--over N``: a TD3.1 on N documents with
SIM_DMP_MAX_RESULTS at N // 2 (XDSTooManyResults). Pointing PYTHONPATH at another
checkout measures that code with the same requests. Prints one JSON object.

``--callgrind`` runs each operation (on a 10-document DMP) in its own process under
valgrind's callgrind, collecting only while ``--requests`` requests run, after a warm-up
and ``gc.freeze()`` (as ``insi_profile.py --callgrind`` does), with the batches of
journal, metrics and usage written when full rather than on their timer: instructions
per request, which other load on the machine does not change (use a multiple of 64
requests, 128 by default there, so that every run writes the same batches). ``--cprofile OP`` prints where one
operation spends its time (read the shares: cProfile slows every Python call).
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
os.environ.setdefault("LOCUST_SKIP_MONKEY_PATCH", "1")
sys.path.insert(0, str(HERE.parent / "loadtests"))
import dmp_answers  # noqa: E402
import dmp_soap  # noqa: E402
import dmp_xds  # noqa: E402
from dmp_load import PATIENTS, PlatformClock, Session, hospital_eai, physician  # noqa: E402

SIM_DATE = "2024-03-01T10:00:00+01:00"
PATIENT_INS = "297022A02077878"


class Dmp:
    """A simulator in this process with one patient's DMP of ``documents`` feeds."""

    def __init__(self, documents: int, max_results: int, strict: bool):
        os.environ.update(SIM_DATE=SIM_DATE, SIM_FROZEN="true",
                          SIM_DMP_MAX_RESULTS=str(max_results),
                          SIM_DMP_RELAXED_SECURITY="false" if strict else "true",
                          SIM_DATA_DIR=tempfile.mkdtemp(prefix="dmp-inprocess-"))
        from simulator.app import create_app
        self.app = create_app()
        clock = PlatformClock("http://unused")
        clock.simulator = False
        clock.frozen_at = datetime.fromisoformat(SIM_DATE).astimezone(timezone.utc)
        self.patient = next(p for p in PATIENTS if p.ins == PATIENT_INS)
        self.eai = Session("http://unused", hospital_eai(), clock, random.Random(1))
        self.doctor = Session("http://unused", physician(random.Random(2)), clock,
                              random.Random(2))
        self.post(dmp_soap.create_request(self.eai, self.patient))
        for session in (self.eai, self.doctor):
            self.post(dmp_soap.authorise_request(session, self.patient))
        for _ in range(documents):
            self.post(dmp_xds.feed_request(self.eai, self.patient))

    def post(self, request) -> tuple[str, str, bytes]:
        """Send one load-test request to the WSGI app; raise unless HTTP 200."""
        environ = {"REQUEST_METHOD": "POST", "SERVER_NAME": "localhost",
                   "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
                   "PATH_INFO": f"{dmp_soap.BASE_PATH}/{request.service}",
                   "CONTENT_TYPE": request.content_type,
                   "CONTENT_LENGTH": str(len(request.body)), "REMOTE_ADDR": "127.0.0.1",
                   "wsgi.input": io.BytesIO(request.body), "wsgi.url_scheme": "http"}
        seen = {}
        body = b"".join(self.app(environ, lambda status, headers, exc=None: seen.update(
            status=status, headers=dict(headers))))
        if not seen["status"].startswith("200"):
            raise RuntimeError(f"{request.service}: {seen['status']} {body[:500]!r}")
        return seen["status"], seen["headers"].get("Content-Type", ""), body


def cpu_us(send, requests: int, clock=time.thread_time) -> float:
    """The main thread's CPU µs per call of ``send``, best of 3 batches (after 20);
    another ``clock`` (``time.perf_counter``: wall-clock µs) measures by it instead."""
    for _ in range(20):
        send()
    best = float("inf")
    for _ in range(3):
        started = clock()
        for _ in range(requests // 3):
            send()
        best = min(best, (clock() - started) / (requests // 3) * 1e6)
    return round(best, 1)


def sender(op: str, documents: int, args, max_results: int = 100_000, extra: int = 25):
    """A function sending one request of ``op`` to a fresh DMP of ``documents`` (TD2.1:
    ``args.requests + extra`` feeds built beforehand, one per call)."""
    dmp = Dmp(documents, max_results, args.strict)
    doctor, patient = dmp.doctor, dmp.patient
    if op == "td2.1":
        feeds = [dmp_xds.feed_request(dmp.eai, patient) for _ in range(args.requests + extra)]
        return lambda: dmp.post(feeds.pop())
    if op == "td3.2":
        _, content_type, body = dmp.post(dmp_xds.find_request(doctor, patient))
        found, _ = dmp_answers.expect_documents(patient)(*dmp_answers.unpack(content_type,
                                                                             body))
        request = dmp_xds.retrieve_request(doctor, patient, found[0])
    else:
        request = {"td0.2": dmp_soap.existence_request, "td0.3": dmp_soap.authorise_request,
                   "td3.1": dmp_xds.find_request}[op](doctor, patient)
    return lambda: dmp.post(request)


def measure(op: str, documents: int, args, max_results: int = 100_000) -> float:
    """CPU µs per request of ``op`` on a DMP of ``documents``."""
    return cpu_us(sender(op, documents, args, max_results), args.requests)


WARMUP = 40  # requests before a callgrind or cProfile collection


def settle() -> None:
    """As ``insi-dmp-sim serve`` does once the app is built: the heap so far is frozen."""
    gc.collect()
    gc.freeze()


def batches_by_count() -> None:
    """Journal, metrics and usage batches written when full (64 items), never on the
    0.2 s timer: under valgrind, requests are slow, and how many timed writes fall in
    the collection moved the counts by several percent from run to run."""
    from simulator.batching import ProcessBatcher
    for batcher in (o for o in gc.get_objects() if isinstance(o, ProcessBatcher)):
        batcher.interval = 3600.0


def callgrind_inner(op: str, args) -> None:
    """Under callgrind: warm up, then collect only while ``args.requests`` requests run."""
    # The clock and scenario cache's bound (1 s) would expire every few requests under
    # valgrind; at full speed it expires once in thousands of requests.
    os.environ["SIM_STATE_CACHE_SECONDS"] = "3600"
    send = sender(op, 10, args, extra=WARMUP + 5)
    batches_by_count()
    for _ in range(WARMUP):
        send()
    settle()

    def instrument(flag: str) -> None:
        subprocess.run(["callgrind_control", "-i", flag, str(os.getpid())], check=True,
                       capture_output=True, timeout=120)
    instrument("on")
    for _ in range(args.requests):
        send()
    instrument("off")


def callgrind(ops: list[str], args) -> dict:
    """Instructions per request of each operation, each in its own valgrind process."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("dmp_inprocess: valgrind (callgrind) is not installed")
    result = {}
    workdir = Path(tempfile.mkdtemp(prefix="dmp-callgrind-"))
    try:
        for op in ops:
            out = workdir / f"callgrind.{op}"
            argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                    f"--callgrind-out-file={out}", sys.executable, __file__, "--inner", op,
                    "--requests", str(args.requests)] + (["--strict"] if args.strict else [])
            # A fixed hash seed: dict and set layouts, so the counts, repeat between runs.
            env = dict(os.environ, PYTHONHASHSEED="0")
            done = subprocess.run(argv, capture_output=True, text=True, timeout=3600, env=env)
            collected = re.search(r"Collected : (\d+)", done.stderr)
            if done.returncode != 0 or collected is None:
                raise SystemExit(f"dmp_inprocess: callgrind run of {op} failed:\n"
                                 f"{done.stderr[-2000:]}")
            result[op] = round(int(collected.group(1)) / args.requests)
            print(f"{op}: {result[op]:,} instructions per request", file=sys.stderr,
                  flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def profile(op: str, args, top: int = 45) -> None:
    """cProfile of ``args.requests`` requests of ``op``, by cumulative then own time."""
    send = sender(op, 10, args, extra=WARMUP + 5)
    for _ in range(WARMUP):
        send()
    settle()
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [send() for _ in range(args.requests)])
    for key in ("cumulative", "tottime"):
        pstats.Stats(profiler).sort_stats(key).print_stats(top)


def main(argv=None) -> int:
    """Measure, print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", default="td0.2,td0.3,td3.2,td3.1,td2.1")
    parser.add_argument("--documents", default="10,100,1000", help="DMP sizes for td3.1")
    parser.add_argument("--over", type=int, default=1000, help="0: no over-limit TD3.1")
    parser.add_argument("--requests", type=int, default=None,
                        help="measured requests (300; 128 under --callgrind)")
    parser.add_argument("--strict", action="store_true", help="verify signatures")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--callgrind", action="store_true",
                      help="instructions per request (valgrind), 10-document DMP")
    mode.add_argument("--cprofile", metavar="OP", help="where OP spends its time")
    mode.add_argument("--inner", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.requests is None:
        args.requests = 128 if args.callgrind or args.inner else 300
    ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    if args.inner:
        callgrind_inner(args.inner, args)
        return 0
    if args.cprofile:
        profile(args.cprofile, args)
        return 0
    import simulator
    out: dict = {"code": str(Path(simulator.__file__).parent.parent), "strict": args.strict}
    if args.callgrind:
        out["instructions_per_request"] = callgrind(ops, args)
        print(json.dumps(out, indent=2))
        return 0
    out["cpu_us_per_request"] = {}
    for op in ops:
        sizes = [int(n) for n in args.documents.split(",")] if op == "td3.1" else [10]
        for size in sizes:
            requests = args.requests if size < 1000 else max(30, args.requests // 10)
            out["cpu_us_per_request"][f"{op}@{size}"] = measure(
                op, size, argparse.Namespace(**{**vars(args), "requests": requests}))
    if args.over:
        out["cpu_us_per_request"][f"td3.1-over@{args.over}"] = measure(
            "td3.1", args.over, argparse.Namespace(**{**vars(args), "requests": 60}),
            max_results=args.over // 2)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
