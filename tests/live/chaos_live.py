"""Helpers of the chaos live tests: a real ``insi-dmp-sim serve`` (gunicorn, gevent
workers) in its own process group, raw-socket exchanges that time every byte, and
readers of the journal and of ``/metrics``.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ for envelopes.py
from envelopes import CONTEXTE_BAM, SOAP_CT, contexte_lps, traits_body, envelope, wsa  # noqa: E402

CONSOLE_SCRIPT = Path(sys.executable).parent / "insi-dmp-sim"
HEALTH_LIMIT = 20.0  # seconds from spawn to a 200 on /_admin/health
EXIT_WITHIN = 10.0  # seconds from SIGTERM to exit
HTTP_TIMEOUT = 10
FLUSH_WAIT = 2.5  # journal and metrics are flushed per worker every 0.2 s

KNOWN = ("ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14")  # CNDA person: CR 00
OP_TRAITS = "rechercherInsAvecTraitsIdentite"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------


@dataclass
class SimProcess:
    """One ``insi-dmp-sim serve`` process group."""

    process: subprocess.Popen
    port: int
    log: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def lps_url(self) -> str:
        return self.base_url + "/lps"

    def url(self, path: str) -> str:
        return self.base_url + path

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def wait_healthy(self) -> float:
        """Seconds from spawn to the first 200 on /_admin/health (raises on failure)."""
        while True:
            elapsed = time.monotonic() - self.started
            if self.process.poll() is not None:
                raise RuntimeError(f"insi-dmp-sim exited with {self.process.returncode} "
                                   f"before being healthy:\n{self.log_tail()}")
            if elapsed > HEALTH_LIMIT:
                raise RuntimeError(f"insi-dmp-sim not healthy after {elapsed:.1f} s:\n"
                                   f"{self.log_tail()}")
            try:
                with requests.get(self.url("/_admin/health"), timeout=0.5) as response:
                    if response.status_code == 200:
                        return elapsed
            except requests.RequestException:
                pass
            time.sleep(0.05)

    def stop(self) -> int | None:
        """SIGTERM the whole group, SIGKILL what is left; the master's exit code."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=EXIT_WITHIN)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        return self.process.returncode

    # -- control plane ---------------------------------------------------------------
    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return requests.request(method, self.url(path), **kwargs)

    def put_yaml(self, text: str) -> requests.Response:
        return self.admin("PUT", "/_admin/scenario", data=text.encode("utf-8"),
                          headers={"Content-Type": "application/yaml"})

    def activate(self, text: str) -> dict:
        response = self.put_yaml(text)
        assert response.status_code == 200, response.text
        return response.json()

    def activate_shipped(self, name: str) -> dict:
        response = self.admin("PUT", "/_admin/scenario", json={"name": name})
        assert response.status_code == 200, response.text
        return response.json()

    def set_clock(self, now: str) -> dict:
        response = self.admin("PUT", "/_admin/clock", json={"now": now, "frozen": True})
        assert response.status_code == 200, response.text
        return response.json()

    def journal(self, limit: int = 1000, bodies: bool = False) -> list[dict]:
        response = self.admin("GET", "/_admin/journal",
                              params={"limit": limit, "bodies": "1" if bodies else "0"})
        assert response.status_code == 200, response.text
        return response.json()["entries"]

    def metrics(self) -> str:
        response = self.admin("GET", "/metrics")
        assert response.status_code == 200, response.text
        return response.text


def spawn_server(tmp_dir: Path, name: str, *extra: str, workers: int = 2) -> SimProcess:
    """Start ``insi-dmp-sim serve --port <free> --data-dir <tmp> [extra...]``."""
    port = free_port()
    data_dir = tmp_dir / f"{name}-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [str(CONSOLE_SCRIPT), "serve", "--port", str(port), "--data-dir",
               str(data_dir), *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIM_")}
    env["SIM_WORKERS"] = str(workers)
    env["SIM_POPULATION"] = "200"
    log = tmp_dir / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env, cwd=tmp_dir,
                                   start_new_session=True)
    return SimProcess(process, port, log)


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run the console script to completion (no server is expected to stay up)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIM_")}
    return subprocess.run([str(CONSOLE_SCRIPT), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL,
                          start_new_session=True)


# --------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------


def traits(name: str = KNOWN[0], first: str = KNOWN[1], sex: str = KNOWN[2],
           born: str = KNOWN[3], marker: str | None = None) -> bytes:
    """A traits search; ``marker`` (a unique wsa:MessageID) finds it in the journal."""
    message_id = f"uuid:{marker or uuid.uuid4()}"
    headers = CONTEXTE_BAM + contexte_lps() + wsa(OP_TRAITS, message_id)
    return envelope(traits_body(name, first, sex, born), headers)


def post(url: str, body: bytes, timeout: float = HTTP_TIMEOUT,
         session: requests.Session | None = None, **kwargs) -> requests.Response:
    """POST a SOAP request with requests (a fresh connection unless ``session``)."""
    headers = {"Content-Type": SOAP_CT}
    if session is None:
        headers["Connection"] = "close"
    return (session or requests).post(url, data=body, headers=headers, timeout=timeout,
                                      **kwargs)


def outcome(response: requests.Response) -> str:
    """``CR 00`` / ``fault insi_102`` / ``http 503``, read from the answer itself."""
    if response.status_code == 200:
        found = re.search(rb"<(?:\w+:)?CodeCR>(\d+)<", response.content)
        return f"CR {found[1].decode()}" if found else "200 ?"
    found = re.search(rb'code="(\w+)"', response.content)
    if response.status_code == 500 and found:
        return f"fault {found[1].decode()}"
    return f"http {response.status_code}"


@dataclass
class RawExchange:
    """What came back on a raw socket, with timings (monotonic seconds)."""

    sent_at: float
    data: bytes = b""
    first_byte_at: float | None = None
    last_byte_at: float | None = None
    closed_at: float | None = None
    error: BaseException | None = None
    chunks: list = field(default_factory=list)  # (time, size) of each recv

    @property
    def head(self) -> bytes:
        return self.data.split(b"\r\n\r\n", 1)[0]

    @property
    def body(self) -> bytes:
        parts = self.data.split(b"\r\n\r\n", 1)
        return parts[1] if len(parts) == 2 else b""

    @property
    def status(self) -> int | None:
        found = re.match(rb"HTTP/1\.[01] (\d{3})", self.data)
        return int(found[1]) if found else None

    @property
    def content_length(self) -> int | None:
        found = re.search(rb"\r\ncontent-length:\s*(\d+)", self.head, re.IGNORECASE)
        return int(found[1]) if found else None


def raw_post(port: int, body: bytes, timeout: float = HTTP_TIMEOUT,
             path: str = "/lps") -> RawExchange:
    """POST over a plain socket, reading until the server closes; records when each
    byte arrived and how the connection ended (EOF, reset, timeout)."""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {SOAP_CT}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode("latin-1")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        exchange = RawExchange(time.monotonic())
        sock.sendall(head + body)
        deadline = exchange.sent_at + timeout
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, socket.timeout) as exc:
                exchange.error = exc
                exchange.closed_at = time.monotonic()
                break
            now = time.monotonic()
            if not chunk:
                exchange.closed_at = now
                break
            if exchange.first_byte_at is None:
                exchange.first_byte_at = now
            exchange.last_byte_at = now
            exchange.chunks.append((now, len(chunk)))
            exchange.data += chunk
    return exchange


# --------------------------------------------------------------------------
# Journal and metrics
# --------------------------------------------------------------------------


def poll(check, limit: float = FLUSH_WAIT, interval: float = 0.1):
    """Call ``check()`` until it returns a truthy value or ``limit`` seconds passed;
    returns the last value."""
    deadline = time.monotonic() + limit
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


_SAMPLE = re.compile(r'^(\w+)\{([^}]*)\} (\S+)$')


def metric_samples(text: str, name: str) -> list[tuple[dict, float]]:
    """(labels, value) of every sample of ``name`` in a Prometheus exposition."""
    samples = []
    for line in text.splitlines():
        found = _SAMPLE.match(line)
        if found and found[1] == name:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', found[2]))
            samples.append((labels, float(found[3])))
    return samples


def metric_sum(text: str, name: str, **labels) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(value for found, value in metric_samples(text, name)
               if all(found.get(k) == v for k, v in labels.items()))


_DELAY = re.compile(r": \+(\d+) ms")


def journal_delay_ms(entry: dict) -> float | None:
    """The injected delay a journal entry's ``chaos`` label shows (``+37 ms``)."""
    found = _DELAY.search(entry.get("chaos") or "")
    return float(found[1]) if found else None
