"""Running a WSGI app under gunicorn with gevent workers.

gevent workers keep a worker free while a request waits (injected latency, slow
clients); ``preload_app`` builds the app once in the master, so the store is seeded
once before the workers fork.
"""
from __future__ import annotations

import gc
from typing import Callable

from gunicorn.app.base import BaseApplication

from simulator.settings import Settings


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
            "worker_class": "gevent",
            "worker_connections": 1000,
            "preload_app": True,
            "keepalive": 75,
            "timeout": 120,
            "graceful_timeout": 5,
            "loglevel": s.log_level,
            "accesslog": None,
            # gunicorn's runtime control socket lives in $HOME: several simulators (CI,
            # tests) would share it, and a read-only home would break the start.
            "control_socket_disable": True,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self):
        """Build the app once, in the master (preload), and freeze its heap."""
        if self.app_factory is None:
            from simulator.app import create_app
            app = create_app(self.settings)
        else:
            app = self.app_factory(self.settings)
        # The app is built once in the master (preload): move everything it allocated
        # (spyne models, faker data, the registry) out of the collector's reach, so that
        # the workers' collections only walk what requests allocate.
        gc.collect()
        gc.freeze()
        return take_turns(app)


def serve(settings: Settings, app_factory: Callable | None = None) -> None:
    """Serve ``app_factory(settings)`` (default: the simulator) until interrupted."""
    SimulatorServer(settings, app_factory).run()
