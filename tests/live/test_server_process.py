"""The real ``insi-dmp-sim serve`` command: a gunicorn process tree on a real port.

Started in its own process group (so SIGTERM reaches the master and its workers and a
failing test can always kill everything it started), polled on ``/_admin/health``,
called once with zeep, then stopped.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from lxml import etree

from insi_live import build_our_client

CONSOLE_SCRIPT = Path(sys.executable).parent / "insi-dmp-sim"
HEALTHY_WITHIN = 2.0  # seconds from spawn to the first 200 on /_admin/health
EXIT_WITHIN = 10.0  # seconds from SIGTERM to exit
POLL_LIMIT = 20.0  # give up waiting for health after this long


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    """One ``insi-dmp-sim serve`` process group."""

    process: subprocess.Popen
    port: int
    started: float  # monotonic time of the spawn
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def wait_healthy(self) -> float:
        """Seconds from spawn until GET /_admin/health answered 200."""
        url = self.base_url + "/_admin/health"
        while True:
            elapsed = time.monotonic() - self.started
            if self.process.poll() is not None:
                pytest.fail(f"insi-dmp-sim exited with {self.process.returncode} before "
                            f"being healthy:\n{self.log_tail()}")
            if elapsed > POLL_LIMIT:
                pytest.fail(f"insi-dmp-sim not healthy after {elapsed:.1f} s:\n"
                            f"{self.log_tail()}")
            try:
                with requests.get(url, timeout=0.5) as response:
                    if response.status_code == 200:
                        return time.monotonic() - self.started
            except requests.RequestException:
                pass
            time.sleep(0.02)

    def terminate(self) -> float:
        """SIGTERM the whole group; seconds until the master exited."""
        sent = time.monotonic()
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=EXIT_WITHIN + 5)
        except subprocess.TimeoutExpired:
            pass
        return time.monotonic() - sent

    def kill(self) -> None:
        """Last resort cleanup: SIGKILL what is left of the group."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def spawn(tmp_path: Path, name: str, *, port_arg: bool = True,
          env_port: int | None = None) -> ServerProcess:
    """Start ``insi-dmp-sim serve --data-dir <tmp> [--port <free>]`` in a new session."""
    if not CONSOLE_SCRIPT.is_file():
        pytest.skip(f"console script not installed at {CONSOLE_SCRIPT}")
    port = env_port if env_port is not None else free_port()
    data_dir = tmp_path / f"{name}-data"
    data_dir.mkdir()
    command = [str(CONSOLE_SCRIPT), "serve", "--data-dir", str(data_dir)]
    if port_arg:
        command += ["--port", str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIM_")}
    if env_port is not None:
        env["SIM_PORT"] = str(env_port)
    log = tmp_path / f"{name}.log"
    with open(log, "wb") as out:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env, cwd=tmp_path,
                                   start_new_session=True)
    return ServerProcess(process, port, started, log)


def test_serve_command_health_search_and_sigterm(tmp_path):
    timings = []
    server = None
    try:
        # One retry run is allowed when the machine is loaded.
        for attempt in range(2):
            server = spawn(tmp_path, f"serve{attempt}")
            timings.append(server.wait_healthy())
            if timings[-1] < HEALTHY_WITHIN or attempt == 1:
                break
            server.terminate()
            server.kill()
        assert min(timings) < HEALTHY_WITHIN, (
            f"insi-dmp-sim took {', '.join(f'{t:.2f} s' for t in timings)} to be healthy "
            f"(limit {HEALTHY_WITHIN} s)")
        print(f"time to healthy: {', '.join(f'{t:.3f} s' for t in timings)}")

        health = requests.get(server.base_url + "/_admin/health", timeout=5).json()
        assert health["status"] == "ok" and "/lps" in health["services"]

        client = build_our_client(server.base_url)
        try:
            result = client.traits("ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14")
            assert result.CR.CodeCR == "00"
            assert result.INDIVIDU.INSACTIF.IdIndividu.NumIdentifiant == "1090763220834"
            assert len(result.INDIVIDU.INSHISTO) == 2
            assert client.last_status == 200
        finally:
            client.transport.session.close()

        # The simulated clock lives in the shared store: every worker sees the move.
        moved = requests.put(server.base_url + "/_admin/clock",
                             json={"now": "2022-06-01T10:00:00Z"}, timeout=5)
        assert moved.status_code == 200, moved.text
        envelope = etree.tostring(client.client.create_message(
            client.client.service, "rechercherInsAvecTraitsIdentite", NomNaissance="ECETINSI",
            Prenom=["PIERRE-ALAIN"], Sexe="M", DateNaissance="2009-07-14",
            _soapheaders=client.headers()), xml_declaration=True, encoding="utf-8")
        for _ in range(6):  # fresh connections, spread over the workers
            raw = requests.post(client.address, data=envelope, timeout=5, headers={
                "Content-Type": "application/soap+xml; charset=utf-8", "Connection": "close"})
            assert raw.status_code == 200
            assert b"<ns2:RESULTAT" in raw.content and b"<ns2:Prenom>PIERRE-ALAIN<" in raw.content

        waited = server.terminate()
        assert server.process.returncode is not None, (
            f"still running {waited:.1f} s after SIGTERM:\n{server.log_tail()}")
        assert waited < EXIT_WITHIN, f"exited {waited:.1f} s after SIGTERM"
        print(f"exit after SIGTERM: {waited:.3f} s (code {server.process.returncode})")
        assert server.process.returncode == 0, server.log_tail()
    finally:
        if server is not None:
            server.kill()


def test_sim_port_from_the_environment(tmp_path):
    port = free_port()
    server = spawn(tmp_path, "env-port", port_arg=False, env_port=port)
    try:
        server.wait_healthy()
        health = requests.get(f"http://127.0.0.1:{port}/_admin/health", timeout=5)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert f"{port}" in server.log_tail()
        waited = server.terminate()
        assert server.process.returncode is not None and waited < EXIT_WITHIN
    finally:
        server.kill()
