"""Where a TD2.1 feed's CPU time goes, step by step, in-process.

    .venv/bin/python benchmarks/feed_stages.py [--feeds 300] [--documents 10]

Builds the simulator in this process as ``dmp_inprocess.py`` does (signatures relaxed)
and sends ``--feeds`` load-test feeds (50 kB CDA over MTOM) after a warm-up, with each
step of the feed's path wrapped in a CPU-time counter (``time.thread_time``): the SOAP
and MTOM parse, the caller's context (VIHF, addressing, patient), the reading of the
ebRIM objects, the checks (of which the CDA's and the lot signature's), the planning,
the stored rows and fragments, the write transaction's statements and its BEGIN and
COMMIT, the answer, the journal's facts and the recording (journal and metrics), and the
garbage collector's passes wherever they fall. Prints each step's µs per
feed and its share of the whole request in the same run; the remainder is what no
step covers (the WSGI entry, routing, the endpoint's own work, the counters).

Each wrapper costs about a microsecond per call: compare shares, not absolute µs,
between machines. Issue 15's TD2.1 target (1,000 feeds/s on 2 workers) needs about
2 ms of CPU a feed at most on this 2-core machine, the load generator's share included.
"""
from __future__ import annotations

import argparse
import collections
import gc
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SPENT: dict[str, float] = collections.defaultdict(float)
GC = "garbage collection (within the steps above and the rest)"

# (label, module, attribute, nested under): the functions as the callers look them up.
STEPS = (
    ("SOAP 1.2 and MTOM parse", "simulator.soap.endpoint", "parse_soap12", None),
    ("caller's context (VIHF, addressing, patient)", "simulator.services.dmp.v2.repository",
     "begin_call", None),
    ("ebRIM objects read", "simulator.services.dmp.v2.repository",
     "parse_provide_and_register", None),
    ("submission checks", "simulator.services.dmp.v2.repository", "check_submission", None),
    ("CDA checks", "simulator.services.dmp.xds.rules", "cda_errors", "submission checks"),
    ("lot signature checks", "simulator.services.dmp.xds.rules", "lot_signature_errors",
     "submission checks"),
    ("INS qualification", "simulator.services.dmp.v2.repository", "check_qualified_ins",
     None),
    ("planning", "simulator.services.dmp.v2.repository", "plan_registration", None),
    ("rows and fragments prepared", "simulator.services.dmp.v2.repository",
     "prepare_registration", None),
    ("statements under the write lock", "simulator.services.dmp.v2.repository",
     "register_checked", None),
)


def _counted(label: str, function):
    def counted(*args, **kwargs):
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            SPENT[label] += time.thread_time() - started
    return counted


def _count_method(label: str, cls, name: str) -> None:
    setattr(cls, name, _counted(label, getattr(cls, name)))


def instrument() -> None:
    """Wrap every step of :data:`STEPS`, the state file's BEGIN and COMMIT, the answer's
    rendering and the recording."""
    import importlib

    for label, module, attribute, _ in STEPS:
        owner = importlib.import_module(module)
        setattr(owner, attribute, _counted(label, getattr(owner, attribute)))
    from simulator.recording import Recorder
    from simulator.services.dmp.binding import DmpBinding
    from simulator.store import database
    from simulator.store.sqlite import STATE_FILE
    from simulator.soap.endpoint import SoapEndpoint
    _count_method("answer rendered", DmpBinding, "render_result")
    _count_method("journal facts (caller, patient)", SoapEndpoint, "_facts")
    _count_method("recording (journal, metrics)", Recorder, "record")
    for name in ("__enter__", "__exit__"):
        original = getattr(database._Transaction, name)

        def step(self, *args, _original=original):
            if self._database.path.name != STATE_FILE:
                return _original(self, *args)
            started = time.thread_time()
            try:
                return _original(self, *args)
            finally:
                SPENT["BEGIN IMMEDIATE and COMMIT (state file)"] += \
                    time.thread_time() - started
        setattr(database._Transaction, name, step)
    collecting = []

    def garbage_collection(phase, _info):
        if phase == "start":
            collecting.append(time.thread_time())
        elif collecting:
            SPENT[GC] += time.thread_time() - collecting.pop()
    gc.callbacks.append(garbage_collection)


def main(argv=None) -> int:
    """Send the feeds, print the steps."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--documents", type=int, default=10)
    args = parser.parse_args(argv)
    import dmp_inprocess

    class Options:
        requests, strict = args.feeds, False
    send = dmp_inprocess.sender("td2.1", args.documents, Options, extra=60)
    instrument()
    for _ in range(40):
        send()
    dmp_inprocess.settle()
    SPENT.clear()
    started = time.thread_time()
    for _ in range(args.feeds):
        send()
    whole = (time.thread_time() - started) / args.feeds * 1e6

    nested = {label: parent for label, _, _, parent in STEPS if parent}
    nested[GC] = "any"
    print(f"a feed: {whole:,.0f} µs of CPU in-process ({args.feeds} feeds, "
          f"{args.documents}-document DMP), by step:")
    covered = 0.0
    for label, seconds in sorted(SPENT.items(), key=lambda item: -item[1]):
        per_feed = seconds / args.feeds * 1e6
        if label not in nested:
            covered += per_feed
        indent = "      of which " if label in nested else "  "
        if label == GC:
            indent = "      across steps "
        print(f"{indent}{per_feed:8.1f}  {per_feed / whole:6.1%}  {label}")
    rest = whole - covered
    print(f"  {rest:8.1f}  {rest / whole:6.1%}  the rest (WSGI entry, endpoint, counters)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
