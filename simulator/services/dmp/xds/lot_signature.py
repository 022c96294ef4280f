"""The XAdES signature of a TD2.1 submission ("le lot de soumission XDS est signé").

DMP.md §2.5: a signature DocumentEntry (formatCode ``http://www.w3.org/2000/09/xmldsig#``)
linked to the submission set by a ``signs`` association; its ``ds:Manifest`` holds one
``ds:Reference`` per object of the lot: ``urn:oid:<submission set uniqueId>`` (with a
dummy digest) and ``urn:oid:<document uniqueId>`` with the digest of the document
(over its canonical form when the reference has a C14N transform). The cryptographic
signature itself is not verified: the simulator has no trust store for the IGC-Santé.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re

from lxml import etree

from simulator.services.dmp.xds.errors import REGISTRY_METADATA_ERROR, XdsError
from simulator.services.dmp.xds.model import DE_UNIQUE_ID, SIGNS, SS_UNIQUE_ID
from simulator.services.dmp.xds.submission import SIGNATURE_FORMAT, Submission
from simulator.services.dmp.xmldsig import (
    MAX_TRANSFORMS, SignatureError, SignatureVerifier)
from simulator.soap.parsing import parse_safely

DSIG = "http://www.w3.org/2000/09/xmldsig#"
DIGESTS = {"http://www.w3.org/2000/09/xmldsig#sha1": ("SHA-1", hashlib.sha1),
           "http://www.w3.org/2001/04/xmlenc#sha256": ("SHA-256", hashlib.sha256),
           "http://www.w3.org/2001/04/xmlenc#sha512": ("SHA-512", hashlib.sha512)}
# Transform algorithm -> (exclusive, with comments); C14N 1.1 is computed as 1.0,
# which gives the same bytes for documents without xml:id/xml:base subtleties.
C14N = {"http://www.w3.org/TR/2001/REC-xml-c14n-20010315": (False, False),
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments": (False, True),
        "http://www.w3.org/2006/12/xml-c14n11": (False, False),
        "http://www.w3.org/2006/12/xml-c14n11#WithComments": (False, True),
        "http://www.w3.org/2001/10/xml-exc-c14n#": (True, False),
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": (True, True)}
_PROCESSING_INSTRUCTION = re.compile(rb"<\?(?!xml[\s?])")
MANIFEST_ID = "IHEManifest"
MANIFEST_TYPE = f"{DSIG}Manifest"
XADES_SIGNED_PROPERTIES = "SignedProperties"  # local name, in any XAdES namespace version
NO_TRUST = SignatureVerifier()  # verifies with the carried certificate, judges no chain


def lot_signature_errors(submission: Submission,
                         verifier: SignatureVerifier | None = NO_TRUST) -> list[XdsError]:
    """Every problem with the lot signature of ``submission`` (empty when it is right).
    ``verifier``: checks the signature's SignedInfo; None leaves it unchecked."""
    set_id = submission.submission_set.id
    errors: list[XdsError] = []
    signatures = submission.signatures
    signature_ids = {s.id for s in signatures}
    signs = [a for a in submission.associations if a.type == SIGNS]
    for association in signs:
        if association.source not in signature_ids or association.target != set_id:
            errors.append(_error(f"association {association.id} of type {SIGNS} must go from "
                                 f"the signature entry to the submission set {set_id}",
                                 association.id))
    signed_by = [s for s in signatures
                 if any(a.source == s.id and a.target == set_id for a in signs)]
    for signature in signatures:
        if not any(s.id == signature.id for s in signed_by):
            errors.append(_error(f"signature entry {signature.id} has no {SIGNS} association "
                                 f"to the submission set {set_id}", signature.id))
    if not signatures:
        errors.append(_error(
            "the submission set is not signed: the DMP requires a XAdES signature of the lot, "
            f"an ExtrinsicObject with formatCode {SIGNATURE_FORMAT} and an association "
            f"{SIGNS} from it to the submission set", set_id))
    for signature in signed_by:
        errors += _signature_errors(submission, signature, verifier)
    return errors


def _signature_errors(submission: Submission, signature,
                      verifier: SignatureVerifier | None) -> list[XdsError]:
    content = submission.contents.get(signature.id, b"")
    try:
        root = parse_safely(content)
    except (etree.XMLSyntaxError, ValueError):
        return [_error(f"the signature document {signature.id} is not well-formed XML",
                       signature.id)]
    manifests = root.findall(f".//{{{DSIG}}}Manifest")
    manifest = next((m for m in manifests if m.get("Id") == MANIFEST_ID),
                    manifests[0] if manifests else None)
    errors = [] if verifier is None else _signed_info_errors(root, manifest, signature.id,
                                                             verifier)
    return errors + _manifest_errors(submission, signature, manifest)


def _signed_info_errors(root: etree._Element, manifest: etree._Element | None,
                        signature_id: str, verifier: SignatureVerifier) -> list[XdsError]:
    """The XAdES structure of SignedInfo (brief §2.5) and its cryptographic check."""
    if root.tag != f"{{{DSIG}}}Signature":
        return [_error(f"the signature document {signature_id} must be a ds:Signature "
                       f"(its root is {root.tag})", signature_id)]
    references = root.findall(f"{{{DSIG}}}SignedInfo/{{{DSIG}}}Reference")
    uris = [r.get("URI") for r in references]
    errors = []
    if manifest is None or manifest.get("Id") != MANIFEST_ID or f"#{MANIFEST_ID}" not in uris:
        errors.append(_error(
            f"the lot signature {signature_id} must sign its ds:Manifest: a ds:Manifest "
            f"Id=\"{MANIFEST_ID}\" and a SignedInfo Reference URI=\"#{MANIFEST_ID}\" "
            f"Type=\"{MANIFEST_TYPE}\"", signature_id))
    properties = [e for e in root.iter() if isinstance(e.tag, str)
                  and etree.QName(e).localname == XADES_SIGNED_PROPERTIES]
    if not properties or f"#{properties[0].get('Id')}" not in uris:
        errors.append(_error(
            f"the lot signature {signature_id} must sign its XAdES SignedProperties: a "
            "xades:SignedProperties with an Id and a SignedInfo Reference to it", signature_id))
    if errors:
        return errors
    try:
        verifier.verify(root, root)
    except SignatureError as error:
        return [_error(f"the lot signature {signature_id} is refused ({error.kind}): {error}",
                       signature_id)]
    return []


def _manifest_errors(submission: Submission, signature,
                     manifest: etree._Element | None) -> list[XdsError]:
    if manifest is None:
        return [_error(f"the signature document {signature.id} has no ds:Manifest listing "
                       "the submission set and its documents", signature.id)]
    references = {r.get("URI", ""): r for r in manifest.findall(f"{{{DSIG}}}Reference")}
    set_uid = submission.submission_set.external(SS_UNIQUE_ID)
    expected = {f"urn:oid:{set_uid}": None} if set_uid else {}
    for document in submission.documents:
        uid = document.external(DE_UNIQUE_ID)
        if uid:
            expected[f"urn:oid:{uid}"] = document
    errors = [_error(f"the ds:Manifest of {signature.id} has no Reference URI=\"{uri}\" "
                     f"(the {'submission set' if doc is None else 'document ' + doc.id})",
                     signature.id)
              for uri, doc in expected.items() if uri not in references]
    errors += [_error(f"the ds:Manifest of {signature.id} references {uri}, which is "
                      "neither the submission set nor a document of this submission",
                      signature.id)
               for uri in references if uri not in expected]
    for uri, document in expected.items():
        if document is not None and uri in references:
            problem = _digest_problem(references[uri], submission.contents.get(document.id))
            if problem:
                errors.append(_error(f"ds:Manifest of {signature.id}, Reference {uri}: "
                                     f"{problem}", document.id))
    return errors


def _digest_problem(reference: etree._Element, content: bytes | None) -> str | None:
    """Why the reference's digest does not fit ``content``, or None (fits, or cannot
    be checked: dummy digest such as ``AA==``, unknown algorithm or transform).

    Memory stays bounded whatever the transforms: at most MAX_TRANSFORMS are accepted,
    they are applied as the chain they are (each canonical form replaces the previous
    one), and a repeated transform is applied once (C14N is idempotent)."""
    method = reference.find(f"{{{DSIG}}}DigestMethod")
    name, digest = DIGESTS.get(method.get("Algorithm", "") if method is not None else "",
                               (None, None))
    try:
        declared = base64.b64decode("".join(
            (reference.findtext(f"{{{DSIG}}}DigestValue") or "").split()), validate=True)
    except binascii.Error:
        return "DigestValue is not base64"
    transforms = [t.get("Algorithm", "") for t in reference.iter(f"{{{DSIG}}}Transform")]
    if len(transforms) > MAX_TRANSFORMS:
        return f"{len(transforms)} transforms (at most {MAX_TRANSFORMS} accepted)"
    if digest is None or content is None or len(declared) != digest().digest_size:
        return None
    # A digest over the raw bytes is accepted too: clients (DRIMbox) canonicalise the
    # document before sending it, so both forms are the same document.
    if digest(content).digest() == declared:
        return None
    if any(algorithm not in C14N for algorithm in transforms):
        return None
    computed = content
    for index, algorithm in enumerate(transforms):
        if index and algorithm == transforms[index - 1]:
            continue
        tree = _parsed(computed)
        computed = None  # the previous form is not kept while the next one is made
        if tree is None:
            return None  # the canonical form could not be computed, nothing to compare with
        exclusive, with_comments = C14N[algorithm]
        computed = etree.tostring(tree, method="c14n", exclusive=exclusive,
                                  with_comments=with_comments)
    actual = digest(computed).digest()
    if actual == declared:
        return None
    over = "its canonical XML (" + transforms[-1] + ")" if transforms else "its bytes"
    return (f"DigestValue {base64.b64encode(declared).decode()} is not the {name} of the "
            f"document, computed over {over}: {base64.b64encode(actual).decode()}")


def _parsed(content: bytes) -> etree._ElementTree | None:
    # The safe parser drops processing instructions (e.g. xml-stylesheet), which are
    # part of the canonical form: such documents cannot be canonicalised faithfully.
    if _PROCESSING_INSTRUCTION.search(content):
        return None
    try:
        return parse_safely(content).getroottree()
    except (etree.XMLSyntaxError, ValueError):
        return None


def _error(message: str, location: str) -> XdsError:
    return XdsError(REGISTRY_METADATA_ERROR, message, location)
