"""The PostgreSQL driver cooperates with gevent (docs/storage.md, "Why pg8000"): in a
gevent-patched process, like a gunicorn gevent worker, a query waiting on the server lets
the worker's other greenlets run. Run in a child process, patched before anything else."""
from __future__ import annotations

import subprocess
import sys

CHILD = r"""
from gevent import monkey
monkey.patch_all()
import sys
import gevent
from simulator.store.pg_pool import ConnectionPool, PgDatabase

db = PgDatabase(ConnectionPool(sys.argv[1], size=2))
db.execute("SELECT 1")  # connected before the race
events = []

def ticker():
    for _ in range(200):
        events.append("tick")
        gevent.sleep(0.005)

def sleeper():
    events.append("query-start")
    db.execute("SELECT pg_sleep(0.3)")
    events.append("query-end")

gevent.joinall([gevent.spawn(sleeper), gevent.spawn(ticker)])
start, end = events.index("query-start"), events.index("query-end")
print(events[start:end].count("tick"))
"""


def test_a_waiting_query_lets_other_greenlets_run(postgres_server):
    ran = subprocess.run([sys.executable, "-c", CHILD, postgres_server], capture_output=True,
                         text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    # A driver blocking the process would let no tick happen while the query waits.
    assert int(ran.stdout.split()[-1]) > 0
