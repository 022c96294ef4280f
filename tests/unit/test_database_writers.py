"""Writers of one SQLite file queue on ``<file>-writer.lock`` (simulator/store/database.py,
issue 15): a transaction that finds another process writing waits for it, in a native
thread under gevent, and its worker's other requests go on meanwhile."""
from __future__ import annotations

import subprocess
import sys
import textwrap

HANG_GUARD = 120  # seconds: a hung probe fails the test instead of hanging the suite

# A child process holds a write transaction until the parent says so; meanwhile the
# parent (a gevent worker) starts a transaction, which must wait for the child without
# an error, while another greenlet of the parent reads. Only then the child commits.
PROBE = textwrap.dedent("""\
    import os, sys, tempfile
    from pathlib import Path
    from simulator.store.database import Database
    path = Path(tempfile.mkdtemp()) / "probe.db"
    db = Database(path, "CREATE TABLE IF NOT EXISTS t (who TEXT)")
    holding_r, holding_w = os.pipe()
    go_r, go_w = os.pipe()
    child = os.fork()
    if child == 0:
        with db.transaction() as conn:
            conn.execute("INSERT INTO t VALUES ('child')")
            os.write(holding_w, b"x")
            os.read(go_r, 1)  # held until the parent has seen its read go through
        os._exit(0)
    from gevent import monkey
    monkey.patch_all()
    import gevent
    os.read(holding_r, 1)
    import fcntl
    probe = os.open(f"{path}-writer.lock", os.O_RDWR)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        print("the child's transaction does not hold the writers' file")
    except BlockingIOError:
        pass
    os.close(probe)
    events = []

    def writer():
        with db.transaction() as conn:
            events.append("parent writes")
            conn.execute("INSERT INTO t VALUES ('parent')")

    def reader():
        gevent.sleep(0.05)
        events.append(f"read {db.execute('SELECT count(*) FROM t')[0][0]}")
        os.write(go_w, b"x")  # now the child may commit

    gevent.joinall([gevent.spawn(writer), gevent.spawn(reader)], raise_error=True)
    os.waitpid(child, 0)
    rows = [r[0] for r in db.execute("SELECT who FROM t ORDER BY rowid")]
    print(f"events={events} rows={rows}")
    """)


def test_a_writer_waits_for_another_process_s_transaction_and_its_worker_goes_on():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          timeout=HANG_GUARD)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    # The read ran (and saw nothing committed) while the writer waited; the writer then
    # wrote after the child's commit.
    assert done.stdout.strip() == \
        "events=['read 0', 'parent writes'] rows=['child', 'parent']", done.stdout


def test_the_threads_of_a_process_take_turns(tmp_path):
    import threading

    from simulator.store.database import Database
    db = Database(tmp_path / "state.db", "CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    inside, peak, errors = [0], [0], []

    def write(number: int) -> None:
        try:
            for _ in range(20):
                with db.transaction() as conn:
                    inside[0] += 1
                    peak[0] = max(peak[0], inside[0])
                    conn.execute("INSERT INTO t VALUES (?)", (number,))
                    inside[0] -= 1
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and peak[0] == 1
    assert db.execute("SELECT count(*) FROM t")[0][0] == 80
    assert db.writer._fd is None  # the lock file is closed between transactions
