"""The signature rules (services/dmp/xmldsig.py, xds/lot_signature.py) on real signatures
made with the test PKI: what verifies, and each refusal with its WS-Security kind."""
from __future__ import annotations

import base64
import hashlib
import tracemalloc
from datetime import datetime, timezone

import pytest
from lxml import etree

from simulator.kit import soap as builder
from simulator.kit.signing import (
    DSIG, EXC_C14N, RSA_SHA1, RSA_SHA256, SHA1, SHA256, signer_of, session_pki)
from simulator.kit.xds import C14N_WITH_COMMENTS, Doc, cda_document, provide_and_register
from simulator.pki import generate_pki
from simulator.services.dmp.xds.lot_signature import _digest_problem, lot_signature_errors
from simulator.services.dmp.xds.submission import parse_provide_and_register
from simulator.services.dmp.xmldsig import (
    FAILED_CHECK, INVALID, MAX_REFERENCES, MAX_TRANSFORMS, SAML, UNSUPPORTED, UNTRUSTED,
    SignatureError, SignatureVerifier, verify_vihf_signature)

NO_TRUST = SignatureVerifier()


def real_now():
    return datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory):
    """A second test PKI: its CA is not the one the DMP is told to trust."""
    return generate_pki(tmp_path_factory.mktemp("other-pki"))


def trusting_test_ca() -> SignatureVerifier:
    return SignatureVerifier.from_files([session_pki().ca.cert], real_now)


def assertion(**options) -> etree._Element:
    security = etree.fromstring(builder.vihf("2024-03-01T09:58:30Z", **options))
    return security.find(f"{{{SAML}}}Assertion")


def refusal(call) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        call()
    return caught.value


def signature_of(element: etree._Element) -> etree._Element:
    return element.find(f"{{{DSIG}}}Signature")


# --- the VIHF ------------------------------------------------------------------------


@pytest.mark.parametrize("method, digest", [
    (RSA_SHA1, SHA1),  # the kit and DRIMbox (brief §4.2): SHA-1 must stay accepted
    (RSA_SHA256, SHA256)])  # the 2024 IG example
def test_a_signed_vihf_verifies_with_the_certificate_it_carries(method, digest):
    verified = verify_vihf_signature(NO_TRUST, assertion(method=method, digest=digest))
    assert verified.certificate.subject.rfc4514_string().startswith("CN=ORG-SIGN,")
    assert verified.references[0].startswith("#_")


def test_an_attribute_changed_after_signing_is_a_failed_check():
    vihf = assertion()
    vihf.find(f".//{{{SAML}}}NameID").text = "10B0167011/SOMEONE-ELSE"
    error = refusal(lambda: verify_vihf_signature(NO_TRUST, vihf))
    assert error.kind == FAILED_CHECK and "digest does not match" in str(error)


def test_a_wrong_digest_value_is_a_failed_check():
    vihf = assertion()
    signature_of(vihf).find(f".//{{{DSIG}}}DigestValue").text = base64.b64encode(
        b"\0" * 32).decode()
    error = refusal(lambda: verify_vihf_signature(NO_TRUST, vihf))
    # SignedInfo changed too, so the signature value is what fails first.
    assert error.kind == FAILED_CHECK


def test_a_bad_signature_value_is_a_failed_check():
    vihf = assertion()
    value = signature_of(vihf).find(f"{{{DSIG}}}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[10] ^= 0xFF
    value.text = base64.b64encode(bytes(raw)).decode()
    error = refusal(lambda: verify_vihf_signature(NO_TRUST, vihf))
    assert error.kind == FAILED_CHECK and "SignatureValue does not verify" in str(error)
    assert "CN=ORG-SIGN" in str(error)


def test_a_wrong_canonicalisation_is_a_failed_check():
    # Signed with exclusive C14N; declaring inclusive C14N changes the bytes verified.
    vihf = assertion()
    signature_of(vihf).find(f".//{{{DSIG}}}CanonicalizationMethod").set(
        "Algorithm", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315")
    assert refusal(lambda: verify_vihf_signature(NO_TRUST, vihf)).kind == FAILED_CHECK


def test_the_signature_is_verified_with_the_carried_certificate_only(other_pki):
    # Another certificate in KeyInfo: the signature does not verify with its key.
    vihf = assertion()
    other = signer_of(other_pki.org_sign.key, other_pki.org_sign.cert)
    signature_of(vihf).find(f".//{{{DSIG}}}X509Certificate").text = other.certificate_b64
    assert refusal(lambda: verify_vihf_signature(NO_TRUST, vihf)).kind == FAILED_CHECK


def test_without_trusted_cas_any_certificate_that_verifies_is_accepted(other_pki):
    signer = signer_of(other_pki.org_sign.key, other_pki.org_sign.cert)
    assert verify_vihf_signature(NO_TRUST, assertion(signer=signer))


def test_with_trusted_cas_the_chain_is_judged(other_pki):
    verifier = trusting_test_ca()
    assert verifier.judges_chain
    assert verify_vihf_signature(verifier, assertion())  # the trusted CA's ORG SIGN
    signer = signer_of(other_pki.org_sign.key, other_pki.org_sign.cert)
    error = refusal(lambda: verify_vihf_signature(verifier, assertion(signer=signer)))
    assert error.kind == UNTRUSTED and "SIM_DMP_TRUSTED_CAS" in str(error)


def test_a_certificate_without_a_signing_key_usage_is_not_trusted():
    # The test CA's server certificate (digitalSignature + keyEncipherment) is accepted;
    # the CA certificate itself (keyCertSign only) is not a signer.
    pki = session_pki()
    ca_signer = signer_of(pki.ca.key, pki.ca.cert)
    error = refusal(lambda: verify_vihf_signature(trusting_test_ca(),
                                                  assertion(signer=ca_signer)))
    assert error.kind == UNTRUSTED


def test_a_missing_certificate_is_invalid_security():
    vihf = assertion()
    key_info = signature_of(vihf).find(f"{{{DSIG}}}KeyInfo")
    key_info.getparent().remove(key_info)
    error = refusal(lambda: verify_vihf_signature(NO_TRUST, vihf))
    assert error.kind == INVALID and "X509Certificate is missing" in str(error)


def test_the_signature_must_cover_the_assertion_itself():
    vihf = assertion()
    signature_of(vihf).find(f".//{{{DSIG}}}Reference").set("URI", "#elsewhere")
    error = refusal(lambda: verify_vihf_signature(NO_TRUST, vihf))
    assert error.kind == INVALID and "SAML 2.0 core §5.4.2" in str(error)


def test_the_signature_must_follow_the_issuer():
    vihf = assertion()
    signature = signature_of(vihf)
    vihf.remove(signature)
    vihf.append(signature)
    error = refusal(lambda: verify_vihf_signature(NO_TRUST, vihf))
    assert error.kind == INVALID and "right after saml:Issuer" in str(error)


def test_an_unknown_transform_is_an_unsupported_algorithm():
    vihf = assertion()
    signature_of(vihf).find(f".//{{{DSIG}}}Transform").set(
        "Algorithm", "http://www.w3.org/TR/1999/REC-xslt-19991116")
    error = refusal(lambda: verify_vihf_signature(NO_TRUST, vihf))
    assert error.kind == UNSUPPORTED and "REC-xslt" in str(error)


def test_transforms_and_references_are_bounded():
    vihf = assertion()
    transforms = signature_of(vihf).find(f".//{{{DSIG}}}Transforms")
    for _ in range(MAX_TRANSFORMS):
        etree.SubElement(transforms, f"{{{DSIG}}}Transform", Algorithm=EXC_C14N)
    error = refusal(lambda: NO_TRUST.verify(vihf, signature_of(vihf)))
    assert error.kind == INVALID and f"at most {MAX_TRANSFORMS}" in str(error)
    vihf = assertion()
    signed_info = signature_of(vihf).find(f"{{{DSIG}}}SignedInfo")
    reference = signed_info.find(f"{{{DSIG}}}Reference")
    for _ in range(MAX_REFERENCES):
        signed_info.append(etree.fromstring(etree.tostring(reference)))
    error = refusal(lambda: NO_TRUST.verify(vihf, signature_of(vihf)))
    assert error.kind == INVALID and f"from 1 to {MAX_REFERENCES}" in str(error)


def test_trusted_ca_files_must_hold_certificates(tmp_path):
    empty = tmp_path / "empty.pem"
    empty.write_text("no certificate here\n")
    with pytest.raises(ValueError, match="empty.pem"):
        SignatureVerifier.from_files([empty])


# --- the XAdES lot signature ---------------------------------------------------------


def submission(**options):
    request = provide_and_register((Doc(),), **options)
    return parse_provide_and_register(etree.fromstring(request.body))


def resigned(sub, change) -> None:
    """Apply ``change`` to the lot signature document of ``sub`` (not re-signed)."""
    root = etree.fromstring(sub.contents["Signature01"])
    change(root)
    sub.contents["Signature01"] = etree.tostring(root)


def messages(errors) -> list[str]:
    return [(e.code, e.location, e.message) for e in errors]


def test_a_real_lot_signature_passes_with_and_without_trust():
    sub = submission()
    assert lot_signature_errors(sub) == []
    assert lot_signature_errors(sub, trusting_test_ca()) == []


def test_a_manifest_changed_after_signing_is_refused():
    # The document and the manifest digest changed together: only SignedInfo sees it.
    sub = submission()
    other = cda_document(unique_id="1.2.250.1.999.1.1.8121.21.1").replace(b"ZOE", b"ZOA")
    sub.contents["DocumentCDA"] = other
    canonical = etree.tostring(etree.fromstring(other).getroottree(), method="c14n",
                               with_comments=True)
    digest = base64.b64encode(hashlib.sha1(canonical).digest()).decode()

    def forge(root):
        root.xpath("//ds:Manifest/ds:Reference[2]/ds:DigestValue",
                   namespaces={"ds": DSIG})[0].text = digest
    resigned(sub, forge)
    (code, location, message), = messages(lot_signature_errors(sub))
    assert (code, location) == ("XDSRegistryMetadataError", "Signature01")
    assert "(FailedCheck)" in message and "#IHEManifest" in message


def test_a_document_changed_after_signing_is_refused_by_the_manifest():
    sub = submission()
    sub.contents["DocumentCDA"] = sub.contents["DocumentCDA"].replace(b"ZOE", b"ZOA")
    (code, location, message), = messages(lot_signature_errors(sub))
    assert (code, location) == ("XDSRegistryMetadataError", "DocumentCDA")
    assert "is not the SHA-1 of the document" in message


def test_a_bad_lot_signature_value_is_refused():
    sub = submission()

    def flip(root):
        value = root.find(f"{{{DSIG}}}SignatureValue")
        value.text = base64.b64encode(b"\1" * 256).decode()
    resigned(sub, flip)
    (_, _, message), = messages(lot_signature_errors(sub))
    assert "(FailedCheck)" in message and "SignatureValue does not verify" in message


def test_an_untrusted_lot_signer_is_refused_only_with_trust(other_pki):
    sub = submission(signer=signer_of(other_pki.org_sign.key, other_pki.org_sign.cert))
    assert lot_signature_errors(sub) == []
    (_, _, message), = messages(lot_signature_errors(sub, trusting_test_ca()))
    assert "(FailedAuthentication)" in message


def test_signed_info_must_cover_the_manifest_and_the_signed_properties():
    sub = submission()

    def unsign_properties(root):
        signed_info = root.find(f"{{{DSIG}}}SignedInfo")
        signed_info.remove(signed_info.findall(f"{{{DSIG}}}Reference")[1])
    resigned(sub, unsign_properties)
    (_, _, message), = messages(lot_signature_errors(sub))
    assert "must sign its XAdES SignedProperties" in message


def test_relaxed_security_leaves_signed_info_unchecked_but_not_the_manifest():
    sub = submission()
    resigned(sub, lambda root: root.find(f"{{{DSIG}}}SignatureValue").__setattr__(
        "text", "AAAA"))
    assert lot_signature_errors(sub, None) == []
    sub.contents["DocumentCDA"] = sub.contents["DocumentCDA"].replace(b"ZOE", b"ZOA")
    assert [e.location for e in lot_signature_errors(sub, None)] == ["DocumentCDA"]


# --- the memory of manifest digests (issue 14) ---------------------------------------


C14N11_WITH_COMMENTS = "http://www.w3.org/2006/12/xml-c14n11#WithComments"


def _reference(transforms: int) -> etree._Element:
    # Alternating algorithms, each keeping the comment: every step is a new 2 MB form.
    steps = "".join(f'<Transform Algorithm="{(C14N_WITH_COMMENTS, C14N11_WITH_COMMENTS)[n % 2]}"/>'
                    for n in range(transforms))
    return etree.fromstring(
        f'<Reference xmlns="{DSIG}" URI="urn:oid:1.2.3"><Transforms>{steps}</Transforms>'
        f'<DigestMethod Algorithm="{SHA1}"/><DigestValue>{"A" * 27}=</DigestValue>'
        "</Reference>")


def _peak(reference, content) -> int:
    tracemalloc.start()
    try:
        assert "is not the SHA-1" in _digest_problem(reference, content)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_manifest_transforms_are_bounded_in_number_and_in_memory():
    big = cda_document().replace(b"<component>", b"<!-- " + b"x" * 2_000_000 + b" -->"
                                 b"<component>", 1)
    assert len(big) > 2_000_000
    refused = _digest_problem(_reference(MAX_TRANSFORMS + 1), big)
    assert refused == f"{MAX_TRANSFORMS + 1} transforms (at most {MAX_TRANSFORMS} accepted)"
    one, most = _peak(_reference(1), big), _peak(_reference(MAX_TRANSFORMS), big)
    # Each transform used to keep its own canonical copy: MAX_TRANSFORMS copies then.
    assert most < one * 1.5, (one, most)
