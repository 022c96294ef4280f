"""XDS.b requests as DMP clients send them (DMP.md §1.3, §2.5, §5): CDA R2 documents,
TD2.1 (ITI-41) with the XAdES lot signature, its MTOM package, and TD3.2 (ITI-43).

Ids, prefixes and layout follow DRIMbox, which feeds the real DMP test platform:
symbolic ids (SubmissionSet01, DocumentCDA, Signature01, cla1, ei1), the rim namespace
as default, association ids as bare UUIDs, MTOM parts 0.1 (envelope), 0.2... (documents),
the signature last.
"""
from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from simulator.kit.signing import RSA_SHA1, SHA1, Signer, sign_in_place, signature_skeleton
from simulator.kit.soap import ADRUN, TEST_OID, envelope

PATIENT_ID = f"{ADRUN}^^^&{TEST_OID}&ISO^NH"
AUTHOR = "00B1022322^DUPONT^JEAN^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"
INSTITUTION = "CENTRE HOSPITALIER TEST^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^10B0167011"
SET_UNIQUE_ID = "1.2.250.1.999.1.1.8121.7.4242"
SIGNATURE_UNIQUE_ID = "1.2.250.1.999.1.1.8121.9.4242"
SOURCE_ID = "1.2.250.1.999.1.1.8121"
REPOSITORY = "1.2.250.1.213.4.1.1.1.2"
PNR_ACTION = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
RETRIEVE_ACTION = "urn:ihe:iti:2007:RetrieveDocumentSet"
C14N_WITH_COMMENTS = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
SIGNED_PROPERTIES = "http://uri.etsi.org/01903/v1.1.1#SignedProperties"
BOUNDARY = "MIMEBoundary_Bound"

_DE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
_SCHEME = {"author": "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d",
           "class": "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a",
           "type": "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983",
           "confidentiality": "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f",
           "format": "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d",
           "facility": "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1",
           "practice": "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead",
           "event": "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4",
           "patient": "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427",
           "unique": "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab",
           "ss_author": "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d",
           "ss_content": "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500",
           "ss_patient": "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446",
           "ss_unique": "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8",
           "ss_source": "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"}
_SET_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
NORMAL = (("N", "2.16.840.1.113883.5.25"),)


def cda_document(ins: str = ADRUN, oid: str = TEST_OID,
                 unique_id: str = "1.2.250.1.999.1.1.8121.21.1",
                 title: str = "CR d'imagerie médicale") -> bytes:
    """A CDA R2 report with the CI-SIS header (N1: PDF body) whose recordTarget holds the
    INS and an IPP; with an XML declaration and a comment, so that its canonical form
    differs from its bytes. Its header is what the DocumentEntry of :class:`Doc` says
    (DMP.md §5.3: uniqueId, creationTime, typeCode, title, confidentialityCode)."""
    pdf = base64.b64encode(b"%PDF-1.4\n% simulated report\n%%EOF\n").decode()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <!-- produced by the simulator's tests -->
  <realmCode code="FR"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="1.2.250.1.213.1.1.1.1"/>
  <id root="{unique_id}"/>
  <code code="18748-4" codeSystem="2.16.840.1.113883.6.1" displayName="CR d'imagerie médicale"/>
  <title>{escape(title)}</title>
  <effectiveTime value="20240301093000+0100"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <languageCode code="fr-FR"/>
  <recordTarget><patientRole>
    <id root="1.2.250.1.999.1.2.3" extension="IPP123456"/>
    <id root="{oid}" extension="{ins}"/>
    <patient><name><given>ZOE</given><family qualifier="BR">ADRUN</family></name>
      <administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>
      <birthTime value="19751231"/></patient>
  </patientRole></recordTarget>
  <author><time value="20240301093000+0100"/><assignedAuthor>
    <id root="1.2.250.1.71.4.2.1" extension="00B1022322"/></assignedAuthor></author>
  <custodian><assignedCustodian><representedCustodianOrganization>
    <id root="1.2.250.1.71.4.2.2" extension="10B0167011"/>
  </representedCustodianOrganization></assignedCustodian></custodian>
  <component><nonXMLBody><text mediaType="application/pdf" representation="B64">{pdf}</text>
  </nonXMLBody></component>
</ClinicalDocument>
""".encode("utf-8")


@dataclass
class Doc:
    """One document of a TD2.1 submission and its DocumentEntry."""

    entry_id: str = "DocumentCDA"
    unique_id: str = "1.2.250.1.999.1.1.8121.21.1"
    content: bytes | None = None  # default: cda_document(unique_id=...)
    mime_type: str = "text/xml"
    title: str = "CR d'imagerie médicale"
    confidentiality: tuple[tuple[str, str], ...] = NORMAL
    patient_id: str | None = None  # default: the submission's
    hash_and_size: bool = True
    patient_info: tuple[str, ...] = ("PID-5|ADRUN^ZOE^^^^^L", "PID-7|19751231", "PID-8|F")
    # (scheme, code, display, codingScheme) replacing the default code of that scheme
    # ("class", "type", "format", "facility", "practice").
    codes: tuple[tuple[str, str, str, str], ...] = ()
    creation_time: str = "20240301083000"  # XDS DTM, UTC (DMP.md §5)
    service_start: str = "20240301080000"
    service_stop: str = "20240301083000"
    source_patient_id: str = "IPP123456^^^&1.2.250.1.999.1.2.3&ISO^PI"

    def bytes(self) -> bytes:
        """The document content."""
        return self.content if self.content is not None else cda_document(
            unique_id=self.unique_id, title=self.title)


def signature_document(set_unique_id: str, documents: list[tuple[str, bytes, bool]],
                       signature_id: str = SIGNATURE_UNIQUE_ID, *,
                       signer: Signer | None = None, method: str = RSA_SHA1,
                       digest: str = SHA1) -> bytes:
    """A XAdES lot signature: ds:Manifest with the submission set (dummy digest AA==)
    and each (uniqueId, bytes, is_xml) document, SHA-1 over C14N-with-comments for XML;
    SignedInfo over #IHEManifest and the SignedProperties, really signed (RSA-SHA1 as in
    the samples of brief §2.5) with the test PKI's ORG SIGN certificate or ``signer``."""
    references = [_reference(f"urn:oid:{set_unique_id}", "AA==")]
    for unique_id, content, is_xml in documents:
        signed = etree.tostring(etree.fromstring(content).getroottree(), method="c14n",
                                with_comments=True) if is_xml else content
        manifest_digest = base64.b64encode(hashlib.sha1(signed).digest()).decode()
        references.append(_reference(f"urn:oid:{unique_id}", manifest_digest,
                                     C14N_WITH_COMMENTS if is_xml else None))
    objects = f"""<Object><SignatureProperties><SignatureProperty Id="purposeOfSignature" \
Target="#{signature_id}">1.2.840.10065.1.12.1.14</SignatureProperty></SignatureProperties>\
</Object><Object><Manifest Id="IHEManifest">{"".join(references)}</Manifest></Object>\
<Object><QualifyingProperties xmlns="http://uri.etsi.org/01903/v1.1.1#" \
Target="#{signature_id}"><SignedProperties Id="S0-SignedProperties">\
<SignedSignatureProperties><SigningTime>2024-03-01T09:30:00.000+01:00</SigningTime>\
<SignaturePolicyIdentifier><SignaturePolicyImplied/></SignaturePolicyIdentifier>\
</SignedSignatureProperties></SignedProperties></QualifyingProperties></Object>"""
    skeleton = signature_skeleton(
        [("#IHEManifest", [], digest, f"{DSIG}Manifest"),
         ("#S0-SignedProperties", [], digest, SIGNED_PROPERTIES)],
        method=method, c14n=C14N_WITH_COMMENTS, prefix="", signer=signer,
        attributes=f' Id="{signature_id}"', objects=objects)
    root = etree.fromstring(skeleton)
    sign_in_place(root, signer)
    return b'<?xml version="1.0"?>\n' + etree.tostring(root) + b"\n"


def _reference(uri: str, digest: str, transform: str | None = None) -> str:
    transforms = f'<Transforms><Transform Algorithm="{transform}"/></Transforms>' \
        if transform else ""
    return (f'<Reference URI="{uri}">{transforms}<DigestMethod '
            f'Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>'
            f"<DigestValue>{digest}</DigestValue></Reference>")


@dataclass
class Iti41:
    """A TD2.1 request body and the documents it carries (entry id -> bytes)."""

    body: str
    contents: dict[str, bytes] = field(default_factory=dict)
    content_ids: dict[str, str] = field(default_factory=dict)  # entry id -> MTOM cid


def provide_and_register(documents: tuple[Doc, ...] = (Doc(),), *,
                         patient_id: str = PATIENT_ID, set_unique_id: str = SET_UNIQUE_ID,
                         replaces: dict[str, str] | None = None, signed: bool = True,
                         set_classification_apart: bool = False,
                         xop: bool = False,
                         signature_unique_id: str = SIGNATURE_UNIQUE_ID,
                         content_type: tuple[str, str, str] = (
                             "04", "Hospitalisation de jour", "1.2.250.1.213.2.2"),
                         signer: Signer | None = None,
                         submission_time: str = "20240301083000",
                         source_id: str = SOURCE_ID, author: str = AUTHOR) -> Iti41:
    """An ``xdsb:ProvideAndRegisterDocumentSetRequest`` as DRIMbox builds it.

    ``replaces``: entry id -> entryUUID of the version it replaces (RPLC).
    ``signature_unique_id``: the lot signature's uniqueId (a second feed to the same
    registry needs new set and signature uniqueIds).
    ``set_classification_apart``: the submission-set Classification stands beside the
    RegistryPackage (IHE sample style) instead of inside it. ``xop``: documents as
    ``xop:Include href="cid:0.N"`` instead of inline base64. ``content_type``: the
    submission set's contentTypeCode (code, display, codingScheme). ``signer``: signs
    the lot instead of the test PKI's ORG SIGN certificate. ``submission_time`` (XDS
    DTM), ``source_id`` (the LPS OID) and ``author`` (an XCN, also the legal
    authenticator) describe the submission.
    """
    ids = _Ids()
    contents = {doc.entry_id: doc.bytes() for doc in documents}
    entries = [_document_entry(doc, contents[doc.entry_id], doc.patient_id or patient_id, ids,
                               author) for doc in documents]
    members = [doc.entry_id for doc in documents]
    associations = []
    if signed:
        signature = signature_document(set_unique_id, [
            (d.unique_id, contents[d.entry_id], d.mime_type == "text/xml") for d in documents],
            signature_unique_id, signer=signer)
        contents["Signature01"] = signature
        entries.append(_signature_entry(signature, patient_id, ids, signature_unique_id,
                                        submission_time, author))
        members.append("Signature01")
    associations += [_association("SubmissionSet01", member,
                                  "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember",
                                  ids, original=True) for member in members]
    if signed:
        associations.append(_association("Signature01", "SubmissionSet01",
                                         "urn:ihe:iti:2007:AssociationType:signs", ids))
    for entry_id, target in (replaces or {}).items():
        associations.append(_association(entry_id, target,
                                         "urn:ihe:iti:2007:AssociationType:RPLC", ids))
    objects = _submission_set(patient_id, set_unique_id, ids, set_classification_apart,
                              content_type, submission_time, source_id, author)
    objects += "".join(entries) + "".join(associations)
    content_ids = {entry_id: f"0.{n}" for n, entry_id in enumerate(contents, start=2)}
    documents_xml = "".join(
        f'<ns4:Document id="{entry_id}">' + (
            f'<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" '
            f'href="cid:{content_ids[entry_id]}"/>' if xop
            else base64.b64encode(content).decode()) + "</ns4:Document>"
        for entry_id, content in contents.items())
    body = ('<ns4:ProvideAndRegisterDocumentSetRequest '
            'xmlns="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0" '
            'xmlns:ns2="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" '
            'xmlns:ns3="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" '
            'xmlns:ns4="urn:ihe:iti:xds-b:2007">'
            f"<ns3:SubmitObjectsRequest><RegistryObjectList>{objects}</RegistryObjectList>"
            f"</ns3:SubmitObjectsRequest>{documents_xml}"
            "</ns4:ProvideAndRegisterDocumentSetRequest>")
    return Iti41(body, contents, content_ids)


class _Ids:
    """Classification (cla1...) and ExternalIdentifier (ei1...) ids, association UUIDs."""

    def __init__(self):
        self.counts = {"cla": 0, "ei": 0, "assoc": 0}

    def next(self, kind: str) -> str:
        self.counts[kind] += 1
        if kind == "assoc":
            return str(uuid.uuid5(uuid.NAMESPACE_OID, f"assoc.{self.counts[kind]}"))
        return f"{kind}{self.counts[kind]}"


def _slot(name: str, *values: str) -> str:
    return (f'<Slot name="{name}"><ValueList>'
            + "".join(f"<Value>{escape(v)}</Value>" for v in values) + "</ValueList></Slot>")


def _name(tag: str, value: str) -> str:
    return f'<{tag}><LocalizedString charset="UTF8" value={quoteattr(value)}/></{tag}>'


def _coded(scheme: str, owner: str, code: str, display: str, coding: str, ids: _Ids) -> str:
    return (f'<Classification classificationScheme="{_SCHEME[scheme]}" '
            f'classifiedObject="{owner}" nodeRepresentation="{code}" id="{ids.next("cla")}">'
            f'{_slot("codingScheme", coding)}{_name("Name", display)}</Classification>')


def _author(scheme: str, owner: str, ids: _Ids, author: str = AUTHOR) -> str:
    return (f'<Classification classificationScheme="{_SCHEME[scheme]}" '
            f'classifiedObject="{owner}" nodeRepresentation="" id="{ids.next("cla")}">'
            f'{_slot("authorPerson", author)}{_slot("authorInstitution", INSTITUTION)}'
            f'{_slot("authorSpecialty", "G15_10/SM26^Médecine générale^1.2.250.1.213.1.1.4.5")}'
            "</Classification>")


def _external(scheme: str, owner: str, value: str, name: str, ids: _Ids) -> str:
    return (f'<ExternalIdentifier id="{ids.next("ei")}" identificationScheme="{_SCHEME[scheme]}" '
            f'registryObject="{owner}" value="{escape(value)}">{_name("Name", name)}'
            "</ExternalIdentifier>")


def _submission_set(patient_id, unique_id, ids, classification_apart, content_type,
                    submission_time, source_id, author) -> str:
    marker = (f'<Classification classificationNode="{_SET_NODE}" '
              f'classifiedObject="SubmissionSet01" id="{ids.next("cla")}"/>')
    return ('<RegistryPackage id="SubmissionSet01">'
            f'{_slot("submissionTime", submission_time)}'
            f'{_name("Name", "Lot de soumission")}{_name("Description", "TD2.1")}'
            f'{_author("ss_author", "SubmissionSet01", ids, author)}'
            + _coded("ss_content", "SubmissionSet01", *content_type, ids)
            + ("" if classification_apart else marker)
            + _external("ss_patient", "SubmissionSet01", patient_id,
                        "XDSSubmissionSet.patientId", ids)
            + _external("ss_source", "SubmissionSet01", source_id, "XDSSubmissionSet.sourceId",
                        ids)
            + _external("ss_unique", "SubmissionSet01", unique_id, "XDSSubmissionSet.uniqueId",
                        ids)
            + "</RegistryPackage>" + (marker if classification_apart else ""))


def _entry(entry_id, mime_type, slots, title, codes, patient_id, unique_id, ids,
           author=AUTHOR) -> str:
    return (f'<ExtrinsicObject id="{entry_id}" mimeType="{mime_type}" objectType="{_DE}">'
            + "".join(_slot(name, *values) for name, values in slots)
            + _name("Name", title) + _author("author", entry_id, ids, author)
            + "".join(_coded(scheme, entry_id, code, display, coding, ids)
                      for scheme, code, display, coding in codes)
            + _external("patient", entry_id, patient_id, "XDSDocumentEntry.patientId", ids)
            + _external("unique", entry_id, unique_id, "XDSDocumentEntry.uniqueId", ids)
            + "</ExtrinsicObject>")


_PLACE = [("facility", "SA01", "Etablissement public de santé", "1.2.250.1.71.4.2.4"),
          ("practice", "ETABLISSEMENT", "Etablissement de santé", "1.2.250.1.213.1.1.4.9")]


def _document_entry(doc: Doc, content: bytes, patient_id: str, ids: _Ids,
                    author: str = AUTHOR) -> str:
    slots = [("creationTime", [doc.creation_time]), ("languageCode", ["fr-FR"]),
             ("legalAuthenticator", [author]), ("serviceStartTime", [doc.service_start]),
             ("serviceStopTime", [doc.service_stop]),
             ("sourcePatientId", [doc.source_patient_id]),
             ("sourcePatientInfo", list(doc.patient_info))]
    if doc.hash_and_size:
        slots += [("hash", [hashlib.sha1(content).hexdigest()]), ("size", [str(len(content))])]
    # classCode 31 is what ASS_X04/ASS_X16 give typeCode 18748-4 (DMP.md §5.2).
    codes = [("class", "31", "Imagerie médicale", "1.2.250.1.213.1.1.4.1"),
             ("type", "18748-4", "CR d'imagerie médicale", "2.16.840.1.113883.6.1")]
    codes += [("confidentiality", code, code, coding) for code, coding in doc.confidentiality]
    codes += [("format", "urn:ihe:iti:xds-sd:pdf:2008", "Document à corps non structuré en "
               "Pdf/A-1", "1.3.6.1.4.1.19376.1.2.3"), *_PLACE]
    replaced = {scheme: (scheme, *rest) for scheme, *rest in doc.codes}
    codes = [replaced.get(code[0], code) for code in codes]
    return _entry(doc.entry_id, doc.mime_type, slots, doc.title, codes, patient_id,
                  doc.unique_id, ids, author)


def _signature_entry(signature: bytes, patient_id: str, ids: _Ids,
                     unique_id: str = SIGNATURE_UNIQUE_ID, moment: str = "20240301083000",
                     author: str = AUTHOR) -> str:
    # DMP.md §2.5; like DRIMbox, no sourcePatientInfo on the signature entry.
    slots = [("creationTime", [moment]), ("languageCode", ["art"]),
             ("legalAuthenticator", [author]), ("serviceStartTime", [moment]),
             ("sourcePatientId", [patient_id]),
             ("hash", [hashlib.sha1(signature).hexdigest()]), ("size", [str(len(signature))])]
    codes = [("class", "urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1", "Digital Signature", "URN"),
             ("type", "E1762", "Full Document", "ASTM"),
             ("confidentiality", "N", "Normal", "2.16.840.1.113883.5.25"),
             ("format", DSIG, "Default Signature Style", "URN"), *_PLACE,
             ("event", "1.2.840.10065.1.12.1.14", "Source", "1.2.840.10065.1.12")]
    return _entry("Signature01", "text/xml", slots, "Source", codes, patient_id,
                  unique_id, ids, author)


def _association(source, target, kind, ids, original=False) -> str:
    status = _slot("SubmissionSetStatus", "Original") if original else ""
    return (f'<Association associationType="{kind}" sourceObject="{source}" '
            f'targetObject="{target}" id="{ids.next("assoc")}">{status}</Association>')


def iti41_envelope(request: Iti41, issue_instant: str = "2024-03-01T08:30:00Z",
                   **envelope_options) -> bytes:
    """The SOAP 1.2 envelope of a TD2.1 request (WS-Addressing, VIHF);
    ``envelope_options`` go to :func:`simulator.kit.soap.envelope` (host, VIHF...)."""
    return envelope(request.body, action=PNR_ACTION, service="repository",
                    issue_instant=issue_instant, **envelope_options)


def mtom_package(root: bytes, parts: list[tuple[str, bytes]], action: str = PNR_ACTION
                 ) -> tuple[str, bytes]:
    """(Content-Type, body) of a request MTOM package: root part 0.1 with an XML
    declaration, then one application/octet-stream part per (Content-ID, bytes)."""
    lines = [f"--{BOUNDARY}".encode(),
             b'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"',
             b"Content-Transfer-Encoding: binary", b"Content-ID: <0.1>", b"",
             b'<?xml version="1.0" encoding="UTF-8"?>' + root]
    for cid, data in parts:
        lines += [f"--{BOUNDARY}".encode(), b"Content-Type: application/octet-stream",
                  b"Content-Transfer-Encoding: binary", f"Content-ID: <{cid}>".encode(), b"",
                  data]
    raw = b"\r\n".join(lines) + f"\r\n--{BOUNDARY}--\r\n".encode()
    content_type = (f'multipart/related;boundary="{BOUNDARY}"; type="application/xop+xml"; '
                    'start="<0.1>"; start-info="application/soap+xml"; '
                    f'action="{action}"')
    return content_type, raw


def iti41_mtom(documents: tuple[Doc, ...] = (Doc(),), *,
               issue_instant: str = "2024-03-01T08:30:00Z",
               envelope_options: dict | None = None, **options
               ) -> tuple[str, bytes, Iti41]:
    """(Content-Type, body, request) of a TD2.1 request sent as MTOM, as DRIMbox does
    (documents in parts 0.2, 0.3, ..., the signature last); ``options`` go to
    :func:`provide_and_register`, ``envelope_options`` to the envelope."""
    request = provide_and_register(documents, xop=True, **options)
    parts = [(request.content_ids[entry_id], content)
             for entry_id, content in request.contents.items()]
    content_type, raw = mtom_package(
        iti41_envelope(request, issue_instant, **(envelope_options or {})), parts)
    return content_type, raw, request


def retrieve_body(*documents: tuple[str, str] | tuple[str, str, str]) -> str:
    """``xdsb:RetrieveDocumentSetRequest`` for (repositoryUniqueId, documentUniqueId
    [, homeCommunityId]) tuples."""
    requests = "".join(
        "<xdsb:DocumentRequest>"
        + (f"<xdsb:HomeCommunityId>{d[2]}</xdsb:HomeCommunityId>" if len(d) > 2 else "")
        + f"<xdsb:RepositoryUniqueId>{d[0]}</xdsb:RepositoryUniqueId>"
        f"<xdsb:DocumentUniqueId>{d[1]}</xdsb:DocumentUniqueId></xdsb:DocumentRequest>"
        for d in documents)
    return ('<xdsb:RetrieveDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007">'
            f"{requests}</xdsb:RetrieveDocumentSetRequest>")


def iti43_envelope(*documents, issue_instant: str = "2024-03-01T08:30:00Z",
                   **envelope_options) -> bytes:
    """The SOAP 1.2 envelope of a TD3.2 request."""
    return envelope(retrieve_body(*documents), action=RETRIEVE_ACTION, service="repository",
                    issue_instant=issue_instant, **envelope_options)
