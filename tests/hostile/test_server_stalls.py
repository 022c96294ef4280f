"""Stalling the real server (issue 14): many MTOM references in one element, silent
connections that take every slot, bodies that never arrive.

One ``insi-dmp-sim serve`` (2 gevent workers; 1 where a test needs every slot of the
worker that accepts a client) with small limits, so that filling them stays cheap: 30
connections per worker, 4 s to send a body.
"""
from __future__ import annotations

import pytest
import requests

from simulator.kit.xds import mtom_package
from hostile_wire import XOP
from live_hostile import (
    HANG_GUARD, closed_by_server, connect, http_head, insi_request, json_error,
    read_answer, server_cpu_timed, spawn_server, wait_until_server_read_everything)

MAX_CONNECTIONS = 30  # per worker
READ_TIMEOUT = 4.0
WORKERS = 2


def stalls_server(tmp_path_factory, workers: int):
    """The server with the small limits, ``workers`` gevent workers."""
    process = spawn_server(tmp_path_factory.mktemp("stalls"), "stalls", population=0,
                           workers=workers, env={
                               "SIM_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
                               "SIM_READ_TIMEOUT": str(READ_TIMEOUT)})
    try:
        process.wait_healthy()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from stalls_server(tmp_path_factory, WORKERS)


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory):
    """One worker, for what depends on every slot of the worker that accepts a client:
    with two, the kernel may hand one worker far fewer of a burst of connections than
    the other (a CI run on a loaded host saw a worker with free slots)."""
    yield from stalls_server(tmp_path_factory, 1)


def assert_serving(server) -> None:
    """A new client gets its INSi answer."""
    answer = requests.post(server.lps_url, data=insi_request(), timeout=HANG_GUARD,
                           headers={"Content-Type": "application/soap+xml; charset=utf-8"})
    assert answer.status_code == 200 and b"RESULTAT" in answer.content, answer.text[:500]


# --- quadratic MTOM --------------------------------------------------------------------

def many_includes(parts: int) -> tuple[str, bytes]:
    """An INSi search whose ignored header block holds ``parts`` xop:Include elements,
    one per MIME part of 1 kB: all in one element, the case that cost their square."""
    includes = "".join(f'<xop:Include href="cid:p{i}"/>' for i in range(parts))
    block = (f'<h:attachments xmlns:h="urn:example:hostile" xmlns:xop="{XOP}">{includes}'
             "</h:attachments>").encode()
    raw = insi_request().replace(b"<soap:Header>", b"<soap:Header>" + block, 1)
    return mtom_package(raw, [(f"p{i}", bytes([i % 256]) * 1000) for i in range(parts)])


def test_many_includes_in_one_element_cost_linear_time(server):
    """Issue 14 measured 1 / 6 / 21 / 64 s for 1,000 / 2,000 / 4,000 / 8,000 parts: the
    square. One request of 8,000 parts must cost far less than eight times eight
    requests of 1,000 (the same bytes in all), in the server's CPU time: not wall time,
    which a loaded machine stretches on one side only, and over enough work that the
    10 ms clock ticks do not dominate."""
    def post(parts: int) -> float:
        content_type, body = many_includes(parts)

        def send():
            answer = requests.post(server.lps_url, data=body, timeout=HANG_GUARD * 2,
                                   headers={"Content-Type": content_type})
            assert answer.status_code == 200, answer.text[:500]
        return server_cpu_timed(server, send)

    post(100)  # warm-up
    small = sum(post(1000) for _ in range(8))
    large = post(8000)
    ratio = large / small
    print(f"\nMTOM, one element, server CPU: 8 requests of 1,000 parts {small:.3f} s, "
          f"one of 8,000 parts {large:.3f} s, ratio {ratio:.1f} (linear: 1, quadratic: 8)")
    assert ratio < 4, f"8x the parts in one request cost {ratio:.1f}x eight requests"


# --- connection slots ------------------------------------------------------------------

def test_silent_connections_do_not_lock_out_new_clients(server):
    """Four times the slots of both workers, held open without a byte: the oldest idle
    ones are closed to make room, and new clients are served."""
    silent = [connect(server) for _ in range(4 * WORKERS * MAX_CONNECTIONS)]
    try:
        wait_until_server_read_everything(server)  # every one accepted
        for _ in range(3):
            assert_serving(server)
        closed = sum(closed_by_server(sock, wait=0.2) for sock in silent)
        print(f"\n{len(silent)} silent connections: {closed} closed by the server to make room")
        assert closed >= len(silent) - 2 * WORKERS * MAX_CONNECTIONS
    finally:
        for sock in silent:
            sock.close()


def slow_body(server, path: str = "/lps"):
    """A connection that sent its headers and 10 of the 1,000 body bytes it announced."""
    sock = connect(server)
    sock.sendall(http_head("POST", path, {"Host": "localhost", "Content-Type":
                                          "application/soap+xml", "Content-Length": "1000"})
                 + b"<soap:Enve")
    return sock


@pytest.mark.parametrize("path", ["/lps", "/si-dmp-server/v2/services/registry",
                                  "/_admin/clock"])
def test_a_body_that_never_arrives_gets_408_after_the_read_timeout(server, path):
    sock = slow_body(server, path)
    try:
        status, headers, body = read_answer(sock)
        assert status == 408, body
        assert "did not arrive within 4 seconds" in json_error(body)
        assert headers["connection"] == "close"
        assert closed_by_server(sock, wait=5)
    finally:
        sock.close()
    assert_serving(server)


def test_when_every_slot_holds_a_request_new_clients_get_503_then_service_resumes(
        one_worker):
    """Requests in progress are not evicted: once every slot holds one (slow bodies),
    a new client is told so at once (503, Retry-After), not left in the listen queue;
    after the read timeout has ended the slow ones, clients are served again."""
    slow = [slow_body(one_worker) for _ in range(3 * MAX_CONNECTIONS)]
    try:
        # Until the worker has read a slow request's headers, its connection counts as
        # idle and a new client may take its slot.
        wait_until_server_read_everything(one_worker)
        late = connect(one_worker)  # every slot holds a request by then
        late.sendall(http_head("GET", "/_admin/health", {"Host": "localhost"}))
        status, headers, body = read_answer(late)
        late.close()
        assert status == 503 and headers["retry-after"] == "1", body
        assert "connection slot of this worker is busy" in json_error(body)
        # Each slow one gets 503 at once, or holds its slot until the read timeout
        # ends it with 408, which frees the slot.
        statuses = [read_answer(sock)[0] for sock in slow]
    finally:
        for sock in slow:
            sock.close()
    refused, held = statuses.count(503), statuses.count(408)
    print(f"\n{len(slow)} slow bodies: {refused} refused at once with 503, {held} held "
          "until the read timeout")
    assert refused + held == len(slow)
    assert held == MAX_CONNECTIONS
    assert_serving(one_worker)
