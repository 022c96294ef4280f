"""One SQLite database file: a connection per process, a lock, transactions."""
from __future__ import annotations

import _thread
import logging
import os
import sqlite3
import sys
import threading
import time
import weakref
from pathlib import Path

from simulator.ports.errors import StorageFull

LOG = logging.getLogger(__name__)
CHECKPOINT_INTERVAL = 1.0  # seconds between WAL checkpoints of a process
BUSY_TIMEOUT = 10.0  # seconds a statement or a transaction waits for another's write lock
# Waits between two tries of BEGIN IMMEDIATE while another process writes: short at
# first (a DMP write holds the lock for a few hundred µs), then at most this.
_BEGIN_FIRST_PAUSE, _BEGIN_MAX_PAUSE = 0.0002, 0.005


def _os_lock():
    """A lock of the operating system even where gevent patched ``_thread``: a native
    thread of gevent's pool holds it."""
    if "gevent" in sys.modules:
        from gevent import monkey
        return monkey.get_original("_thread", "allocate_lock")()
    return _thread.allocate_lock()


# A fork waits for a checkpoint that another thread of the process is running. A child
# forked while that thread was inside SQLite would inherit SQLite's mutexes (its memory
# allocator's among them) locked by a thread the child does not have, and hang at its
# first query: gunicorn's master forks its workers while its checkpointer runs, and a
# test that forks "workers" hung once (suspected cause).
_CHECKPOINT_RUNNING = _os_lock()
os.register_at_fork(before=_CHECKPOINT_RUNNING.acquire,
                    after_in_parent=_CHECKPOINT_RUNNING.release,
                    after_in_child=_CHECKPOINT_RUNNING.release)


def _is_full(error: BaseException) -> bool:
    return isinstance(error, sqlite3.OperationalError) and (
        getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        or "database or disk is full" in str(error))


def _storage_full(error: BaseException) -> StorageFull:
    return StorageFull(f"the simulator's storage is full ({error})")


class Database:
    """A SQLite file in WAL mode, shared by threads and by forked worker processes."""

    def __init__(self, path: Path, schema: str, synchronous: str = "NORMAL",
                 page_size: int | None = None):
        self.path = Path(path)
        self.synchronous = synchronous
        # Bytes per page of a file this creates (None: SQLite's 4,096); a file that
        # exists keeps its own, since WAL mode cannot change it.
        self.page_size = page_size
        self._lock: tuple[int, threading.RLock] | None = None
        self._conn: sqlite3.Connection | None = None
        self._pid: int | None = None
        self._checkpoint_conn: tuple[int, sqlite3.Connection] | None = None
        # The pid of the process whose checkpoint runs on that connection, outside the
        # lock: close() then leaves the connection to the checkpoint, which closes it
        # when done (closing a connection another thread was using crashed the process).
        self._checkpointing: int | None = None
        self.cache_kib: int | None = None  # None: SQLite's default page cache (2 MB)
        with self.lock:
            self.connection().executescript(schema)

    @property
    def lock(self):
        """This process's lock on the connection. Made in the process that uses it: the
        app is built in gunicorn's master before the gevent worker patches threading, so
        a lock made then is a thread lock, which two greenlets of one worker (one thread)
        could both hold; made after the patch it is gevent's cooperative RLock."""
        if self._lock is None or self._lock[0] != os.getpid():
            self._lock = (os.getpid(), threading.RLock())
        return self._lock[1]

    def connection(self) -> sqlite3.Connection:
        """This process's connection (call with ``lock`` held)."""
        # A connection must never cross a fork (gunicorn preloads the app in the master).
        if self._conn is None or self._pid != os.getpid():
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, check_same_thread=False,
                                   isolation_level=None)
            if self.page_size is not None:  # before WAL mode: only a new file takes it
                conn.execute(f"PRAGMA page_size={int(self.page_size)}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
            if self.cache_kib is not None:
                conn.execute(f"PRAGMA cache_size=-{int(self.cache_kib)}")
            # No checkpoint inside COMMIT: SQLite's automatic one runs there, and when it
            # fails (a full disk: a checkpoint grows the main file) COMMIT reports the
            # error although the transaction was committed (sqlite3_wal_hook). The
            # answer would then say "nothing stored" of a stored feed. Checkpoints run
            # beside, every CHECKPOINT_INTERVAL, so that a COMMIT error means not committed.
            conn.execute("PRAGMA wal_autocheckpoint=0")
            self._conn, self._pid = conn, os.getpid()
            _start_checkpointer(self)
        return self._conn

    def set_cache_kib(self, kib: int) -> None:
        """Let each connection's page cache grow to ``kib`` KiB (this process's now, the
        ones opened after a fork when they open)."""
        self.cache_kib = kib
        with self.lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.execute(f"PRAGMA cache_size=-{int(kib)}")

    def checkpoint(self) -> None:
        """Copy the WAL into the database file as far as readers allow (PASSIVE); on a
        full disk it waits for the next turn.

        On a connection of its own, and under gevent in a thread of the hub's pool: the
        copy and its fsync take tens of milliseconds under a stream of feeds, during
        which SQLite's C code would otherwise hold every request of the worker (issue
        15). A PASSIVE checkpoint takes no write lock; the worker keeps reading and
        writing on its own connection meanwhile."""
        with self.lock:
            if self._conn is None or self._pid != os.getpid():
                return
            if self._checkpointing == os.getpid():
                return
            try:
                conn = self._checkpointing_connection()
            except sqlite3.Error as error:  # e.g. the data directory was removed
                LOG.debug("no WAL checkpoint of %s: %s", self.path, error)
                return
            self._checkpointing = os.getpid()

        def run() -> None:
            with _CHECKPOINT_RUNNING:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

        try:
            _off_the_event_loop(run)
        except sqlite3.Error as error:
            if not _is_full(error):
                LOG.warning("WAL checkpoint of %s failed: %s", self.path, error)
        finally:
            with self.lock:
                self._checkpointing = None
                if self._conn is None:  # closed meanwhile: the connection is ours to close
                    conn.close()
                    self._checkpoint_conn = None

    def _checkpointing_connection(self) -> sqlite3.Connection:
        if self._checkpoint_conn is None or self._checkpoint_conn[0] != os.getpid():
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, check_same_thread=False,
                                   isolation_level=None)
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpoint_conn = (os.getpid(), conn)
        return self._checkpoint_conn[1]

    def execute(self, sql: str, params=()) -> list[tuple]:
        """Run one statement (autocommitted) and fetch its rows."""
        with self.lock:
            try:
                return self.connection().execute(sql, params).fetchall()
            except sqlite3.OperationalError as error:
                if _is_full(error):
                    raise _storage_full(error) from error
                raise

    def query(self, sql: str, params=()) -> list[dict]:
        """Run one query and return its rows as dicts."""
        with self.lock:
            cursor = self.connection().execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def transaction(self):
        """Context manager: one immediate (write-locking) transaction."""
        return _Transaction(self)

    def close(self) -> None:
        """Close this process's connection."""
        with self.lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
            if self._checkpointing == os.getpid():
                return  # the running checkpoint closes its connection when it ends
            if self._checkpoint_conn is not None and self._checkpoint_conn[0] == os.getpid():
                self._checkpoint_conn[1].close()
            self._checkpoint_conn = None


class _Transaction:
    def __init__(self, database: Database):
        self._database = database

    def __enter__(self) -> sqlite3.Connection:
        lock = self._database.lock
        lock.acquire()
        try:
            self._conn = self._database.connection()
            _begin_immediate(self._conn, lock)
        except BaseException:
            lock.release()
            raise
        return self._conn

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._conn.execute("ROLLBACK" if exc_type else "COMMIT")
        except sqlite3.OperationalError as error:
            if _is_full(error):
                self._rollback()
                raise _storage_full(error) from error
            raise
        finally:
            self._database.lock.release()
        if exc is not None and _is_full(exc):
            raise _storage_full(exc) from exc

    def _rollback(self) -> None:
        """After a failed COMMIT: end the transaction, so that the connection can serve
        the next one (reads keep working on a full disk)."""
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass


def _begin_immediate(conn: sqlite3.Connection, lock) -> None:
    """``BEGIN IMMEDIATE`` without SQLite's busy handler, which sleeps inside the C
    library: under gevent that froze every request of the worker while another process
    held the write lock (39 % of a feed's time, issue 15). Each try fails at once when the
    lock is taken; the wait between tries is ``time.sleep``, a greenlet switch under
    gevent, with this process's lock released meanwhile so that its reads go on. Gives
    up, as the busy handler did, after BUSY_TIMEOUT seconds. Called with ``lock`` held."""
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        deadline, pause = time.monotonic() + BUSY_TIMEOUT, _BEGIN_FIRST_PAUSE
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if not _is_busy(error) or time.monotonic() >= deadline:
                    raise
            lock.release()
            try:
                time.sleep(pause)
            finally:
                lock.acquire()
            pause = min(pause * 2, _BEGIN_MAX_PAUSE)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)  # an extended code: its low byte
    return (code & 0xFF) == sqlite3.SQLITE_BUSY if code is not None \
        else "database is locked" in str(error)


def _off_the_event_loop(work) -> None:
    """Run ``work`` in a native thread of gevent's pool when this process runs under
    gevent (its greenlet waits, the others go on), else here."""
    if "gevent" in sys.modules:
        from gevent import monkey
        if monkey.is_module_patched("threading"):
            import gevent
            gevent.get_hub().threadpool.apply(work)
            return
    work()


def _start_checkpointer(database: Database) -> None:
    """A daemon thread (a greenlet under gevent) checkpointing ``database`` for this
    process until the database is closed or gone."""
    ref, pid = weakref.ref(database), os.getpid()

    def run() -> None:
        while True:
            time.sleep(CHECKPOINT_INTERVAL)
            database = ref()
            if database is None or database._pid != pid or database._conn is None:
                return
            database.checkpoint()
            del database

    threading.Thread(target=run, daemon=True, name="wal-checkpoint").start()
