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
from server_process import (  # noqa: E402,F401 - re-exported for the chaos tests
    CONSOLE_SCRIPT, HTTP_TIMEOUT, SimProcess, free_port, run_cli, spawn_server)

FLUSH_WAIT = 2.5  # journal and metrics are flushed per worker every 0.2 s

KNOWN = ("ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14")  # CNDA person: CR 00
OP_TRAITS = "rechercherInsAvecTraitsIdentite"


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
