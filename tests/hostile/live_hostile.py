"""Helpers of the hostile tests against the real server (``insi-dmp-sim serve``, gunicorn
with 2 gevent workers, on loopback): raw sockets, the workers' memory, timings.

No test bounds wall-clock time: costs are compared with a smaller input in the same
run, and socket timeouts only keep a broken server from hanging the suite.
"""
from __future__ import annotations

import json
import os
import re
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))
from server_process import SimProcess, spawn_server  # noqa: E402,F401

from envelopes import traits_request  # noqa: E402

SOAP_CT = "application/soap+xml; charset=utf-8"
HANG_GUARD = 60.0  # seconds a socket read may wait before the test calls the server stuck


def insi_request() -> bytes:
    """A valid INSi search (ADRUN Zoé, a CNDA test person, always loaded)."""
    return traits_request("ADRUN", "ZOE", "F", "1975-12-31")


def connect(server: SimProcess, timeout: float = HANG_GUARD) -> socket.socket:
    """A TCP connection to the server."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    return sock


def http_head(method: str, path: str, headers: dict) -> bytes:
    """The request line and headers of an HTTP/1.1 request."""
    lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def read_answer(sock: socket.socket) -> tuple[int, dict, bytes]:
    """(status, headers, body) of one HTTP answer read off ``sock`` (its body up to
    Content-Length or the end of the connection)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed without an answer (got {data[:200]!r})")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    length = int(headers.get("content-length", -1))
    while length < 0 or len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def closed_by_server(sock: socket.socket, wait: float = 0.0) -> bool:
    """Whether the server closed ``sock`` (EOF or reset) without answering."""
    sock.settimeout(wait or 0.001)
    try:
        return sock.recv(1) == b""
    except (TimeoutError, BlockingIOError):
        return False
    except OSError:
        return True


def json_error(body: bytes) -> str:
    """The ``error`` message of a JSON answer."""
    return json.loads(body)["error"]


def worker_pids(server: SimProcess) -> list[int]:
    """The gunicorn workers: the master's children."""
    master = server.process.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def resident_mb(pid: int) -> float:
    """VmRSS of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)[1]) / 1024


def workers_cpu_seconds(server: SimProcess) -> float:
    """User and system CPU time the gunicorn workers have used so far (/proc/<pid>/stat,
    fields 14 and 15, in clock ticks)."""
    ticks = 0
    for pid in worker_pids(server):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def server_cpu_timed(server: SimProcess, action) -> float:
    """The workers' CPU seconds spent while ``action()`` ran: unlike wall time, other
    jobs on the machine do not inflate it."""
    before = workers_cpu_seconds(server)
    action()
    return workers_cpu_seconds(server) - before


LISTEN, ESTABLISHED = "0A", "01"  # TCP states in /proc/net/tcp


def unread_bytes(server: SimProcess) -> int:
    """What the server has not taken in yet, from the kernel's view of its port
    (/proc/net/tcp): connections waiting to be accepted, plus bytes received on its
    accepted connections that no worker has read."""
    unread = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        rx_queue = int(fields[4].split(":")[1], 16)  # LISTEN: the accept queue's length
        if local_port == server.port and fields[3] in (LISTEN, ESTABLISHED):
            unread += rx_queue
    return unread


def wait_until_server_read_everything(server: SimProcess) -> None:
    """Wait until the workers have accepted every connection and read every byte sent
    to them so far (on a loaded machine they may lag well behind the client)."""
    deadline = time.monotonic() + HANG_GUARD
    while unread_bytes(server):
        assert time.monotonic() < deadline, "the server stopped reading its sockets"
        time.sleep(0.05)
