"""XML signatures (XML-DSig) the DMP verifies: the VIHF's and the XAdES lot signature's.

The cryptography is signxml's (references, transforms, digests, canonicalisation of
SignedInfo, signature value); this module decides what is accepted around it:

* the signature is always verified with the certificate it carries
  (``KeyInfo/X509Data/X509Certificate``): the key that signs is the key of that
  certificate, whatever else ``KeyInfo`` says;
* the certificate chain is judged only when trusted CAs are configured
  (``SIM_DMP_TRUSTED_CAS``): then the carried certificate (with any intermediates it
  carries) must chain to one of them, within its validity at the real time (like TLS;
  the simulated clock moves for the regulatory calendar, not for certificates);
* the algorithms of real clients are accepted, SHA-1 included: RSA-SHA1 with SHA-1
  digests in the kit and DRIMbox samples, RSA-SHA256 in the 2024 IG example (DMP brief
  §2.5, §4.2). signxml refuses SHA-1 by default; it is allowed here explicitly;
* the work is bounded: at most :data:`MAX_REFERENCES` references and
  :data:`MAX_TRANSFORMS` transforms per reference (signxml copies the signed document
  for each reference and each canonicalisation), known transforms only (no XPath or
  XSLT), checked before signxml runs.

Problems raise :class:`SignatureError` whose ``kind`` tells the carrier which refusal
it is (WS-Security 1.1, SOAP Message Security §12: ``FailedCheck`` "the signature or
decryption was invalid", ``UnsupportedAlgorithm``, ``FailedAuthentication`` "the
security token could not be authenticated or authorized", ``InvalidSecurity`` "an
error was discovered processing the <wsse:Security> header").
"""
from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.x509 import verification
from lxml import etree

from simulator.soap.parsing import safe_parser

DSIG = "http://www.w3.org/2000/09/xmldsig#"
_MORE = "http://www.w3.org/2001/04/xmldsig-more#"
_ENC = "http://www.w3.org/2001/04/xmlenc#"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
ENVELOPED = f"{DSIG}enveloped-signature"
# Algorithm URIs (XML-DSig core, RFC 6931); signxml's enums are built from them at the
# first verification, so that starting the server does not import signxml.
SIGNATURE_METHODS = frozenset(
    {f"{DSIG}rsa-sha1"} | {f"{_MORE}rsa-sha{n}" for n in (224, 256, 384, 512)}
    | {f"{_MORE}ecdsa-sha{n}" for n in (1, 256, 384, 512)})
DIGEST_METHODS = frozenset({f"{DSIG}sha1", f"{_MORE}sha224", f"{_ENC}sha256",
                            f"{_MORE}sha384", f"{_ENC}sha512"})
_C14N10, _C14N11 = ("http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
                    "http://www.w3.org/2006/12/xml-c14n11")
_EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
C14N_METHODS = frozenset({_C14N10, f"{_C14N10}#WithComments", _C14N11,
                          f"{_C14N11}#WithComments", _EXC_C14N, f"{_EXC_C14N}WithComments"})
TRANSFORMS = C14N_METHODS | {ENVELOPED}
# Real signatures carry one reference (VIHF) or two (XAdES lot: manifest, signed
# properties) and at most two transforms (enveloped + exclusive C14N): generous bounds.
MAX_REFERENCES = 4
MAX_TRANSFORMS = 4

# SignatureError kinds, named after the WS-Security 1.1 fault codes they become.
INVALID = "InvalidSecurity"
UNSUPPORTED = "UnsupportedAlgorithm"
FAILED_CHECK = "FailedCheck"
UNTRUSTED = "FailedAuthentication"


class SignatureError(ValueError):
    """The signature is refused; ``kind`` is one of the WS-Security fault names above."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Verified:
    """A verified signature: the certificate it carries and the references it covers."""

    certificate: x509.Certificate
    references: tuple[str, ...]


@functools.cache
def _signxml():
    """signxml's verifier (see :class:`_RootedVerifier` inside), its configuration of
    the accepted algorithms, and the exceptions it raises; imported at first use."""
    from signxml import SignatureConfiguration, XMLVerifier, exceptions
    from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

    class _RootedVerifier(XMLVerifier):
        """signxml's verifier, canonicalising every node as the root of its own document.

        libxml2 (2.14, in the lxml 6.1 wheels) writes ``xmlns=""`` on the grandchildren
        of an element that is not the root of its document when they are in a default
        namespace (inclusive C14N; signxml issue #275, its fix reverted). The lot
        signature's SignedInfo is in the default namespace (brief §2.5, both samples):
        canonicalised in place it would not verify. A copy of the node keeps every
        namespace in scope, which is what C14N renders on its apex.
        """

        def _c14n(self, nodes, algorithm, inclusive_ns_prefixes=None):
            nodes = nodes if isinstance(nodes, list) else [nodes]
            rooted = [n if n.getparent() is None else self._fromstring(self._tostring(n))
                      for n in nodes]
            return super()._c14n(rooted, algorithm, inclusive_ns_prefixes=inclusive_ns_prefixes)

    config = functools.partial(
        SignatureConfiguration, location="./", expect_references=True,
        signature_methods=frozenset(SignatureMethod(uri) for uri in SIGNATURE_METHODS),
        digest_algorithms=frozenset(DigestAlgorithm(uri) for uri in DIGEST_METHODS),
        # The reference without transforms (the XAdES manifest) is digested over
        # Canonical XML 1.0, as XML-DSig 1.0 §4.3.3.2 says (signxml defaults to 1.1).
        default_reference_c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0)
    return _RootedVerifier, config, exceptions


class SignatureVerifier:
    """Verifies XML signatures with the certificate they carry, and judges that
    certificate's chain against ``anchors`` (none: the chain is not judged).
    ``real_now`` gives the real time for certificate validity."""

    def __init__(self, anchors: Iterable[x509.Certificate] = (),
                 real_now: Callable[[], datetime] | None = None):
        self.anchors = tuple(anchors)
        self._real_now = real_now

    @classmethod
    def from_files(cls, paths: Iterable[Path],
                   real_now: Callable[[], datetime] | None = None) -> "SignatureVerifier":
        """A verifier trusting every certificate of the PEM files ``paths``; raises
        ValueError naming a file that cannot be read or holds no certificate."""
        anchors: list[x509.Certificate] = []
        for path in paths:
            try:
                found = x509.load_pem_x509_certificates(Path(path).read_bytes())
            except (OSError, ValueError) as error:
                raise ValueError(f"{path}: not a readable PEM file of CA certificates "
                                 f"({error})") from None
            anchors += found
        return cls(anchors, real_now)

    @property
    def judges_chain(self) -> bool:
        """Whether certificate chains are judged (trusted CAs are configured)."""
        return bool(self.anchors)

    def verify(self, root: etree._Element, signature: etree._Element) -> Verified:
        """Verify ``signature``, the ds:Signature that is ``root`` or one of its children
        (an enveloped signature). Raises :class:`SignatureError`."""
        references = _check_shape(signature)
        certificates = _carried_certificates(signature)
        leaf = certificates[0]
        verifier_class, configuration, errors = _signxml()
        # Validity is part of judging the chain (below); here only the key counts.
        config = configuration(verification_time=leaf.not_valid_before_utc)
        try:
            # No XML-DSig schema validation: the lot signature's Id is its uniqueId, an
            # OID, which is not an xs:ID (brief §2.5, both samples); the elements used
            # are checked one by one instead.
            verifier_class().verify(root, x509_cert=leaf, expect_config=config,
                                    parser=safe_parser(), validate_schema=False)
        except errors.InvalidDigest as error:
            raise SignatureError(FAILED_CHECK, f"a ds:Reference digest does not match what it "
                                               f"signs: {error}") from None
        except errors.InvalidSignature:
            raise SignatureError(FAILED_CHECK, (
                "ds:SignatureValue does not verify: it is not the signature of the "
                "canonical ds:SignedInfo with the key of the certificate in "
                f"ds:KeyInfo ({_subject(leaf)})")) from None
        except (errors.SignXMLException, ValueError, etree.LxmlError) as error:
            raise SignatureError(INVALID, f"ds:Signature cannot be verified: {error}") from None
        if self.anchors:
            self._judge_chain(leaf, certificates[1:])
        return Verified(leaf, references)

    def _judge_chain(self, leaf: x509.Certificate,
                     intermediates: list[x509.Certificate]) -> None:
        builder = verification.PolicyBuilder().store(verification.Store(list(self.anchors)))
        builder = builder.extension_policies(ee_policy=_SIGNER_POLICY,
                                             ca_policy=verification.ExtensionPolicy
                                             .webpki_defaults_ca())
        if self._real_now is not None:
            builder = builder.time(self._real_now())
        try:
            builder.build_client_verifier().verify(leaf, intermediates)
        except verification.VerificationError as error:
            raise SignatureError(UNTRUSTED, (
                f"the signing certificate {_subject(leaf)} is not trusted: it does not "
                f"chain to a CA the platform trusts (SIM_DMP_TRUSTED_CAS) ({error})")) from None


def verify_vihf_signature(verifier: SignatureVerifier, assertion: etree._Element) -> Verified:
    """Verify the enveloped signature of a VIHF ``saml:Assertion`` (DMP brief §4.2).

    SAML 2.0 core places ds:Signature right after Issuer (§2.3.3) and requires a single
    reference to the assertion's own ID (§5.4.2): otherwise the signature could cover
    another element while the attributes read by the DMP stay unsigned.
    """
    signature = assertion.find(f"{{{DSIG}}}Signature")
    if signature is None:
        raise SignatureError(INVALID, "the assertion has no ds:Signature")
    previous = signature.getprevious()
    while previous is not None and not isinstance(previous.tag, str):
        previous = previous.getprevious()  # comments and processing instructions
    if previous is None or previous.tag != f"{{{SAML}}}Issuer":
        raise SignatureError(INVALID, "ds:Signature must come right after saml:Issuer in "
                                      "the assertion (SAML 2.0 core §2.3.3)")
    references = signature.findall(f"{{{DSIG}}}SignedInfo/{{{DSIG}}}Reference")
    own = f"#{assertion.get('ID', '')}"
    if len(references) != 1 or references[0].get("URI") != own:
        raise SignatureError(INVALID, (
            f"ds:SignedInfo must hold one ds:Reference URI=\"{own}\", the assertion's ID "
            f"(SAML 2.0 core §5.4.2); found "
            f"{', '.join(repr(r.get('URI')) for r in references) or 'none'}"))
    return verifier.verify(assertion, signature)


def _signing_key_usage(policy, certificate, key_usage: x509.KeyUsage) -> None:
    # Signature certificates have digitalSignature; IGC-Santé ORG SIGN ones may show
    # nonRepudiation (contentCommitment) as well [inferred: either is accepted].
    if not (key_usage.digital_signature or key_usage.content_commitment):
        raise ValueError("its KeyUsage allows neither digitalSignature nor nonRepudiation")


_SIGNER_POLICY = verification.ExtensionPolicy.permit_all().require_present(
    x509.KeyUsage, verification.Criticality.AGNOSTIC, _signing_key_usage)


def _check_shape(signature: etree._Element) -> tuple[str, ...]:
    """The reference URIs, once the algorithms and the bounds are known to be fine."""
    signed_info = signature.find(f"{{{DSIG}}}SignedInfo")
    if signed_info is None:
        raise SignatureError(INVALID, "ds:Signature has no ds:SignedInfo")
    c14n = signed_info.find(f"{{{DSIG}}}CanonicalizationMethod")
    _known(c14n, C14N_METHODS, "SignedInfo/CanonicalizationMethod")
    method = signed_info.find(f"{{{DSIG}}}SignatureMethod")
    _known(method, SIGNATURE_METHODS, "SignedInfo/SignatureMethod")
    references = signed_info.findall(f"{{{DSIG}}}Reference")
    if not references or len(references) > MAX_REFERENCES:
        raise SignatureError(INVALID, f"ds:SignedInfo has {len(references)} ds:Reference "
                                      f"(from 1 to {MAX_REFERENCES} accepted)")
    for reference in references:
        uri = reference.get("URI")
        transforms = reference.findall(f"{{{DSIG}}}Transforms/{{{DSIG}}}Transform")
        if len(transforms) > MAX_TRANSFORMS:
            raise SignatureError(INVALID, f"ds:Reference URI={uri!r} has {len(transforms)} "
                                          f"transforms (at most {MAX_TRANSFORMS} accepted)")
        for transform in transforms:
            _known(transform, TRANSFORMS, f"the Transform of ds:Reference URI={uri!r}")
        _known(reference.find(f"{{{DSIG}}}DigestMethod"), DIGEST_METHODS,
               f"the DigestMethod of ds:Reference URI={uri!r}")
    return tuple(r.get("URI", "") for r in references)


def _known(element: etree._Element | None, accepted, what: str) -> None:
    algorithm = element.get("Algorithm") if element is not None else None
    if algorithm is None:
        raise SignatureError(INVALID, f"{what}: no Algorithm")
    if algorithm not in accepted:
        raise SignatureError(UNSUPPORTED, f"{what}: algorithm {algorithm} is not supported "
                                          f"(accepted: {', '.join(sorted(accepted))})")


def _carried_certificates(signature: etree._Element) -> list[x509.Certificate]:
    """The certificates of KeyInfo/X509Data, the signer's first (XML-DSig does not order
    them; clients put the signer's alone or first)."""
    texts = [c.text or "" for c in signature.iterfind(
        f"{{{DSIG}}}KeyInfo/{{{DSIG}}}X509Data/{{{DSIG}}}X509Certificate")]
    if not texts:
        raise SignatureError(INVALID, "ds:KeyInfo/ds:X509Data/ds:X509Certificate is missing: "
                                      "the DMP verifies the signature with the certificate "
                                      "it carries")
    certificates = []
    for text in texts:
        try:
            certificates.append(x509.load_der_x509_certificate(
                base64.b64decode("".join(text.split()), validate=True)))
        except (binascii.Error, ValueError):
            raise SignatureError(INVALID, "ds:X509Certificate is not a base64 DER X.509 "
                                          "certificate") from None
    return certificates


def _subject(certificate: x509.Certificate) -> str:
    try:
        return certificate.subject.rfc4514_string()
    except ValueError:
        return "(unreadable subject)"
