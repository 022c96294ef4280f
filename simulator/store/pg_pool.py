"""PostgreSQL connections for one process: a small pool made after the fork.

The driver is pg8000, pure Python over the standard ``socket`` module: under gunicorn's
gevent worker the socket is monkey-patched, so a query waiting on the server yields to
the other greenlets of the worker instead of blocking it (docs/storage.md, "Why
pg8000"). Connections never cross a fork: a pool made in gunicorn's master (the app is
preloaded there) is emptied in each worker at its first use, like
:class:`simulator.store.database.Database` does for SQLite.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import pg8000.dbapi
from pg8000.converters import make_params
from pg8000.dbapi import convert_paramstyle

from simulator.ports.errors import StorageFull

DISK_FULL = "53100"  # SQLSTATE disk_full (PostgreSQL, Appendix A)
STATEMENTS_PER_CONNECTION = 256  # prepared statements kept on one connection
OUT_OF_MEMORY = "53200"


class DatabaseUrlError(ValueError):
    """A ``--database-url`` the simulator cannot use; the message says why."""


def connect_arguments(url: str) -> dict:
    """pg8000's connect() arguments of a ``postgresql://user:password@host:port/db``
    URL (``?host=/dir`` for a Unix socket directory, ``?sslmode=`` as libpq's)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise DatabaseUrlError(f"unsupported database URL scheme {parts.scheme!r} "
                               "(postgresql://user:password@host:port/database)")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    arguments: dict[str, object] = {"user": unquote(parts.username or query.pop("user", "") or "postgres"),
                 "database": unquote(parts.path.lstrip("/")) or None,
                 "application_name": "insi-dmp-sim"}
    if parts.password is not None:
        arguments["password"] = unquote(parts.password)
    socket_dir = query.pop("host", None)
    if socket_dir and socket_dir.startswith("/"):
        port = parts.port or 5432
        arguments["unix_sock"] = f"{socket_dir}/.s.PGSQL.{port}"
    else:
        arguments["host"] = parts.hostname or "localhost"
        arguments["port"] = parts.port or 5432
    mode = sslmode(url)
    if mode != "prefer":  # pg8000's own default is libpq's: try TLS, else plain
        arguments["ssl_context"] = ssl_context(mode)
    return arguments


SSL_MODES = ("disable", "prefer", "require", "verify-ca", "verify-full")


def sslmode(url: str) -> str:
    """The URL's libpq ``sslmode``, ``prefer`` when it names none; raises
    :class:`DatabaseUrlError` for a value libpq does not know."""
    mode = parse_qs(urlsplit(url).query).get("sslmode", ["prefer"])[-1]
    if mode not in SSL_MODES:
        raise DatabaseUrlError(f"sslmode={mode!r} is not one of {', '.join(SSL_MODES)}")
    return mode


def ssl_context(mode: str):
    """pg8000's ``ssl_context`` for a known ``sslmode`` other than prefer.

    ``disable`` also saves the time "prefer" spends on every connection making a default
    TLS context, which loads the system's CA certificates (about 45 ms a connection
    here, where the CA bundle is large) before asking a server that may offer no TLS.
    ``require`` encrypts without checking the server's certificate, as libpq does."""
    import ssl

    if mode == "disable":
        return False
    context = ssl.create_default_context()
    context.check_hostname = mode == "verify-full"
    if mode == "require":
        context.verify_mode = ssl.CERT_NONE
    return context


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a pg8000 database error, or None."""
    details = error.args[0] if error.args else None
    return details.get("C") if isinstance(details, dict) else None


def storage_error(error: BaseException) -> BaseException:
    """:class:`StorageFull` for a full disk, else the error itself."""
    if isinstance(error, pg8000.dbapi.DatabaseError) and sqlstate(error) in (
            DISK_FULL, OUT_OF_MEMORY):
        return StorageFull(f"the simulator's storage is full ({error})")
    return error


def quote_identifier(name: str) -> str:
    """``name`` as a PostgreSQL identifier, quoted (for schema names)."""
    return '"' + name.replace('"', '""') + '"'


class ConnectionPool:
    """At most ``size`` connections of this process, made on demand and reused."""

    def __init__(self, url: str, size: int = 8):
        self.arguments = connect_arguments(url)
        self.size = size
        self._pid: int | None = None
        self._idle: list = []
        self._slots: threading.Semaphore | None = None

    def _for_this_process(self) -> threading.Semaphore:
        # Made in the process that uses it, after gevent's patch (see Database.lock).
        if self._pid != os.getpid():
            self._pid, self._idle = os.getpid(), []
            self._slots = threading.Semaphore(self.size)
        assert self._slots is not None
        return self._slots

    def _connect(self):
        conn = pg8000.dbapi.connect(**self.arguments)
        conn.autocommit = True  # transactions are explicit (BEGIN ... COMMIT)
        return conn

    @contextmanager
    def connection(self, schema: str | None = None) -> Iterator:
        """A connection of this process's pool, for one statement or transaction, whose
        ``search_path`` is ``schema`` (a tenant's), or the server's default (None)."""
        slots = self._for_this_process()
        slots.acquire()
        conn = None
        try:
            conn = self._idle.pop() if self._idle else self._connect()
            if getattr(conn, "_sim_schema", None) != schema:
                # One round trip, only when the connection last served another schema.
                # Prepared statements are parsed again under the new search_path
                # (PostgreSQL's documentation of PREPARE, since 9.3).
                conn.execute_simple("SET search_path TO " + (
                    quote_identifier(schema) if schema else "DEFAULT"))
                conn._sim_schema = schema
            yield conn
        finally:
            if conn is not None and self._pid == os.getpid() and _reusable(conn):
                self._idle.append(conn)
            elif conn is not None:
                _close_quietly(conn)
            slots.release()

    def close(self) -> None:
        """Close this process's idle connections."""
        if self._pid != os.getpid():
            return
        while self._idle:
            try:
                self._idle.pop().close()
            except (pg8000.dbapi.InterfaceError, OSError):
                pass


def _reusable(conn) -> bool:
    """Whether a connection can serve the next statement: not broken, not left in the
    middle of an exchange (a greenlet killed while waiting for an answer leaves one
    unread), not left inside a transaction."""
    return getattr(conn, "_sock", None) is not None and not getattr(conn, "_sim_busy", False) \
        and getattr(conn, "_transaction_status", None) in (b"I", None)


def _close_quietly(conn) -> None:
    try:
        conn.close()
    except Exception:  # already broken: the socket goes with it
        pass


class StatementCursor:
    """A cursor running each parameterised statement as a named prepared statement,
    prepared once per connection: one round trip per execution, where pg8000's DB-API
    cursor takes three (Parse, Describe, then Bind and Execute, each with its Sync).
    Statements without parameters use the simple query protocol (one round trip, and
    several statements at once for the schema)."""

    def __init__(self, conn):
        self.conn = conn
        self._context = None
        self._position = 0
        # Advisory locks this cursor's transaction holds (pg_dmp.lock): held to its end,
        # so taking one again costs no round trip.
        self.held_locks = set()  # of int keys

    def _statements(self) -> dict:
        statements = getattr(self.conn, "_sim_statements", None)
        if statements is None:
            statements = self.conn._sim_statements = {}
        return statements

    def execute(self, sql: str, params=()) -> None:
        """Run ``sql`` (``%s`` parameters). The connection is marked busy until the
        server's answer has been read whole (a DatabaseError is raised only then)."""
        self.conn._sim_busy = True
        try:
            self._execute(sql, params)
        except pg8000.dbapi.DatabaseError:
            self.conn._sim_busy = False
            raise
        self.conn._sim_busy = False

    def _execute(self, sql: str, params) -> None:
        self._position = 0
        if not params:
            self._context = self.conn.execute_simple(sql)
            return
        statements = self._statements()
        prepared = statements.get(sql)
        if prepared is None:
            statement, _ = convert_paramstyle("format", sql, params)
            name, columns, input_funcs = self.conn.prepare_statement(statement, ())
            prepared = (statement, name, columns, input_funcs)
            if len(statements) < STATEMENTS_PER_CONNECTION:
                statements[sql] = prepared
        statement, name, columns, input_funcs = prepared
        self._context = self.conn.execute_named(
            name, make_params(self.conn.py_types, tuple(params)), columns, input_funcs,
            statement)

    @property
    def description(self):
        """Column names (DB-API shape: a sequence per column, name first), or None."""
        columns = self._context.columns if self._context is not None else None
        if not columns:
            return None
        return [(column["name"],) for column in columns]

    def fetchall(self) -> list:
        """The remaining rows."""
        rows = (self._context.rows or []) if self._context is not None else []
        remaining, self._position = rows[self._position:], len(rows)
        return remaining

    def fetchone(self):
        """The next row, or None."""
        rows = (self._context.rows or []) if self._context is not None else []
        if self._position >= len(rows):
            return None
        self._position += 1
        return rows[self._position - 1]


class PgDatabase:
    """Statements and transactions on a :class:`ConnectionPool` (``%s`` parameters).

    While a greenlet (or thread) has a transaction open, its other statements run
    inside it, on its connection: as with SQLite's re-entrant lock, a DMP record read
    during a feed's registry transaction sees, and is serialised with, that transaction.
    """

    def __init__(self, pool: ConnectionPool, schema: str | None = None):
        self.pool = pool
        self.schema = schema  # a tenant's schema; None: the server's default search_path
        self._local: tuple[int, threading.local] | None = None

    def _open(self) -> threading.local:
        # Made in the process that uses it, after gevent's patch: greenlet-local then.
        if self._local is None or self._local[0] != os.getpid():
            self._local = (os.getpid(), threading.local())
        return self._local[1]

    def in_transaction(self):
        """The cursor of this greenlet's open transaction, or None."""
        return getattr(self._open(), "cursor", None)

    def execute(self, sql: str, params=()) -> list[tuple]:
        """Run one statement (autocommitted, or in this greenlet's open transaction)
        and fetch its rows, if any."""
        cursor = self.in_transaction()
        if cursor is not None:
            cursor.execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        with self.pool.connection(self.schema) as conn:
            cursor = StatementCursor(conn)
            try:
                cursor.execute(sql, params)
            except pg8000.dbapi.DatabaseError as error:
                raise storage_error(error) from error
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    def query(self, sql: str, params=()) -> list[dict]:
        """Run one query and return its rows as dicts."""
        cursor = self.in_transaction()
        if cursor is not None:
            cursor.execute(sql, params)
            return _dicts(cursor)
        with self.pool.connection(self.schema) as conn:
            cursor = StatementCursor(conn)
            cursor.execute(sql, params)
            return _dicts(cursor)

    @contextmanager
    def transaction(self) -> Iterator:
        """A cursor inside one transaction (READ COMMITTED; take row or advisory locks
        for what must be serialised), committed at the end, rolled back on an error.
        Inside an open transaction of this greenlet, that transaction's cursor."""
        local = self._open()
        if getattr(local, "cursor", None) is not None:
            yield local.cursor
            return
        with self.pool.connection(self.schema) as conn:
            cursor = StatementCursor(conn)
            cursor.execute("BEGIN")
            local.cursor = cursor
            try:
                yield cursor
            except BaseException as error:
                local.cursor = None
                try:
                    cursor.execute("ROLLBACK")
                except pg8000.dbapi.Error:
                    pass
                converted = storage_error(error)
                if converted is not error:
                    raise converted from error
                raise
            local.cursor = None
            try:
                cursor.execute("COMMIT")
            except pg8000.dbapi.DatabaseError as error:
                raise storage_error(error) from error


def _dicts(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
