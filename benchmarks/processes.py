"""Servers under test: started in their own process group, polled, measured, stopped.

Every :class:`Server` is registered until stopped, so that :func:`stop_all` can clear
whatever is left after an error or a signal (:func:`install_time_bound` turns signals and
an overall time budget into errors). CPU time is read over a process tree (psutil when
installed, else /proc), and the whole machine's busy time from /proc/stat;
:class:`CpuSpan` puts them together over one measurement.
"""
from __future__ import annotations

import contextlib
import http.client
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HOST = "127.0.0.1"
HEALTH_POLL_S = 0.020
HEALTH_DEADLINE_S = 30.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """A failure the script reports in one line."""


class Server:
    """A server process started in its own process group; stopped by group."""

    registry: list["Server"] = []

    def __init__(self, name: str, argv: list[str], env: dict, log_path: Path, cwd: Path):
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.spawned_at = time.monotonic()
        self.proc = subprocess.Popen(argv, env=env, cwd=str(cwd), stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.pgid = self.proc.pid  # start_new_session: the child leads its own group
        Server.registry.append(self)

    def stop(self, grace: float = 8.0) -> None:
        """SIGTERM the group, wait up to ``grace`` seconds, then SIGKILL what is left."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
        # Workers may outlive the master for a moment: clear the whole group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.log.close()
        if self in Server.registry:
            Server.registry.remove(self)

    def tail(self, lines: int = 15) -> str:
        """The last ``lines`` lines of the server's log ("" when unreadable)."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


@contextlib.contextmanager
def benchmark_database(url: str | None):
    """``url``, or a new database on a throwaway PostgreSQL server started as the tests
    start theirs (tests/postgres_server.py) and stopped on exit."""
    if url is not None:
        yield url
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from postgres_server import new_database, start_server
    server_url, server = start_server()
    try:
        yield new_database(server_url)
    finally:
        if server is not None:
            server.stop()


def stop_all() -> None:
    """Stop every server still running."""
    for server in list(Server.registry):
        server.stop(grace=3.0)


def install_time_bound(budget: float) -> None:
    """Turn SIGTERM, SIGHUP and an overall time budget of ``budget`` s into BenchError."""

    def on_signal(signum, frame):
        raise BenchError(f"stopped by signal {signum}")

    def on_alarm(signum, frame):
        raise BenchError(f"time budget of {budget:.0f} s exceeded")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(budget))


def free_port() -> int:
    """A TCP port free on HOST at the time of the call."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def http_request(port: int, method: str, path: str, body: bytes | None = None,
                 content_type: str | None = None, timeout: float = 2.0) -> tuple[int, bytes]:
    """One request on a fresh connection to HOST:port; (status, body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Content-Type": content_type} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_healthy(server: Server, port: int, deadline_s: float = HEALTH_DEADLINE_S) -> float:
    """Seconds from spawn to the first 200 on /_admin/health (polled every 20 ms)."""
    limit = server.spawned_at + deadline_s
    while True:
        try:
            status, _ = http_request(port, "GET", "/_admin/health", timeout=1.0)
            if status == 200:
                return time.monotonic() - server.spawned_at
        except OSError:
            pass
        if server.proc.poll() is not None:
            raise BenchError(f"{server.name} exited with {server.proc.returncode} before "
                             f"being healthy:\n{server.tail()}")
        if time.monotonic() > limit:
            raise BenchError(f"{server.name} not healthy after {deadline_s:.0f} s:\n"
                             f"{server.tail()}")
        time.sleep(HEALTH_POLL_S)


def wait_answering(server: Server, port: int, path: str, body: bytes, content_type: str,
                   expect: str, deadline_s: float = HEALTH_DEADLINE_S) -> None:
    """Wait until ``POST path`` answers 200 with the expected text; fail on any other answer."""
    limit = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < limit:
        if server.proc.poll() is not None:
            raise BenchError(f"{server.name} exited with {server.proc.returncode}:\n"
                             f"{server.tail()}")
        try:
            status, answer = http_request(port, "POST", path, body, content_type)
        except OSError as exc:
            last = repr(exc)
        else:
            if status == 200 and expect.encode() in answer:
                return
            raise BenchError(f"{server.name}: unexpected answer to the benchmark request, "
                             f"HTTP {status}: {answer[:300]!r}")
        time.sleep(HEALTH_POLL_S)
    raise BenchError(f"{server.name} not answering after {deadline_s:.0f} s ({last})")


# ---------------------------------------------------------------- CPU accounting


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(pid: int) -> float | None:
    """user+system CPU seconds of one process (psutil if present, else /proc)."""
    try:
        import psutil  # optional
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - process gone
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().decode(errors="replace").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds of each live process of the tree under ``root``, by pid."""
    out = {}
    for pid in process_tree(root):
        value = cpu_seconds(pid)
        if value is not None:
            out[pid] = value
    return out


def machine_busy_seconds() -> float:
    """user+nice+system CPU seconds of the whole machine, all cores (from /proc/stat).

    irq/softirq (loopback networking) and steal are left out: they are not charged to
    processes, so they would show up as "other" load.
    """
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields[:3]) / CLK_TCK


def children_cpu_seconds() -> float:
    """user+system CPU seconds of this process's terminated, reaped children (wrk)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuSpan:
    """The CPU used from its creation to :meth:`read`: by a server's process tree, by the
    wrk runs started and reaped meanwhile, and by the whole machine."""

    def __init__(self, server_pid: int):
        self.pid = server_pid
        self.server_before = tree_cpu(server_pid)
        self.busy_before = machine_busy_seconds()
        self.children_before = children_cpu_seconds()
        self.started = time.monotonic()
        self.elapsed_s = 0.0

    def read(self) -> dict:
        """Server CPU (total and by pid), wrk's CPU, the machine's busy CPU and the part of
        it spent by neither ("other", noise); sets ``elapsed_s``."""
        self.elapsed_s = time.monotonic() - self.started
        wrk = children_cpu_seconds() - self.children_before
        busy = machine_busy_seconds() - self.busy_before
        after = tree_cpu(self.pid)
        by_pid = {pid: after[pid] - self.server_before.get(pid, 0.0) for pid in after}
        server = sum(by_pid.values())
        return {"server_cpu_s": round(server, 2),
                "server_cpu_by_pid": {str(pid): round(v, 2) for pid, v in by_pid.items()},
                "wrk_cpu_s": round(wrk, 2), "machine_busy_cpu_s": round(busy, 2),
                "other_cpu_s": round(max(0.0, busy - server - wrk), 2)}
