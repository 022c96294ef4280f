"""What a TD2.1 feed writes to SQLite, and what the writing costs, in-process.

    .venv/bin/python benchmarks/feed_writes.py [--feeds 200] [--documents 10]

Builds the simulator in this process as ``dmp_inprocess.py`` does (signatures relaxed),
with the WAL checkpoints held back, and sends ``--feeds`` load-test feeds after a
warm-up. Prints:

- each kind of SQL statement's wall-clock µs per feed and its share of the feed's time
  in the same run (``sqlite3.connect`` is given a timing connection class);
- the WAL frames each feed added to the state file, by the b-tree the page belongs to
  (read from the WAL's frame headers, named through SQLite's ``dbstat`` table) and by
  kind of page (leaf, interior, overflow).

A figure of one run only: compare shares, not absolute µs, between machines.
"""
from __future__ import annotations

import argparse
import collections
import os
import sqlite3
import struct
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
WAL_HEADER, FRAME_HEADER = 32, 24


class _TimedConnection(sqlite3.Connection):
    """A connection adding each statement's wall-clock time to ``TIMES``."""

    def execute(self, sql, *args):
        started = time.perf_counter()
        try:
            return super().execute(sql, *args)
        finally:
            _add(sql, time.perf_counter() - started)

    def executemany(self, sql, *args):
        started = time.perf_counter()
        try:
            return super().executemany(sql, *args)
        finally:
            _add("(many) " + sql, time.perf_counter() - started)


TIMES: dict[str, list] = collections.defaultdict(lambda: [0, 0.0])


def _add(sql: str, seconds: float) -> None:
    entry = TIMES[" ".join(sql.split())[:72]]
    entry[0] += 1
    entry[1] += seconds


def _timed_connect(connect):
    def timed(*args, **kwargs):
        kwargs["factory"] = _TimedConnection
        return connect(*args, **kwargs)
    return timed


def wal_pages(wal: Path) -> tuple[int, list[int]]:
    """(the page size, the page number of every frame) of a WAL file, from its header
    and frame headers."""
    data = wal.read_bytes()
    if len(data) < WAL_HEADER:
        return 0, []
    page_size = struct.unpack(">I", data[8:12])[0]
    frame = FRAME_HEADER + page_size
    return page_size, [struct.unpack(">I", data[offset:offset + 4])[0]
                       for offset in range(WAL_HEADER, len(data) - frame + 1, frame)]


def page_owners(database: Path) -> dict[int, tuple[str, str]]:
    """Page number -> (table or index, page type) of a database file (its WAL read)."""
    with sqlite3.connect(database) as conn:
        return {pageno: (name, kind) for name, pageno, kind in
                conn.execute("SELECT name, pageno, pagetype FROM dbstat")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--documents", type=int, default=10)
    args = parser.parse_args(argv)

    import simulator.store.database as database
    database.CHECKPOINT_INTERVAL = 3600.0  # the WAL keeps every frame of the run
    sqlite3.connect = _timed_connect(sqlite3.connect)
    import dmp_inprocess

    class Options:
        requests, strict = args.feeds, False
    send = dmp_inprocess.sender("td2.1", args.documents, Options, extra=60)
    for _ in range(40):
        send()
    from simulator.store.sqlite import STATE_FILE
    state = Path(os.environ["SIM_DATA_DIR"]) / STATE_FILE
    wal = Path(f"{state}-wal")
    frames_before = len(wal_pages(wal)[1])
    TIMES.clear()
    started = time.perf_counter()
    for _ in range(args.feeds):
        send()
    feed_us = (time.perf_counter() - started) / args.feeds * 1e6

    print(f"a feed: {feed_us:,.0f} µs of wall-clock time in-process ({args.feeds} feeds)")
    print("\nSQL statements, µs per feed and share of the feed's time:")
    total = 0.0
    for sql, (count, seconds) in sorted(TIMES.items(), key=lambda item: -item[1][1]):
        per_feed = seconds / args.feeds * 1e6
        total += per_feed
        if per_feed >= 1.0:
            print(f"  {per_feed:8.1f}  {per_feed / feed_us:6.1%}  x{count / args.feeds:4.2f}  {sql}")
    print(f"  {total:8.1f}  {total / feed_us:6.1%}  all statements")

    page_size, pages = wal_pages(wal)
    pages = pages[frames_before:]
    owners = page_owners(state)
    by_tree = collections.Counter(owners.get(page, ("(freed or new)", "?")) for page in pages)
    print(f"\nWAL frames a feed adds to {state.name}: {len(pages) / args.feeds:.1f} of "
          f"{page_size:,} bytes, by b-tree and page type:")
    for (name, kind), count in by_tree.most_common():
        print(f"  {count / args.feeds:6.2f}  {name} ({kind})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
