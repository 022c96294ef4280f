"""The test PKI of ``insi-dmp-sim certs`` (simulator/pki.py)."""
from __future__ import annotations

import ipaddress
import ssl
import stat

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from simulator.pki import CA_COMMON_NAME, Pki, ensure_pki, generate_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return generate_pki(tmp_path_factory.mktemp("pki"), structure="10B0152872",
                        host="sim.example")


def load(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def attribute(cert: x509.Certificate, oid) -> list[str]:
    return [a.value for a in cert.subject.get_attributes_for_oid(oid)]


def test_ca_is_a_self_signed_simulator_test_ca(pki):
    ca = load(pki.ca.cert)
    assert attribute(ca, NameOID.COMMON_NAME) == [CA_COMMON_NAME]
    assert "SIMULATED" in CA_COMMON_NAME and CA_COMMON_NAME.startswith("TEST AC IGC-SANTE")
    assert "NOT IGC-SANTE" in attribute(ca, NameOID.ORGANIZATIONAL_UNIT_NAME)[0]
    assert ca.issuer == ca.subject
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ca.verify_directly_issued_by(ca)


@pytest.mark.parametrize("which, cn", [("insi_auto", "INSI-AUTO"), ("insi_manu", "INSI-MANU")])
def test_organisation_certificates(pki, which, cn):
    cert, ca = load(getattr(pki, which).cert), load(pki.ca.cert)
    assert attribute(cert, NameOID.COMMON_NAME) == [cn]
    assert attribute(cert, NameOID.ORGANIZATIONAL_UNIT_NAME) == ["10B0152872"]
    assert attribute(cert, NameOID.ORGANIZATION_NAME)[0].endswith("(SIMULATED)")
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usages
    assert cert.public_key().key_size == 2048
    years = (cert.not_valid_after_utc - cert.not_valid_before_utc).days / 365
    assert 2 <= years <= 5


def test_cps_like_personal_certificate(pki):
    cert = load(pki.cps.cert)
    assert attribute(cert, NameOID.COMMON_NAME) == ["899700000001"]
    assert attribute(cert, NameOID.SURNAME) and attribute(cert, NameOID.GIVEN_NAME)
    assert attribute(cert, NameOID.TITLE)
    cert.verify_directly_issued_by(load(pki.ca.cert))


def test_org_sign_certificate_is_shaped_like_igc_sante_org_sign(pki):
    cert = load(pki.org_sign.cert)
    assert attribute(cert, NameOID.COMMON_NAME) == ["ORG-SIGN"]
    assert attribute(cert, NameOID.ORGANIZATIONAL_UNIT_NAME) == ["10B0152872"]
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    assert not usage.key_encipherment and not usage.key_cert_sign
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    cert.verify_directly_issued_by(load(pki.ca.cert))
    assert "ORG SIGN" in (pki.directory / "README.txt").read_text()


def test_server_certificate_names(pki):
    cert = load(pki.server.cert)
    assert attribute(cert, NameOID.COMMON_NAME) == ["sim.example"]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "sim.example"}
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert ExtendedKeyUsageOID.SERVER_AUTH in cert.extensions.get_extension_for_class(
        x509.ExtendedKeyUsage).value
    cert.verify_directly_issued_by(load(pki.ca.cert))


def test_files_load_in_ssl_contexts(pki):
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca.cert))
    server.load_cert_chain(str(pki.server.cert), str(pki.server.key))
    client = ssl.create_default_context(cafile=str(pki.ca.cert))
    for issued in (pki.insi_auto, pki.insi_manu, pki.cps):
        client.load_cert_chain(str(issued.combined))  # key + certificate in one file
        client.load_cert_chain(str(issued.cert), str(issued.key))


def test_keys_are_private_and_the_directory_is_explained(pki):
    for issued in pki.all():
        assert stat.S_IMODE(issued.key.stat().st_mode) == 0o600
    readme = (pki.directory / "README.txt").read_text()
    assert "client-insi-auto.pem" in readme and "NOT for production" in readme


def test_ensure_pki_reuses_a_complete_directory(tmp_path):
    first, generated = ensure_pki(tmp_path / "pki")
    assert generated
    before = first.server.cert.read_bytes()
    again, generated = ensure_pki(tmp_path / "pki")
    assert not generated and again.server.cert.read_bytes() == before
    first.cps.key.unlink()
    _, generated = ensure_pki(tmp_path / "pki")
    assert generated
