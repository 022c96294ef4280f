"""The container health check: ``python3 -m simulator.healthcheck`` (also
``insi-dmp-sim health``) exits 0 when ``/_admin/health`` answers.

It reads the same ``SIM_*`` settings as the server, so it follows ``SIM_PORT`` and, under
``SIM_TLS``, speaks https (the server certificate is not verified: this is a liveness
probe) and presents ``<data-dir>/pki/client-insi-auto.pem``, the generated client
certificate, when it exists (a server with a required client certificate asks for one).
It imports no more than the settings, as it runs every second in the image.
"""
from __future__ import annotations

import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path

from simulator.settings import Settings, SettingsError


def health_url(settings: Settings) -> str:
    """``/_admin/health`` of the server these settings describe, seen from its host."""
    host = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(
        settings.host, f"[{settings.host}]" if ":" in settings.host else settings.host)
    return f"{'https' if settings.tls else 'http'}://{host}:{settings.port}/_admin/health"


def probe(settings: Settings, client_cert: str | None = None, timeout: float = 2) -> str | None:
    """None when healthy, else why not (one line)."""
    url = health_url(settings)
    context = None
    if settings.tls:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        cert = client_cert or (settings.data_dir and
                               Path(settings.data_dir) / "pki" / "client-insi-auto.pem")
        if cert and Path(cert).is_file():
            context.load_cert_chain(str(cert))
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as answer:
            answer.read()
    except urllib.error.URLError as exc:
        return f"{url}: {exc.reason}"
    except OSError as exc:
        return f"{url}: {exc}"
    return None


def main(settings: Settings | None = None, client_cert: str | None = None) -> int:
    """Exit status of the check: 0 healthy, 1 not (why on stderr), 2 bad settings."""
    try:
        settings = settings or Settings.from_env()
    except SettingsError as exc:
        print(f"insi-dmp-sim: {exc}", file=sys.stderr)
        return 2
    problem = probe(settings, client_cert)
    if problem:
        print(f"insi-dmp-sim: not healthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
