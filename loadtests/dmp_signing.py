"""Real XML signatures for the load test's VIHFs and lot signatures (DMP brief §2.5, §4.2).

The DMP verifies both signatures with the certificate they carry. The load test signs
with the key and certificate named by ``DMP_SIGNING_KEY`` and ``DMP_SIGNING_CERT`` (PEM
files, e.g. ``org-sign-key.pem`` and ``org-sign-cert.pem`` written by ``insi-dmp-sim
certs``, whose CA the simulator trusts with ``SIM_DMP_TRUSTED_CAS``), or with a
self-signed one generated at start when they are not set (accepted while the platform
judges no certificate chain). Needs ``lxml`` and ``cryptography`` (installed with the
simulator); nothing from ``simulator`` or ``tests``.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import os
from pathlib import Path

# cryptography and lxml are imported at the first DMP request, not at import: work done
# before Locust starts makes its run-time limit fire early (gevent's loop time is not
# updated across a long blocking call), which INSi-only runs would suffer too.

DSIG = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_WITH_COMMENTS = f"{C14N}#WithComments"
ENVELOPED = f"{DSIG}enveloped-signature"
RSA_SHA1, SHA1 = f"{DSIG}rsa-sha1", f"{DSIG}sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
_DIGESTS = {SHA1: hashlib.sha1, SHA256: hashlib.sha256}


def _identity():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    key_path, cert_path = os.environ.get("DMP_SIGNING_KEY"), os.environ.get("DMP_SIGNING_CERT")
    if key_path and cert_path:
        key = serialization.load_pem_private_key(Path(key_path).read_bytes(), None)
        certificate = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    else:
        # 1024 bits: made at the first DMP request, inside the timed run, where a 2048-bit
        # key takes tenths of a second on a loaded machine; the platform judges no chain
        # of a self-signed certificate, and the wire (RSA-SHA1/SHA256) is the same.
        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "LOADTEST"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "LOADTEST ORG-SIGN")])
        now = dt.datetime.now(dt.timezone.utc)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                       .public_key(key.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now - dt.timedelta(days=1))
                       .not_valid_after(now + dt.timedelta(days=365))
                       .sign(key, hashes.SHA256()))
    return key, base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


@functools.cache
def signing_identity():
    """(private key, base64 DER certificate) of this process, made at the first use."""
    return _identity()


def skeleton(references: list[tuple[str, list[str], str, str]], *, method: str, c14n: str,
             prefix: str = "ds", attributes: str = "", objects: str = "",
             inclusive: str = "ds saml #default xsi") -> str:
    """A ds:Signature with empty values, for :func:`sign`. ``references``: (URI,
    transforms, digest method, Type)."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f' xmlns:{prefix}="{DSIG}"' if prefix else f' xmlns="{DSIG}"'
    refs = ""
    for uri, transforms, digest, kind in references:
        steps = "".join(
            f'<{p}Transform Algorithm="{t}">' + (
                f'<ec:InclusiveNamespaces xmlns:ec="{EXC_C14N}" PrefixList="{inclusive}"/>'
                if t == EXC_C14N else "") + f"</{p}Transform>" for t in transforms)
        refs += (f'<{p}Reference URI="{uri}"' + (f' Type="{kind}"' if kind else "") + ">"
                 + (f"<{p}Transforms>{steps}</{p}Transforms>" if steps else "")
                 + f'<{p}DigestMethod Algorithm="{digest}"/><{p}DigestValue></{p}DigestValue>'
                 f"</{p}Reference>")
    return (f"<{p}Signature{xmlns}{attributes}><{p}SignedInfo>"
            f'<{p}CanonicalizationMethod Algorithm="{c14n}"/>'
            f'<{p}SignatureMethod Algorithm="{method}"/>{refs}</{p}SignedInfo>'
            f"<{p}SignatureValue></{p}SignatureValue><{p}KeyInfo><{p}X509Data>"
            f"<{p}X509Certificate>{signing_identity()[1]}</{p}X509Certificate></{p}X509Data>"
            f"</{p}KeyInfo>{objects}</{p}Signature>")


def sign(document: str) -> bytes:
    """``document`` (an XML string holding one skeleton signature) signed: digests of
    its references, then the signature value over the canonical SignedInfo."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from lxml import etree
    root = etree.fromstring(document.encode("utf-8"))
    signature = root if root.tag == f"{{{DSIG}}}Signature" else root.find(f"{{{DSIG}}}Signature")
    signed_info = signature.find(f"{{{DSIG}}}SignedInfo")
    for reference in signed_info.iterfind(f"{{{DSIG}}}Reference"):
        uri = reference.get("URI")[1:]
        target = root if root.get("ID") == uri or root.get("Id") == uri else \
            root.xpath("//*[@Id=$id or @ID=$id]", id=uri)[0]
        transforms = list(reference.iterfind(f"{{{DSIG}}}Transforms/{{{DSIG}}}Transform"))
        c14n = [t for t in transforms if t.get("Algorithm") != ENVELOPED]
        parent = signature.getparent()
        index = parent.index(signature) if parent is not None and len(c14n) < len(transforms) \
            else None
        if index is not None:
            parent.remove(signature)  # the enveloped-signature transform
        data = _c14n(target, c14n[-1] if c14n else None)
        if index is not None:
            parent.insert(index, signature)
        digest = _DIGESTS[reference.find(f"{{{DSIG}}}DigestMethod").get("Algorithm")]
        reference.find(f"{{{DSIG}}}DigestValue").text = base64.b64encode(
            digest(data).digest()).decode()
    method = signed_info.find(f"{{{DSIG}}}SignatureMethod").get("Algorithm")
    value = signing_identity()[0].sign(
        _c14n(signed_info, signed_info.find(f"{{{DSIG}}}CanonicalizationMethod")),
        padding.PKCS1v15(), {RSA_SHA1: hashes.SHA1, RSA_SHA256: hashes.SHA256}[method]())
    signature.find(f"{{{DSIG}}}SignatureValue").text = base64.b64encode(value).decode()
    return etree.tostring(root)


def _c14n(element, transform) -> bytes:
    from lxml import etree
    # As the root of a copy: libxml2 2.14 canonicalises an inner element in a default
    # namespace with stray xmlns="" on its grandchildren.
    if element.getparent() is not None:
        element = etree.fromstring(etree.tostring(element))
    algorithm = transform.get("Algorithm") if transform is not None else C14N
    prefixes = transform.find(f"{{{EXC_C14N}}}InclusiveNamespaces") \
        if transform is not None else None
    return etree.tostring(element, method="c14n", exclusive=algorithm.startswith(EXC_C14N),
                          with_comments=algorithm.endswith("#WithComments"),
                          inclusive_ns_prefixes=prefixes.get("PrefixList").split()
                          if prefixes is not None else None)
