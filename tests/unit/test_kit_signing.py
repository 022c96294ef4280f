"""The client kit's signing, checked independently of the simulator's verifier.

The kit (simulator/kit/signing.py) signs with lxml's canonicalisation and cryptography;
the simulator verifies with signxml. Most tests send kit-signed requests, so a bug both
sides shared would pass them all. Two anchors that do not move with either side:

- a frozen sample: the walk-through's TD0.2 request (docs/examples/dmp), signed once and
  kept as bytes; the verifier must accept it and refuse it altered, and the kit's own
  canonicalisation must give back its digest and a SignedInfo its signature value
  verifies over (RSA-SHA256, checked with cryptography alone);
- a signature computed by hand: RSA PKCS#1 v1.5 is deterministic, so a kit signature is
  checked against the value cryptography computes over the canonical SignedInfo that
  the standard library's C14N 2.0 writer produces (a third implementation).

And the kit stays out of the server: serving imports no kit module.
"""
from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from simulator.kit import signing, vihf
from simulator.services.dmp.xmldsig import (
    FAILED_CHECK, SAML, SignatureError, SignatureVerifier, verify_vihf_signature)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "docs" / "examples" / "dmp" / "01-test-existence.xml"
DSIG = signing.DSIG


def sample_assertion() -> etree._Element:
    return etree.parse(str(SAMPLE)).getroot().find(f".//{{{SAML}}}Assertion")


def test_the_verifier_accepts_the_frozen_sample_and_refuses_it_altered():
    verify_vihf_signature(SignatureVerifier(), sample_assertion())
    altered = sample_assertion()
    altered.find(f".//{{{SAML}}}NameID").text = "10B0167011/00B9999999"
    with pytest.raises(SignatureError) as caught:
        verify_vihf_signature(SignatureVerifier(), altered)
    assert caught.value.kind == FAILED_CHECK


def test_the_kit_canonicalisation_gives_back_the_frozen_sample_signature():
    assertion = sample_assertion()
    signature = assertion.find(f"{{{DSIG}}}Signature")
    reference = signature.find(f"{{{DSIG}}}SignedInfo/{{{DSIG}}}Reference")
    transform = reference.findall(f"{{{DSIG}}}Transforms/{{{DSIG}}}Transform")[-1]
    certificate = x509.load_der_x509_certificate(base64.b64decode(
        signature.findtext(f".//{{{DSIG}}}X509Certificate")))
    signed_info = signature.find(f"{{{DSIG}}}SignedInfo")
    canonical_info = signing._c14n(signed_info, signed_info.find(
        f"{{{DSIG}}}CanonicalizationMethod"))
    assertion.remove(signature)  # the enveloped-signature transform
    digest = hashlib.sha256(signing._c14n(assertion, transform)).digest()
    assert base64.b64encode(digest).decode() == reference.findtext(f"{{{DSIG}}}DigestValue")
    certificate.public_key().verify(
        base64.b64decode(signature.findtext(f"{{{DSIG}}}SignatureValue")), canonical_info,
        padding.PKCS1v15(), hashes.SHA256())


def _stdlib_c14n(element: etree._Element) -> bytes:
    """C14N 2.0 of the standard library (ElementTree), over a serialised copy."""
    return ET.canonicalize(etree.tostring(element)).encode("utf-8")


def test_a_kit_signature_equals_one_computed_by_hand():
    signer = signing.self_signed(key_size=1024)
    security = etree.fromstring(vihf.vihf("2025-01-15T10:00:00Z", signer=signer,
                                          **vihf.structure()))
    signature = security.find(f".//{{{DSIG}}}Signature")
    signed_info = signature.find(f"{{{DSIG}}}SignedInfo")
    # The SignedInfo has no comment, no redundant namespace and no attribute needing
    # sorting beyond what both writers do: exclusive C14N 1.0 and C14N 2.0 agree on it.
    by_hand = signer.key.sign(_stdlib_c14n(signed_info), padding.PKCS1v15(), hashes.SHA256())
    assert base64.b64encode(by_hand).decode() == \
        signature.findtext(f"{{{DSIG}}}SignatureValue")
    # and a changed SignedInfo no longer verifies: the check can fail
    signed_info.find(f".//{{{DSIG}}}DigestValue").text = "AAAA"
    with pytest.raises(InvalidSignature):
        signer.certificate.public_key().verify(
            by_hand, _stdlib_c14n(signed_info), padding.PKCS1v15(), hashes.SHA256())


def test_importing_the_kit_or_serving_loads_no_kit_module():
    code = (
        "import sys\n"
        "import simulator.kit\n"
        "assert [m for m in sys.modules if m.startswith('simulator.kit.')] == []\n"
        "assert 'cryptography' not in sys.modules and 'lxml' not in sys.modules\n"
        "from simulator.app import create_app\n"
        "from simulator.settings import Settings\n"
        "import tempfile\n"
        "create_app(Settings.from_env(data_dir=tempfile.mkdtemp(), population=10))\n"
        "print(sorted(m for m in sys.modules if m.startswith('simulator.kit.')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
