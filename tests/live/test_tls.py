"""``insi-dmp-sim certs`` and ``insi-dmp-sim serve --tls``: a real gunicorn over TLS,
called with the generated client certificates (domain brief §2.4)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from envelopes import SOAP_CT, traits_request
from server_process import HTTP_TIMEOUT, run_cli, spawn_server

GOLDEN = Path(__file__).parents[1] / "wire" / "golden"
ADRTROIS = traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26")


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tls") / "pki"
    done = run_cli("certs", "--out", str(out), "--structure", "10B0152872")
    assert done.returncode == 0, done.stderr
    for name in ("test-ca-cert.pem", "server-cert.pem", "server-key.pem",
                 "client-insi-auto.pem", "client-insi-manu.pem", "client-cps-personal.pem"):
        assert name in done.stdout and (out / name).is_file()
    return out


@pytest.fixture(scope="module")
def server(pki, tmp_path_factory):
    ca = str(pki / "test-ca-cert.pem")
    process = spawn_server(
        tmp_path_factory.mktemp("tls-server"), "tls", "--tls",
        "--tls-cert", str(pki / "server-cert.pem"), "--tls-key", str(pki / "server-key.pem"),
        "--date", "2025-06-01T10:00:00Z",
        env={"SIM_TLS_CLIENT_CA": ca, "SIM_TLS_REQUIRE_CLIENT_CERT": "true"},
        scheme="https", client_options={"cert": str(pki / "client-insi-auto.pem"), "verify": ca})
    try:
        process.wait_healthy()
        yield process
    finally:
        process.stop()


def search(server, pki: Path, client_pem: str | None) -> requests.Response:
    return requests.post(server.lps_url, data=ADRTROIS, headers={"Content-Type": SOAP_CT},
                         cert=str(pki / client_pem) if client_pem else None,
                         verify=str(pki / "test-ca-cert.pem"), timeout=HTTP_TIMEOUT)


def test_organisation_certificate_gets_its_answer(server, pki):
    assert server.lps_url.startswith("https://")
    for client_pem in ("client-insi-auto.pem", "client-insi-manu.pem"):
        response = search(server, pki, client_pem)
        assert response.status_code == 200, response.text
        assert "<CodeCR>00</CodeCR>" in response.text
        assert "<NumIdentifiant>297022A020778</NumIdentifiant>" in response.text


def test_personal_certificate_gets_desir_560(server, pki):
    response = search(server, pki, "client-cps-personal.pem")
    assert response.status_code == 500
    assert response.content == (GOLDEN / "fault_desir560_current.xml").read_bytes()


def test_separate_key_and_certificate_files_work(server, pki):
    response = requests.post(
        server.lps_url, data=ADRTROIS, headers={"Content-Type": SOAP_CT},
        cert=(str(pki / "client-cps-personal-cert.pem"), str(pki / "client-cps-personal-key.pem")),
        verify=str(pki / "test-ca-cert.pem"), timeout=HTTP_TIMEOUT)
    assert response.status_code == 500 and 'code="DESIR_560"' in response.text


def test_no_client_certificate_is_refused_at_the_handshake(server, pki):
    with pytest.raises(requests.exceptions.ConnectionError):  # SSLError is one
        search(server, pki, None).raise_for_status()


def test_certificate_from_another_ca_is_refused(server, pki, tmp_path):
    done = run_cli("certs", "--out", str(tmp_path / "other"))
    assert done.returncode == 0, done.stderr
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(server.lps_url, data=ADRTROIS, headers={"Content-Type": SOAP_CT},
                      cert=str(tmp_path / "other" / "client-insi-auto.pem"),
                      verify=str(pki / "test-ca-cert.pem"), timeout=HTTP_TIMEOUT)


def test_plain_http_is_not_served(server):
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{server.port}/_admin/health", timeout=HTTP_TIMEOUT)


def test_health_over_https_with_a_client_certificate(server):
    response = server.admin("GET", "/_admin/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_tls_without_files_generates_a_pki_in_the_data_dir(tmp_path):
    """``serve --tls`` alone: <data-dir>/pki is generated, its CA verifies clients that
    send a certificate, and clients without one are served (no client cert required)."""
    process = spawn_server(tmp_path, "auto", "--tls", "--date", "2025-06-01T10:00:00Z",
                           scheme="https")
    pki = tmp_path / "auto-data" / "pki"
    try:
        while not (pki / "README.txt").is_file():  # written last
            assert process.process.poll() is None, process.log_tail()
            # a guard against waiting forever, not a performance bound
            assert time.monotonic() - process.started < 120, process.log_tail()
            time.sleep(0.05)
        process.client_options = {"verify": str(pki / "test-ca-cert.pem")}
        process.wait_healthy()
        assert search(process, pki, None).status_code == 200
        assert search(process, pki, "client-insi-auto.pem").status_code == 200
        refused = search(process, pki, "client-cps-personal.pem")
        assert refused.status_code == 500 and 'code="DESIR_560"' in refused.text
    finally:
        process.stop()
