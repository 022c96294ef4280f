"""The floor of a TD2.1 feed on this machine: the primitives no feed can skip, measured in
the same run as a whole feed, so that the distance to 1,000 feeds a second is stated from
figures of one machine and one minute (issue 15).

    .venv/bin/python benchmarks/feed_floor.py [--requests 300] [--rounds 3]

Each figure is the main thread's CPU µs per operation, best of 3 batches (as
dmp_inprocess.py) and of ``--rounds`` rounds over every operation in turn, on the load
tests' feed (loadtests/dmp_xds.py: a 29 kB CDA discharge letter and its lot signature,
a 50 kB MTOM request):

- ``soap_parse``: lxml parse of the request's SOAP part (the simulator's safe parser);
- ``cda_parse``: lxml parse of the CDA document;
- ``sha1``: SHA-1 of the CDA document's bytes;
- ``sqlite_insert``: one INSERT of the document's bytes in its own transaction
  (``BEGIN IMMEDIATE`` .. ``COMMIT``) into a SQLite file in WAL mode with
  ``synchronous=NORMAL``, the simulator's settings (durable against a crash of the
  process; ``sqlite_insert_full``: ``synchronous=FULL``, an fsync per commit, against a
  power loss too: that one includes a disk flush, whose time is not CPU time, so its
  wall-clock µs are given);
- ``echo``: the bare spyne SOAP 1.2 echo of benchmarks/echo_service.py through WSGI;
- ``feed``: a whole feed through the simulator's WSGI app, signatures relaxed.

``floor`` is the sum of the primitives (the SHA-1 once, the parses once, one insert, the
echo's HTTP-less SOAP round), and ``feeds_per_s_at_floor_2_cores`` what two cores could
do at that cost, HTTP and the load generator left out. Prints one JSON object.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
import dmp_inprocess  # noqa: E402  (its Dmp and cpu_us)
from dmp_inprocess import Dmp, cpu_us  # noqa: E402


def feed_parts(dmp: Dmp) -> tuple[bytes, bytes]:
    """(SOAP part, CDA bytes) of one load-test feed."""
    from simulator.soap.mtom import split_related
    from simulator.soap.parsing import content_type_parts
    request = dmp_inprocess.dmp_xds.feed_request(dmp.eai, dmp.patient)
    _, params = content_type_parts(request.content_type)
    root, attachments = split_related(request.body, params)
    cda = max(attachments.values(), key=len)
    return root, cda


def sqlite_insert(path: Path, synchronous: str, content: bytes):
    """A function inserting ``content`` in its own write transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("CREATE TABLE IF NOT EXISTS docs (id INTEGER PRIMARY KEY, content BLOB)")

    def insert() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO docs (content) VALUES (?)", (content,))
        conn.execute("COMMIT")
    return insert


def echo_sender():
    """A function sending the bare echo's request through WSGI."""
    from benchmarks.echo_service import REQUEST_BODY, application
    body = REQUEST_BODY.encode()

    def send() -> None:
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "QUERY_STRING": "",
                   "CONTENT_TYPE": "application/soap+xml; charset=utf-8",
                   "CONTENT_LENGTH": str(len(body)), "SERVER_NAME": "127.0.0.1",
                   "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
                   "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body)}
        b"".join(application(environ, lambda status, headers, exc=None: None))
    return send


def main(argv=None) -> int:
    """Measure, print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    from lxml import etree
    from simulator.soap.parsing import safe_parser
    n = args.requests
    feed = dmp_inprocess.sender("td2.1", 10, argparse.Namespace(
        requests=args.rounds * (n + 20), strict=False))
    soap, cda = feed_parts(Dmp(0, 1000, False))
    workdir = Path(tempfile.mkdtemp(prefix="feed-floor-"))
    operations = {
        "soap_parse": lambda: etree.fromstring(soap, safe_parser()),
        "cda_parse": lambda: etree.fromstring(cda, safe_parser()),
        "sha1": lambda: hashlib.sha1(cda).hexdigest(),
        "sqlite_insert": sqlite_insert(workdir / "normal.db", "NORMAL", cda),
        "echo": echo_sender(),
        "feed": feed,
    }
    rounds = [{name: cpu_us(call, n) for name, call in operations.items()}
              for _ in range(args.rounds)]
    figures = {name: min(r[name] for r in rounds) for name in operations}
    full = sqlite_insert(workdir / "full.db", "FULL", cda)
    floor = round(sum(v for k, v in figures.items() if k != "feed"), 1)
    out = {"cpu_us": figures, "cpu_us_by_round": rounds,
           "sqlite_insert_full_wall_us": cpu_us(full, min(n, 60), clock=time.perf_counter),
           "bytes": {"soap_part": len(soap), "cda": len(cda)}, "floor_us": floor,
           "feed_over_floor": round(figures["feed"] / floor, 2),
           "feeds_per_s_at_floor_2_cores": round(2e6 / floor),
           "feeds_per_s_at_feed_cost_2_cores": round(2e6 / figures["feed"]),
           "load_average": os.getloadavg()}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
