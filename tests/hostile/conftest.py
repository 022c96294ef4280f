"""Fixtures of the hostile-input tests: one simulator that every hostile request hits
(it must keep answering valid requests after all of them), and a local listener that
proves nothing reaches the network."""
from __future__ import annotations

import select
import socket

import pytest

from hostile_wire import NOW, Wire
from simulator.app import create_app
from simulator.settings import Settings, parse_datetime


@pytest.fixture(scope="session")
def hostile_app(tmp_path_factory):
    """One simulator for the whole hostile suite, on a date where every endpoint is open;
    no generated population (ADRUN Zoé, a CNDA test person, is always loaded)."""
    return create_app(Settings(data_dir=tmp_path_factory.mktemp("hostile"), population=0,
                               date=parse_datetime(NOW), frozen=True))


@pytest.fixture(scope="session")
def wire(hostile_app) -> Wire:
    """A client of ``hostile_app`` with a valid request for every endpoint."""
    return Wire(hostile_app)


class Listener:
    """A TCP socket on 127.0.0.1 that nobody should connect to."""

    def __init__(self):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    def connected(self, wait: float = 0.05) -> bool:
        """Whether a connection attempt is waiting (the kernel completes the handshake
        even if nobody accepts, so a fetch attempt shows up here)."""
        readable, _, _ = select.select([self.socket], [], [], wait)
        return bool(readable)


@pytest.fixture
def listener():
    """A local listener; the test asserts it saw no connection."""
    server = Listener()
    yield server
    server.socket.close()
