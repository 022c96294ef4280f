"""Serve the bare spyne echo with the simulator's own server configuration.

    python -m benchmarks.serve_echo PORT

Same gunicorn settings, gevent workers and turn-taking wrapper as
``insi-dmp-sim serve``, so that the benchmark compares the applications only.
"""
from __future__ import annotations

import sys

from benchmarks.echo_service import application
from simulator.server import serve
from simulator.settings import Settings

if __name__ == "__main__":
    serve(Settings.from_env(port=int(sys.argv[1])), lambda settings: application)
