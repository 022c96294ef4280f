"""The real ``insi-dmp-sim serve`` command: a gunicorn process tree on a real port.

Started in its own process group (so SIGTERM reaches the master and its workers and a
failing test can always kill everything it started), polled on ``/_admin/health``,
called once with zeep, then stopped.
"""
from __future__ import annotations

import requests
from lxml import etree

from insi_live import build_our_client
from server_process import SimProcess, free_port, spawn_server



def spawn(tmp_path, name, **options) -> SimProcess:
    """The real server with the default population (start-up time is measured)."""
    return spawn_server(tmp_path, name, population=None, **options)


def test_serve_command_health_search_and_sigterm(tmp_path):
    timings = []
    server = None
    try:
        # Time to healthy is measured and printed, not bounded: on a shared machine it
        # went from about 1 s idle to 7 s under load (benchmarks/ has the figures).
        server = spawn(tmp_path, "serve")
        timings.append(server.wait_healthy())
        print(f"time to healthy: {timings[0]:.3f} s")

        health = requests.get(server.base_url + "/_admin/health", timeout=5).json()
        assert health["status"] == "ok" and "/lps" in health["services"]

        client = build_our_client(server.base_url)
        try:
            result = client.traits("ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14")
            assert result.CR.CodeCR == "00"
            assert result.INDIVIDU.INSACTIF.IdIndividu.NumIdentifiant == "1090763220834"
            assert len(result.INDIVIDU.INSHISTO) == 2
            assert client.last_status == 200
        finally:
            client.transport.session.close()

        # The simulated clock lives in the shared store: every worker sees the move.
        moved = requests.put(server.base_url + "/_admin/clock",
                             json={"now": "2022-06-01T10:00:00Z"}, timeout=5)
        assert moved.status_code == 200, moved.text
        envelope = etree.tostring(client.client.create_message(
            client.client.service, "rechercherInsAvecTraitsIdentite", NomNaissance="ECETINSI",
            Prenom=["PIERRE-ALAIN"], Sexe="M", DateNaissance="2009-07-14",
            _soapheaders=client.headers()), xml_declaration=True, encoding="utf-8")
        for _ in range(6):  # fresh connections, spread over the workers
            raw = requests.post(client.address, data=envelope, timeout=5, headers={
                "Content-Type": "application/soap+xml; charset=utf-8", "Connection": "close"})
            assert raw.status_code == 200
            assert b"<ns2:RESULTAT" in raw.content and b"<ns2:Prenom>PIERRE-ALAIN<" in raw.content

        waited = server.terminate()
        assert server.process.returncode is not None, (
            f"still running {waited:.1f} s after SIGTERM:\n{server.log_tail()}")
        print(f"exit after SIGTERM: {waited:.3f} s (code {server.process.returncode})")
        assert server.process.returncode == 0, server.log_tail()
    finally:
        if server is not None:
            server.stop()


def test_sim_port_from_the_environment(tmp_path):
    port = free_port()
    server = spawn(tmp_path, "env-port", env_port=port)
    try:
        server.wait_healthy()
        health = requests.get(f"http://127.0.0.1:{port}/_admin/health", timeout=5)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert f"{port}" in server.log_tail()
        waited = server.terminate()
        assert server.process.returncode is not None, f"running {waited:.1f} s after SIGTERM"
    finally:
        server.stop()
