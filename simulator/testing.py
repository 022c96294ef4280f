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

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from simulator.client import SimulatorClient, SimulatorError
from simulator.settings import Settings

SHIPPED_HINT = "a shipped scenario name, or YAML text with a 'rules:' list"


class SimulatorHandle(SimulatorClient):
    """A simulator this test run started: its control plane (every call of
    :class:`simulator.client.SimulatorClient`) and ``stop``."""

    def __init__(self, base_url: str, stop, admin_token: str | None = None):
        super().__init__(base_url, admin_token)
        self._stop = stop

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


def _start_thread(settings: Settings) -> SimulatorHandle:
    from werkzeug.serving import make_server

    from simulator.app import create_app
    data_dir = settings.data_dir or Path(tempfile.mkdtemp(prefix="insi-dmp-sim-test-"))
    server = make_server("127.0.0.1", 0, create_app(settings.with_changes(data_dir=data_dir)),
                         threaded=True, request_handler=_handler_class())
    threading.Thread(target=server.serve_forever, daemon=True, name="insi-dmp-sim").start()
    return SimulatorHandle(f"http://127.0.0.1:{server.server_port}", server.shutdown,
                           settings.admin_token)


def _handler_class():
    """werkzeug's request handler, closing a connection that a chaos rule dropped.

    A transport action (``reset``, ``empty``...) closes the request's socket, but the
    handler's buffered reader still holds it open, and werkzeug goes back to reading the
    next request: the client waited for its own timeout instead of seeing the reset that
    gunicorn gives. Closing the reader releases the socket (with ``SO_LINGER 0`` for a
    reset, the kernel sends RST) and ends the connection, as in process mode.
    """
    from werkzeug.serving import WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        def connection_dropped(self, error, environ=None) -> None:
            self.close_connection = True
            try:
                self.rfile.close()
            except OSError:
                pass

    return Handler


def _start_process(settings: Settings) -> SimulatorHandle:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data_dir = settings.data_dir or Path(tempfile.mkdtemp(prefix="insi-dmp-sim-test-"))
    env = {**os.environ, "SIM_PORT": str(port), "SIM_HOST": "127.0.0.1",
           "SIM_DATA_DIR": str(data_dir), "SIM_POPULATION": str(settings.population)}
    if settings.admin_token:
        env["SIM_ADMIN_TOKEN"] = settings.admin_token
    process = subprocess.Popen([sys.executable, "-m", "simulator", "serve"], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)

    def stop():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    handle = SimulatorHandle(f"http://127.0.0.1:{port}", stop, settings.admin_token)
    deadline = time.monotonic() + 30
    while True:
        try:
            handle.admin("GET", "/health")
            return handle
        except (OSError, SimulatorError):
            if process.poll() is not None or time.monotonic() > deadline:
                stop()
                raise RuntimeError("insi-dmp-sim serve did not become healthy") from None
            time.sleep(0.05)
