"""The INSi mTLS rule: a verified client certificate must be INSI-AUTO or INSI-MANU.

gunicorn hands the connection's socket to the app as ``environ['gunicorn.socket']``;
here a stand-in socket gives the certificate as ``ssl.SSLSocket.getpeercert()`` would.
tests/live/test_tls.py checks the same rule over real TLS.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from envelopes import MESSAGE_ID, SOAP_CT, traits_request
from simulator.services.insi.errors import InsiError
from simulator.services.insi.rendering import render_fault

GOLDEN = Path(__file__).parent / "golden"
ADRTROIS = traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26")


class PeerSocket:
    """What the app reads of a TLS socket: the verified peer certificate."""

    def __init__(self, certificate: dict):
        self.certificate = certificate

    def getpeercert(self):
        return self.certificate


def subject(**names) -> dict:
    keys = {"C": "countryName", "O": "organizationName", "OU": "organizationalUnitName",
            "CN": "commonName", "SN": "surname", "GN": "givenName", "title": "title"}
    return {"subject": tuple(((keys[k], v),) for k, v in names.items())}


ORGANISATION = dict(C="FR", O="CENTRE HOSPITALIER DE TEST", OU="10B0152872")
CPS = subject(C="FR", O="CENTRE HOSPITALIER DE TEST", title="MEDECIN", SN="TESTEUR",
              GN="CAMILLE", CN="899700000001")


def post(client, certificate=None, **kwargs):
    overrides = {} if certificate is None else {"gunicorn.socket": PeerSocket(certificate)}
    return client.post("/lps", data=kwargs.get("body", ADRTROIS), content_type=SOAP_CT,
                       environ_overrides=overrides)


def at(client, when: str) -> None:
    assert client.put("/_admin/clock", json={"now": when, "frozen": True}).status_code == 200


def test_desir_560_rendering_matches_the_golden_file():
    body = render_fault(InsiError.ACCESS_LEVEL_INSUFFICIENT.spec, "current", MESSAGE_ID)
    assert body == (GOLDEN / "fault_desir560_current.xml").read_bytes()


def test_personal_certificate_gets_desir_560(client):
    at(client, "2026-05-21")
    response = post(client, CPS)
    assert response.status_code == 500
    assert response.data == (GOLDEN / "fault_desir560_current.xml").read_bytes()
    entry = client.get("/_admin/journal?limit=1").json["entries"][0]
    assert entry["outcome"] == "fault siram_100/DESIR_560"


@pytest.mark.parametrize("cn", ["INSI-AUTO", "INSI-MANU"])
def test_organisation_certificates_are_served(client, cn):
    response = post(client, subject(**ORGANISATION, CN=cn))
    assert response.status_code == 200 and b"<CodeCR>00</CodeCR>" in response.data


@pytest.mark.parametrize("cn", ["insi-auto", "INSI_AUTO", "INSI-AUTO ", "INSI-AUTO-2",
                                "INSI-OTHER"])
def test_the_cn_must_be_exact(client, cn):
    response = post(client, subject(**ORGANISATION, CN=cn))
    assert response.status_code == 500 and b'code="DESIR_560"' in response.data


def test_a_second_cn_is_refused(client):
    certificate = {"subject": ((("commonName", "INSI-AUTO"),), (("commonName", "OTHER"),))}
    assert b"DESIR_560" in post(client, certificate).data


@pytest.mark.parametrize("certificate", [None, {}], ids=["plain-http", "not-verified"])
def test_without_a_verified_certificate_nothing_changes(client, certificate):
    response = post(client, certificate)
    assert response.status_code == 200 and b"<CodeCR>00</CodeCR>" in response.data


def test_legacy_generation_of_desir_560(client):
    at(client, "2023-06-01")
    response = post(client, CPS)
    assert response.status_code == 500
    assert b"<S:Subcode><S:Value>S:siram_100</S:Value></S:Subcode>" in response.data
    assert b'<siram:Erreur code="DESIR_560" messageID=' in response.data
