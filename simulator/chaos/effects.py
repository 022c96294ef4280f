"""What a client sees on the wire when a chaos action alters an answer.

``http_status`` and service faults replace the answer before the service runs. The
transport actions happen after it: the service did its work (a feed may be stored) and
the answer is lost or damaged on the way back, which is what a client cannot tell from
a refusal. Latency is applied before the first byte; ``dribble`` spreads the body.
"""
from __future__ import annotations

import errno
import random
import socket
import struct

from simulator.soap.reply import Reply, status_line

TRANSPORT_ACTIONS = ("reset", "empty", "truncate", "garble", "dribble", "hang")


def http_status_reply(status: int) -> Reply:
    """A bare HTTP error as a front-end proxy sends it (no SOAP)."""
    line = status_line(status)
    body = f"<html><head><title>{line}</title></head><body><h1>{line}</h1></body></html>"
    body = body.encode("latin-1")
    return Reply(status, body, "text/html; charset=iso-8859-1", outcome=f"http {status}")


def deliver(decision, reply: Reply, headers: list, environ, start_response, clock):
    """Send ``reply`` altered by a transport action; returns the WSGI iterable, or raises
    ConnectionResetError once the connection has been dealt with by hand."""
    action = decision.action
    if action.kind == "dribble":
        start_response(status_line(reply.status), headers)
        return _dribble(reply.body, action.seconds, clock)
    sock = _raw_socket(environ)
    if action.kind == "hang":
        clock.delay(action.seconds)
        _close(sock)
    elif action.kind == "reset":
        # SO_LINGER 0: closing sends RST instead of FIN, "connection reset by peer".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    elif action.kind == "empty":
        _close(sock)
    else:
        body = reply.body[: int(len(reply.body) * action.fraction)] \
            if action.kind == "truncate" else _garbage(len(reply.body), decision)
        head = f"HTTP/1.1 {status_line(reply.status)}\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers) + "Connection: close\r\n\r\n"
        try:
            sock.sendall(head.encode("latin-1") + body)
        finally:
            _close(sock)
    # gunicorn and werkzeug both treat a reset as a dropped connection and stay quiet.
    raise ConnectionResetError(errno.ECONNRESET, f"answer {action.describe()} by a chaos rule")


def _dribble(body: bytes, seconds: float, clock, chunks: int = 10):
    size = max(1, -(-len(body) // chunks))
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    for index, piece in enumerate(pieces):
        if index:
            clock.delay(seconds / max(1, len(pieces) - 1))
        yield piece


def _garbage(length: int, decision) -> bytes:
    rng = random.Random(f"{decision.seed}:{decision.rule.index}:{decision.draw}:garble")
    return bytes(rng.getrandbits(8) for _ in range(max(length, 64)))


def _raw_socket(environ) -> socket.socket:
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    if sock is None:
        raise RuntimeError("this server does not expose its socket; transport actions "
                           "need insi-dmp-sim serve (gunicorn) or werkzeug")
    return sock


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
