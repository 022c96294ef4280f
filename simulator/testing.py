"""Running the simulator from a test suite: start it, reach it, drive its control plane.

Used by the pytest plugin (:mod:`simulator.pytest_plugin`), and usable from any test
framework::

    with start_simulator() as sim:
        sim.set_clock("2023-01-15")
        sim.set_scenario("insi-down")
        my_client.search_ins(sim.insi_url, ...)

Only the standard library talks to the control plane, so vendors' test environments
need nothing beyond the simulator itself.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from simulator.settings import Settings

SHIPPED_HINT = "a shipped scenario name, or YAML text with a 'rules:' list"


class SimulatorHandle:
    """A running simulator: its URLs and its control plane."""

    def __init__(self, base_url: str, stop, admin_token: str | None = None):
        self.base_url = base_url.rstrip("/")
        self._stop = stop
        self._admin_token = admin_token

    @property
    def insi_url(self) -> str:
        """The INSi endpoint (``.../lps``)."""
        return self.base_url + "/lps"

    @property
    def insi_wsdl_url(self) -> str:
        """The INSi WSDL, for clients generated at runtime."""
        return self.insi_url + "?wsdl"

    def admin(self, method: str, path: str, body=None, content_type="application/json"):
        """Call ``/_admin``; returns the decoded JSON answer (raises on an HTTP error)."""
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        headers = {"Content-Type": content_type}
        if self._admin_token:
            headers["Authorization"] = f"Bearer {self._admin_token}"
        request = urllib.request.Request(self.base_url + "/_admin" + path, data=data,
                                         method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{method} /_admin{path}: {error.code} "
                               f"{error.read().decode(errors='replace')}") from None

    def reset(self) -> None:
        """Initial identities, empty journal, configured clock and scenario."""
        self.admin("POST", "/reset")

    def set_clock(self, now: str, frozen: bool = True) -> dict:
        """Move the simulated clock (ISO-8601 date or date-time), frozen by default."""
        return self.admin("PUT", "/clock", {"now": now, "frozen": frozen})

    def set_scenario(self, scenario: str) -> dict:
        """Activate a scenario: a shipped name, or YAML text."""
        if "rules:" in scenario:
            return self.admin("PUT", "/scenario", scenario, "application/yaml")
        return self.admin("PUT", "/scenario", {"name": scenario})

    def clear_scenario(self) -> None:
        """Back to normal answers."""
        self.admin("DELETE", "/scenario")

    def journal(self, limit: int = 100) -> list[dict]:
        """Newest-first exchanges."""
        return self.admin("GET", f"/journal?limit={limit}")["entries"]

    def add_identity(self, person: dict) -> dict:
        """Add a person (fields of the identity files)."""
        return self.admin("POST", "/identities", person)

    def stop(self) -> None:
        """Stop the simulator."""
        self._stop()


@contextmanager
def start_simulator(mode: str = "thread", settings: Settings | None = None):
    """A simulator on a free port of 127.0.0.1 for the duration of the block.

    ``mode="thread"`` serves it from this process (fast, one worker, werkzeug);
    ``mode="process"`` runs the real ``insi-dmp-sim serve`` (gunicorn, gevent workers).
    """
    settings = settings or Settings.from_env(population=200)
    handle = _start_thread(settings) if mode == "thread" else _start_process(settings)
    try:
        yield handle
    finally:
        handle.stop()


def _data_dir(settings: Settings) -> tuple[Path, Path | None]:
    """The data directory to use, and the one created here (removed at stop), if any."""
    if settings.data_dir is not None:
        return Path(settings.data_dir), None
    created = Path(tempfile.mkdtemp(prefix="insi-dmp-sim-test-"))
    return created, created


def _start_thread(settings: Settings) -> SimulatorHandle:
    from werkzeug.serving import make_server

    from simulator.app import create_app
    data_dir, created = _data_dir(settings)
    server = make_server("127.0.0.1", 0, create_app(settings.with_changes(data_dir=data_dir)),
                         threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True, name="insi-dmp-sim").start()

    def stop():
        server.shutdown()
        server.server_close()
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
    return SimulatorHandle(f"http://127.0.0.1:{server.server_port}", stop,
                           settings.admin_token)


def _start_process(settings: Settings) -> SimulatorHandle:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data_dir, created = _data_dir(settings)
    env = {**os.environ, "SIM_PORT": str(port), "SIM_HOST": "127.0.0.1",
           "SIM_DATA_DIR": str(data_dir), "SIM_POPULATION": str(settings.population)}
    if settings.admin_token:
        env["SIM_ADMIN_TOKEN"] = settings.admin_token
    # The server's output goes to a file, quoted when it does not start.
    log = tempfile.TemporaryFile(prefix="insi-dmp-sim-serve-")
    process = subprocess.Popen([sys.executable, "-m", "simulator", "serve"], env=env,
                               stdin=subprocess.DEVNULL, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)

    def stop():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
    handle = SimulatorHandle(f"http://127.0.0.1:{port}", stop, settings.admin_token)
    deadline = time.monotonic() + 30
    while True:
        try:
            handle.admin("GET", "/health")
            return handle
        except (OSError, RuntimeError):
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                output = log.read().decode(errors="replace").strip()[-3000:]
                stop()
                raise RuntimeError("insi-dmp-sim serve did not become healthy; its output:\n"
                                   + (output or "(none)")) from None
            time.sleep(0.05)
