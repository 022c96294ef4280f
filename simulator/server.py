"""Running a WSGI app under gunicorn with gevent workers.

gevent workers keep a worker free while a request waits (injected latency, slow
clients); ``preload_app`` builds the app once in the master, so the store is seeded
once before the workers fork.
"""
from __future__ import annotations

import gc

import logging
import math
import ssl
import tempfile
from pathlib import Path
from typing import Callable

from gunicorn.app.base import BaseApplication

from simulator.healthcheck import health_url
from simulator.logs import ACCESS_FORMAT, SimulatorLogger
from simulator.settings import Settings, SettingsError

LOG = logging.getLogger(__name__)


def take_turns(app):
    """Wrap a WSGI app so that each request ends by yielding to the other greenlets.

    gevent switches only when a greenlet would block. On a keep-alive connection whose
    next request is already waiting, the worker would serve that connection again and
    again while the others starve. ``gevent.idle()`` waits until the loop has polled
    the sockets, so every ready connection gets its turn; ``sleep(0)`` would only run
    greenlets already scheduled. Without it the latency tail grows with the number of
    keep-alive connections (benchmarks/README.md, "Why these server settings").
    """
    import gevent

    def application(environ, start_response):
        body = app(environ, start_response)
        gevent.idle()
        return body
    return application


class SimulatorServer(BaseApplication):
    """gunicorn configured from :class:`Settings`, serving ``app_factory(settings)``."""

    def __init__(self, settings: Settings, app_factory: Callable | None = None):
        self.settings = settings
        self.app_factory = app_factory
        super().__init__()

    def load_config(self):
        """gunicorn settings from the simulator's Settings."""
        s = self.settings
        options = {
            "bind": f"{s.host}:{s.port}",
            "workers": s.workers,
            # gunicorn's gevent worker plus read deadlines, a connection-slot policy, a
            # drain that ends injected delays and memory trimming (simulator/worker.py).
            "worker_class": "simulator.worker.SimulatorWorker",
            "worker_connections": s.max_connections,
            "preload_app": True,
            "keepalive": math.ceil(s.header_timeout),
            "timeout": 120,
            # The master waits this long (plus a margin for the worker's 1 s polling)
            # before killing workers that still have requests in flight.
            "graceful_timeout": math.ceil(s.graceful_timeout) + 2,
            "loglevel": s.log_level,
            "logger_class": type("Logger", (SimulatorLogger,), {"SETTINGS": s}),
            "accesslog": "-" if s.access_log else None,
            "access_log_format": ACCESS_FORMAT,
            "when_ready": log_ready,
            "post_worker_init": start_heartbeat,
            "on_exit": leave_replicas,
            # gunicorn's runtime control socket lives in $HOME: several simulators (CI,
            # tests) would share it, and a read-only home would break the start.
            "control_socket_disable": True,
        }
        options.update(tls_options(s))
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self):
        """Build the app once, in the master (preload), and freeze its heap."""
        if self.app_factory is None:
            from simulator.app import create_app
            app = create_app(self.settings)
        else:
            app = self.app_factory(self.settings)
        simulator = getattr(app, "simulator", None)
        if simulator is not None:  # before the fork: the workers share the barrier
            simulator.share_across_processes(self.settings.workers)
        # The app is built once in the master (preload): move everything it allocated
        # (spyne models, faker data, the registry) out of the collector's reach, so that
        # the workers' collections only walk what requests allocate.
        gc.collect()
        gc.freeze()
        application = take_turns(app)
        # The worker's drain ends injected delays through this (simulator/worker.py).
        # (SimulatorApp.cut_sleeps: its tenants' delays too)
        clock = getattr(getattr(app, "simulator", None), "clock", None)
        application.cut_sleeps = getattr(app, "cut_sleeps", None) \
            or (clock.cut_sleeps if clock is not None else None)
        application.replica = getattr(simulator, "replica", None)  # its heartbeat
        return application


def service_urls(settings: Settings, port: int) -> dict[str, str]:
    """The URLs a client uses: the services, the INSi WSDL and the dashboard. A wildcard
    host is shown as loopback (where a client on this machine reaches it)."""
    base = health_url(settings.with_changes(port=port)).removesuffix("/_admin/health")
    return {"insi": f"{base}/lps", "wsdl": f"{base}/lps?wsdl",
            "dmp": f"{base}/si-dmp-server/v2/services/",
            "dashboard": f"{base}/_admin/"}


def start_heartbeat(worker) -> None:
    """gunicorn's ``post_worker_init`` (in the worker, after gevent's patch): start the
    replica's heartbeat in this worker (simulator/replicas.py)."""
    replica = getattr(worker.wsgi, "replica", None)
    if replica is not None:
        replica.start()


def leave_replicas(arbiter) -> None:
    """gunicorn's ``on_exit`` (in the master, stopping cleanly): this replica leaves the
    list of ``GET /_admin/replicas``; a killed one stays there, stale."""
    replica = getattr(getattr(arbiter.app, "callable", None), "replica", None)
    if replica is not None:
        replica.leave()


def log_ready(arbiter) -> None:
    """gunicorn's ``when_ready``: the port is bound (its real number when 0 was asked)."""
    port = arbiter.LISTENERS[0].sock.getsockname()[1]
    urls = service_urls(arbiter.app.settings, port)
    LOG.info("Ready on port %s: INSi %s (WSDL %s), DMP %s, dashboard %s", port,
             urls["insi"], urls["wsdl"], urls["dmp"], urls["dashboard"],
             extra={"port": port, "urls": urls})


def tls_options(settings: Settings) -> dict:
    """gunicorn's SSL settings: a client certificate is verified against
    ``tls_client_ca`` when one is sent (required with ``tls_require_client_cert``)."""
    if not settings.tls:
        return {}
    if settings.tls_client_ca is None:
        cert_reqs = ssl.CERT_NONE
    else:
        cert_reqs = ssl.CERT_REQUIRED if settings.tls_require_client_cert else ssl.CERT_OPTIONAL
    options = {"certfile": settings.tls_cert, "keyfile": settings.tls_key,
               "ca_certs": settings.tls_client_ca}
    return {**{k: str(v) for k, v in options.items() if v is not None},
            "cert_reqs": int(cert_reqs)}


def resolve_tls(settings: Settings) -> Settings:
    """With TLS on and no server certificate, use (or generate) the test PKI in
    ``<data-dir>/pki``: its server certificate, and its CA for client certificates
    unless ``tls_client_ca`` names another. Checks that the TLS files exist."""
    if not settings.tls:
        return settings
    if settings.tls_cert is None:
        from simulator.pki import ensure_pki
        data_dir = settings.data_dir or Path(tempfile.mkdtemp(prefix="insi-dmp-sim-"))
        host = settings.host if settings.host not in ("127.0.0.1", "0.0.0.0", "::", "") \
            else "localhost"
        pki, generated = ensure_pki(data_dir / "pki", host=host)
        LOG.info("TLS: %s test PKI in %s (client certificates: client-*.pem, CA: %s)",
                 "generated a" if generated else "using the", pki.directory, pki.ca.cert.name)
        settings = settings.with_changes(
            data_dir=data_dir, tls_cert=pki.server.cert, tls_key=pki.server.key,
            tls_client_ca=settings.tls_client_ca or pki.ca.cert)
    for name in ("tls_cert", "tls_key", "tls_client_ca"):
        path = getattr(settings, name)
        if path is not None and not Path(path).is_file():
            raise SettingsError(f"SIM_{name.upper()}: no such file {str(path)!r}")
    return settings


def serve(settings: Settings, app_factory: Callable | None = None) -> None:
    """Serve ``app_factory(settings)`` (default: the simulator) until interrupted.
    With TLS on, ``settings`` must have gone through :func:`resolve_tls` (the CLI does)."""
    SimulatorServer(settings, app_factory).run()
