"""A real ``insi-dmp-sim serve`` (gunicorn, gevent workers) in its own process group,
for the live tests that need the production server."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

CONSOLE_SCRIPT = Path(sys.executable).parent / "insi-dmp-sim"
HEALTH_LIMIT = 20.0  # seconds from spawn to a 200 on /_admin/health
EXIT_WITHIN = 10.0  # seconds from SIGTERM to exit
HTTP_TIMEOUT = 10


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
    scheme: str = "http"
    # requests options for the health poll and the control plane (TLS: cert=, verify=)
    client_options: dict = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

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
                with requests.get(self.url("/_admin/health"), timeout=0.5,
                                  **self.client_options) as response:
                    if response.status_code == 200:
                        return elapsed
            except requests.RequestException:
                pass
            time.sleep(0.05)

    def terminate(self) -> float:
        """SIGTERM the whole group; seconds until the master exited (or gave up)."""
        sent = time.monotonic()
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=EXIT_WITHIN + 5)
        except subprocess.TimeoutExpired:
            pass
        return time.monotonic() - sent

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
        return requests.request(method, self.url(path), **{**self.client_options, **kwargs})

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


def spawn_server(tmp_dir: Path, name: str, *extra: str, workers: int = 2,
                 population: int | None = 200, env_port: int | None = None,
                 env: dict | None = None, scheme: str = "http",
                 client_options: dict | None = None) -> SimProcess:
    """Start ``insi-dmp-sim serve --port <free> --data-dir <tmp> [extra...]``; with
    ``env_port`` the port is given as ``SIM_PORT`` instead of ``--port``; ``env`` adds
    variables; ``scheme`` and ``client_options`` (requests keywords) say how to reach it."""
    if not CONSOLE_SCRIPT.is_file():
        import pytest
        pytest.skip(f"console script not installed at {CONSOLE_SCRIPT}")
    port = env_port if env_port is not None else free_port()
    data_dir = tmp_dir / f"{name}-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [str(CONSOLE_SCRIPT), "serve", "--data-dir", str(data_dir), *extra]
    if env_port is None:
        command[2:2] = ["--port", str(port)]
    extra_env, env = env or {}, {k: v for k, v in os.environ.items() if not k.startswith("SIM_")}
    env["SIM_WORKERS"] = str(workers)
    if population is not None:
        env["SIM_POPULATION"] = str(population)
    if env_port is not None:
        env["SIM_PORT"] = str(env_port)
    env.update(extra_env)
    log = tmp_dir / f"{name}.log"
    with open(log, "wb") as out:
        started = time.monotonic()  # time-to-healthy counts from the spawn
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env, cwd=tmp_dir,
                                   start_new_session=True)
    return SimProcess(process, port, log, started, scheme, dict(client_options or {}))


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run the console script to completion (no server is expected to stay up)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIM_")}
    return subprocess.run([str(CONSOLE_SCRIPT), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL,
                          start_new_session=True)
