"""The gunicorn gevent worker, with the limits that keep slow or greedy clients from
stalling it (issue 14, README "Reliability").

gunicorn's gevent worker bounds neither the time a request body takes to arrive nor
who gets a connection slot: 1,000 silent connections per worker locked every other
client out, and a body that never came held its slot for good. gunicorn has no option
for either (``timeout`` only restarts a worker whose master heartbeat stops, and
``worker_connections`` only sizes the pool), so this small subclass adds them:

* **Body deadline.** The body is read before the application runs, within
  ``SIM_READ_TIMEOUT`` seconds in all (not per read: a client trickling a byte a second
  cannot stretch it); late, the client gets ``408 Request Timeout`` and the connection
  closes.
* **Idle and header deadline.** Waiting for the next request on a keep-alive
  connection, and reading its headers, is bounded by ``SIM_HEADER_TIMEOUT`` (gunicorn's
  keep-alive timeout does this already; it is the same setting).
* **Connection slots.** At ``SIM_MAX_CONNECTIONS`` open connections, a new client takes
  the slot of the connection that has been idle (or sending headers) the longest, which
  is closed. When every slot is busy with a request, the new client gets ``503`` with
  ``Retry-After`` at once, instead of waiting unseen in the listen queue.
* **Drain.** On SIGTERM idle connections close at once; requests in flight get
  ``SIM_GRACEFUL_TIMEOUT`` seconds to finish. Injected delays (chaos latency) that would
  outlast it are cut short about a second before, so those requests still get their
  scenario's outcome rather than a cut connection.
* **Memory.** After a request whose body reached ``SIM_MEMORY_TRIM_BYTES``, once it is
  gone (the connection idles or closes), a full collection and glibc's
  ``malloc_trim`` gives the freed heap back to the system: parsing a 3.5 MB request
  leaves tens of MB of free arenas behind, which otherwise pile up to ~1 GB per worker.
"""
from __future__ import annotations

import ctypes
import gc
import io
import json
from collections import OrderedDict

import gevent
from gunicorn import util
from gunicorn.http.body import Body
from gunicorn.workers.ggevent import GeventWorker

REFUSAL_RESERVE = 64  # pool slots beyond the limit, used only to answer 503
DRAIN_MARGIN = 1.5  # seconds before the drain deadline at which injected delays end


class ReadDeadline(Exception):
    """The request body did not arrive within the read timeout."""


class SimulatorWorker(GeventWorker):
    """gunicorn's gevent worker with the deadlines and slot policy described above, read
    from the Settings of the gunicorn application (``SimulatorServer.settings``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.limits = Limits(self.app.settings)
        self.worker_connections = self.limits.max_connections + REFUSAL_RESERVE
        self._open = 0  # connections being handled
        self._idle: OrderedDict = OrderedDict()  # greenlet -> its idle timeout, oldest first
        self._trim = _malloc_trim()

    # -- connection slots ------------------------------------------------------------
    def handle(self, listener, client, addr):
        if self._open >= self.limits.max_connections and not self._evict_idle():
            _refuse(client, 503, "Service Unavailable",
                    "every connection slot of this worker is busy with a request; "
                    "retry shortly", {"Retry-After": "1"})
            return
        self._open += 1
        try:
            super().handle(listener, client, addr)
        finally:
            self._open -= 1
            self.trim_memory()

    def _evict_idle(self) -> bool:
        """Close the connection idle the longest; whether there was one."""
        while self._idle:
            _, wait = self._idle.popitem(last=False)
            if wait.active:
                # From the hub's loop: a direct throw would never switch back here.
                gevent.get_hub().loop.run_callback(wait.end)
                return True
        return False

    def timeout_ctx(self):
        """The wait for the next request and its headers: bounded, and evictable."""
        return _IdleWait(self, self.limits.header_timeout if self.alive else 0.01)

    # -- body deadline and memory ----------------------------------------------------
    def handle_request(self, listener_name, req, sock, addr):
        if req.body is not None:
            try:
                complete = self._read_body(req)
            except ReadDeadline:
                _refuse(sock, 408, "Request Timeout",
                        f"the request body did not arrive within {self.limits.read_timeout:g} "
                        "seconds (SIM_READ_TIMEOUT)")
                raise StopIteration() from None
        else:
            complete = True
        if not complete:
            req.must_close = True  # unread body: the connection cannot carry another request
        if self.limits.memory_trim_bytes and self._body_size >= self.limits.memory_trim_bytes:
            self._trim_pending = True
        return super().handle_request(listener_name, req, sock, addr)

    def trim_memory(self) -> None:
        """After a large request, once nothing of it is referenced any more (the
        connection waits for its next request, or is closed): collect its reference
        cycles (spyne's contexts) and give the freed heap back to the system."""
        if self._trim_pending and self._trim is not None:
            self._trim_pending = False
            gc.collect()
            self._trim(0)

    def _read_body(self, req) -> bool:
        """Replace ``req.body`` by its bytes, read within the deadline (at most the
        largest body the simulator accepts, plus one byte so that it sees the excess);
        whether the whole body was read."""
        length = getattr(req.body.reader, "length", None)  # None: chunked or to EOF
        cap = self.limits.max_body_bytes + 1
        self._body_size = 0
        if length is not None and length >= cap:
            return False  # refused from its Content-Length, without being read
        with gevent.Timeout(self.limits.read_timeout, ReadDeadline):
            data = req.body.read(cap)
        self._body_size = len(data)
        req.body = Body(io.BytesIO(data))
        return len(data) < cap

    _body_size = 0
    _trim_pending = False

    # -- drain -------------------------------------------------------------------------
    def handle_exit(self, sig, frame):
        super().handle_exit(sig, frame)
        gevent.spawn(self._drain)

    def _drain(self):
        while self._evict_idle():
            pass
        gevent.sleep(max(0.0, self.limits.graceful_timeout - DRAIN_MARGIN))
        cut = getattr(self.wsgi, "cut_sleeps", None)
        if cut is not None:
            cut()


class Limits:
    """The worker's limits, from the simulator's Settings."""

    def __init__(self, settings):
        self.max_connections = settings.max_connections
        self.header_timeout = settings.header_timeout
        self.read_timeout = settings.read_timeout
        self.graceful_timeout = settings.graceful_timeout
        self.memory_trim_bytes = settings.memory_trim_bytes
        self.max_body_bytes = max(settings.max_request_bytes, settings.admin_max_request_bytes)


class _IdleWait:
    """gevent.Timeout around an idle wait, registered so that :meth:`_evict_idle` can
    end it early; a timeout made with ``False`` ends the wait silently, and gunicorn
    then closes the connection."""

    def __init__(self, worker: SimulatorWorker, seconds: float):
        self.worker = worker
        self.timeout = gevent.Timeout(seconds, False)
        self.greenlet = gevent.getcurrent()
        self.active = False

    def __enter__(self):
        self.worker.trim_memory()  # the previous request of this connection is gone
        self.worker._idle[self.greenlet] = self
        self.active = True
        return self.timeout.__enter__()

    def __exit__(self, *exc_info):
        self.active = False
        self.worker._idle.pop(self.greenlet, None)
        return self.timeout.__exit__(*exc_info)

    def end(self) -> None:
        """End the wait as if its timeout fired, if the connection still waits (a
        request may have come in since the eviction was decided: it is left alone)."""
        if self.active and not self.greenlet.dead:
            self.greenlet.throw(self.timeout)


def _refuse(sock, status: int, reason: str, message: str, headers: dict | None = None) -> None:
    """Answer ``status`` with a JSON ``{"error": message}`` and close the connection."""
    body = json.dumps({"error": message}).encode()
    head = "".join(f"{name}: {value}\r\n" for name, value in {
        "Content-Type": "application/json", "Content-Length": str(len(body)),
        "Connection": "close", **(headers or {})}.items())
    try:
        util.write(sock, f"HTTP/1.1 {status} {reason}\r\n{head}\r\n".encode("latin-1") + body)
    except OSError:
        pass
    util.close(sock)


def _malloc_trim():
    """glibc's ``malloc_trim``, or None elsewhere (musl, macOS)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim
