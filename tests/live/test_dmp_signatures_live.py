"""Signature verification over a real socket, on a real ``insi-dmp-sim serve`` told by
``--dmp-trusted-cas`` to trust the CA that ``insi-dmp-sim certs`` wrote: the ORG SIGN
certificate of that PKI is accepted; a certificate of another CA, a VIHF changed after
signing and a lot signed by the other CA's certificate each get their refusal."""
from __future__ import annotations

import pytest
import requests
import zeep
from lxml import etree

from simulator.kit import hl7, soap, xds
from simulator.kit.signing import session_pki, signer_of
from dmp_live import (
    DMP_PATH, DOCTOR, NS, SUCCESS, DmpLive, error_contexts, feed, hl7_ack, simulated_now,
    unique_oid, xs_instant)
from server_process import run_cli, spawn_server

WSSE = NS["wsse"]
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """The PKI written by ``insi-dmp-sim certs`` (its CA is the one the server trusts)."""
    out = tmp_path_factory.mktemp("certs") / "pki"
    done = run_cli("certs", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "org-sign-cert.pem" in done.stdout
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory, pki):
    process = spawn_server(tmp_path_factory.mktemp("signatures-live"), "trusting",
                           "--dmp-trusted-cas", str(pki / "test-ca-cert.pem"))
    try:
        process.wait_healthy()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def signed_by_cli_pki(pki):
    return DOCTOR.but(signer=signer_of(pki / "org-sign-key.pem", pki / "org-sign-cert.pem"))


@pytest.fixture(scope="module")
def signed_by_stranger():
    # The test session's own PKI: same names, another CA key, not trusted by the server.
    return DOCTOR.but(signer=signer_of(session_pki().org_sign.key, session_pki().org_sign.cert))


def fault_subcodes(call) -> list[str]:
    with pytest.raises(zeep.exceptions.Fault) as caught:
        call()
    return [code.text for code in caught.value.subcodes]


def test_a_vihf_signed_by_a_trusted_certificate_is_accepted(server, signed_by_cli_pki):
    answer = DmpLive(server.base_url).patients(hl7.query(), signed_by_cli_pki)
    assert hl7_ack(answer.body)[0] == "AA"


def test_a_vihf_signed_by_another_ca_is_a_failed_authentication(server, signed_by_stranger,
                                                              signed_by_cli_pki):
    dmp = DmpLive(server.base_url)
    assert fault_subcodes(lambda: dmp.patients(hl7.query(), signed_by_stranger)) == [
        f"{{{WSSE}}}FailedAuthentication"]
    assert hl7_ack(dmp.patients(hl7.query(), signed_by_cli_pki).body)[0] == "AA"


def test_a_vihf_changed_after_signing_is_a_failed_check(server, signed_by_cli_pki):
    now = simulated_now(server.base_url)
    security = signed_by_cli_pki.security(now)
    security.find(f".//{{{SAML}}}NameID").text = "10B0167011/SOMEONE-ELSE"
    raw = soap.envelope(hl7.query().decode("utf-8"), action="urn:hl7-org:v3:PRPA_IN201307UV02",
                        service="patients", issue_instant=xs_instant(now),
                        host=server.base_url, security=etree.tostring(security).decode())
    http = requests.post(f"{server.base_url}{DMP_PATH}/patients", data=raw,
                         headers={"Content-Type": soap.SOAP_CT}, timeout=10)
    assert http.status_code == 500
    fault = etree.fromstring(http.content).find(f".//{{{NS['soap']}}}Fault")
    assert fault.findtext(f".//{{{NS['soap']}}}Subcode/{{{NS['soap']}}}Value") == \
        "wsse:FailedCheck"
    assert "digest does not match" in fault.findtext(f".//{{{NS['soap']}}}Text")


def test_a_lot_signed_by_another_ca_is_refused_and_a_trusted_one_feeds(
        server, signed_by_cli_pki, signed_by_stranger):
    dmp = DmpLive(server.base_url)
    dmp.patients(hl7.create(), signed_by_cli_pki)  # the DMP exists (AA, or AE if it did)
    stranger = signed_by_stranger.options["signer"]
    refused = feed(server.base_url, (xds.Doc(unique_id=unique_oid()),), signed_by_cli_pki,
                   signer=stranger)
    assert refused.error_codes == ["XDSRegistryMetadataError"]
    assert "(FailedAuthentication)" in error_contexts(refused.response)[0]
    fed = feed(server.base_url, (xds.Doc(unique_id=unique_oid()),), signed_by_cli_pki,
               signer=signed_by_cli_pki.options["signer"])
    assert fed.status == SUCCESS, error_contexts(fed.response)
