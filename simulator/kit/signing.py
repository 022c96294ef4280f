"""XML signatures for DMP requests, with the simulator's test PKI or your own key.

The DMP checks two signatures (brief §4.2, §2.5): the VIHF of the indirect modes
(enveloped, exclusive C14N) and the XAdES lot signature of a TD2.1 (SignedInfo over
``#IHEManifest`` and the SignedProperties). :func:`sign_in_place` fills a
``ds:Signature`` skeleton (:func:`signature_skeleton`); the builders of
:mod:`simulator.kit.vihf` and :mod:`simulator.kit.xds` call it for you.

Who signs: by default the ORG SIGN certificate of a test PKI generated once per process
(:func:`session_pki`, the same kind ``insi-dmp-sim certs`` writes); give a simulator that
judges chains (``SIM_DMP_TRUSTED_CAS``) the CA of the PKI it should trust, e.g.
``signer_of("pki/org-sign-key.pem", "pki/org-sign-cert.pem")`` after ``insi-dmp-sim
certs --out pki``. :func:`self_signed` makes a throw-away certificate for a simulator
that judges no chain.

The signing is written with lxml's canonicalisation and ``cryptography``, independently
of signxml, with which the simulator verifies: a request accepted proves the two agree,
and ``tests/unit/test_kit_signing.py`` checks this module against signxml and against a
signature computed by hand, so that a bug on either side shows.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from simulator.pki import Pki, generate_pki

DSIG = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
ENVELOPED = f"{DSIG}enveloped-signature"
EC_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"
RSA_SHA1, SHA1 = f"{DSIG}rsa-sha1", f"{DSIG}sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
_HASHES = {RSA_SHA1: hashes.SHA1, RSA_SHA256: hashes.SHA256,
           SHA1: hashlib.sha1, SHA256: hashlib.sha256}
VIHF_PREFIXES = "ds saml #default xsi"  # DMP brief §4.2


@dataclass(frozen=True)
class Signer:
    """A private key and the certificate that goes in ds:KeyInfo."""

    key: object
    certificate: x509.Certificate

    @property
    def certificate_b64(self) -> str:
        """The certificate, DER in base64, as ``ds:X509Certificate`` holds it."""
        return base64.b64encode(self.certificate.public_bytes(
            serialization.Encoding.DER)).decode()


def self_signed(common_name: str = "KIT ORG-SIGN", key_size: int = 2048) -> Signer:
    """A throw-away self-signed signer, for a simulator that judges no certificate chain
    (``SIM_DMP_TRUSTED_CAS`` empty, its default)."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1))
                   .not_valid_after(now + dt.timedelta(days=365))
                   .sign(key, hashes.SHA256()))
    return Signer(key, certificate)


@functools.cache
def session_pki() -> Pki:
    """The test PKI of this session (CA, ORG SIGN...), generated once."""
    return generate_pki(Path(tempfile.mkdtemp(prefix="insi-dmp-kit-pki-")))


@functools.cache
def org_signer() -> Signer:
    """The ORG SIGN certificate of :func:`session_pki` and its key."""
    return signer_of(session_pki().org_sign.key, session_pki().org_sign.cert)


def signer_of(key_path: Path, cert_path: Path) -> Signer:
    """A signer from PEM files."""
    key = serialization.load_pem_private_key(Path(key_path).read_bytes(), None)
    return Signer(key, x509.load_pem_x509_certificate(Path(cert_path).read_bytes()))


def signature_skeleton(references: list[tuple[str, list[str], str, str]], *,
                       method: str = RSA_SHA1, c14n: str = EXC_C14N, prefix: str = "ds",
                       signer: Signer | None = None, attributes: str = "",
                       objects: str = "") -> str:
    """A ds:Signature with empty digest and signature values, to fill in with
    :func:`sign_in_place`. ``references``: (URI, transforms, digest method, Type)."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f' xmlns:{prefix}="{DSIG}"' if prefix else f' xmlns="{DSIG}"'
    refs = ""
    for uri, transforms, digest, kind in references:
        steps = "".join(
            f'<{p}Transform Algorithm="{t}">'
            + (f'<ec:InclusiveNamespaces xmlns:ec="{EC_NS}" PrefixList="{VIHF_PREFIXES}"/>'
               if t == EXC_C14N else "") + f"</{p}Transform>" for t in transforms)
        refs += (f'<{p}Reference URI="{uri}"' + (f' Type="{kind}"' if kind else "") + ">"
                 + (f"<{p}Transforms>{steps}</{p}Transforms>" if steps else "")
                 + f'<{p}DigestMethod Algorithm="{digest}"/><{p}DigestValue></{p}DigestValue>'
                 f"</{p}Reference>")
    certificate = (signer or org_signer()).certificate_b64
    return (f"<{p}Signature{xmlns}{attributes}><{p}SignedInfo>"
            f'<{p}CanonicalizationMethod Algorithm="{c14n}"/>'
            f'<{p}SignatureMethod Algorithm="{method}"/>{refs}</{p}SignedInfo>'
            f"<{p}SignatureValue></{p}SignatureValue><{p}KeyInfo><{p}X509Data>"
            f"<{p}X509Certificate>{certificate}</{p}X509Certificate></{p}X509Data>"
            f"</{p}KeyInfo>{objects}</{p}Signature>")


def sign_in_place(signature: etree._Element, signer: Signer | None = None) -> None:
    """Fill the digests and the signature value of ``signature`` (in its tree)."""
    signer = signer or org_signer()
    signed_info = signature.find(f"{{{DSIG}}}SignedInfo")
    for reference in signed_info.iterfind(f"{{{DSIG}}}Reference"):
        target = _target(signature, reference.get("URI"))
        transforms = [t for t in reference.iterfind(f"{{{DSIG}}}Transforms/{{{DSIG}}}Transform")]
        c14n = [t for t in transforms if t.get("Algorithm") != ENVELOPED]
        enveloped = len(c14n) != len(transforms)
        parent, index = signature.getparent(), None
        if enveloped:
            index = parent.index(signature)
            parent.remove(signature)
        try:
            data = _c14n(target, c14n[-1] if c14n else None)
        finally:
            if enveloped:
                parent.insert(index, signature)
        digest = _HASHES[reference.find(f"{{{DSIG}}}DigestMethod").get("Algorithm")]
        reference.find(f"{{{DSIG}}}DigestValue").text = base64.b64encode(
            digest(data).digest()).decode()
    method = signed_info.find(f"{{{DSIG}}}SignatureMethod").get("Algorithm")
    value = signer.key.sign(_c14n(signed_info, signed_info.find(
        f"{{{DSIG}}}CanonicalizationMethod")), padding.PKCS1v15(), _HASHES[method]())
    signature.find(f"{{{DSIG}}}SignatureValue").text = base64.b64encode(value).decode()


def _target(signature: etree._Element, uri: str) -> etree._Element:
    root = signature.getroottree().getroot()
    if uri == "":
        return root
    found = root.xpath("//*[@Id=$id or @ID=$id]", id=uri[1:])
    assert len(found) == 1, f"reference {uri} names {len(found)} elements"
    return found[0]


def _c14n(element: etree._Element, transform: etree._Element | None) -> bytes:
    # Canonicalised as the root of a copy: libxml2 2.14 writes xmlns="" below an inner
    # element in a default namespace (see simulator/services/dmp/xmldsig.py).
    if element.getparent() is not None:
        element = etree.fromstring(etree.tostring(element))
    algorithm = transform.get("Algorithm") if transform is not None else C14N
    prefixes = transform.find(f"{{{EC_NS}}}InclusiveNamespaces") \
        if transform is not None else None
    return etree.tostring(element, method="c14n", exclusive=algorithm.startswith(EXC_C14N),
                          with_comments=algorithm.endswith("#WithComments"),
                          inclusive_ns_prefixes=prefixes.get("PrefixList").split()
                          if prefixes is not None else None)
