"""Running the WSGI app under gunicorn with gevent workers.

gevent workers keep a worker free while a request waits (injected latency, slow
clients); ``preload_app`` builds the app once in the master, so the store is seeded
once before the workers fork.
"""
from __future__ import annotations

from gunicorn.app.base import BaseApplication

from simulator.app import create_app
from simulator.settings import Settings


class SimulatorServer(BaseApplication):
    """gunicorn configured from :class:`Settings`."""

    def __init__(self, settings: Settings):
        self.settings = settings
        super().__init__()

    def load_config(self):
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
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self):
        return create_app(self.settings)


def serve(settings: Settings) -> None:
    """Serve until interrupted."""
    SimulatorServer(settings).run()
