"""The XDS.b side of DMP v2 requests: TD2.1 (ITI-41, a CDA and its XAdES lot signature,
as MTOM), TD3.1 (ITI-18 FindDocuments) and TD3.2 (ITI-43).

Standard library and ``dmp_signing`` (the lot signature). Facts from the DMP brief (``../shared/domain/DMP.md``): §1.3 MTOM,
§2.5 the submission and the lot signature, §5 the CI-SIS metadata and the CDA header.
"""
from __future__ import annotations

import base64
import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dmp_signing import C14N_WITH_COMMENTS, RSA_SHA1, SHA1, sign, skeleton
from dmp_soap import (
    HL7, LPS_OID, PS_ROOT, STRUCTURE, STRUCTURE_ROOT, DmpRequest, Patient, dtm, envelope,
    escape_attr, escape_text, soap_request)

if TYPE_CHECKING:
    from dmp_load import Session

SEARCH_WINDOW = float(os.environ.get("DMP_SEARCH_WINDOW", "600"))
DOCUMENT_KB = int(os.environ.get("DMP_DOCUMENT_KB", "20"))

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
XDSB = "urn:ihe:iti:xds-b:2007"
XOP = "http://www.w3.org/2004/08/xop/include"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
# ExternalIdentifier and Classification schemes (IHE ITI TF-3 §4.2.5).
DE_PATIENT_ID, DE_UNIQUE_ID = ("urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427",
                               "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab")
SCHEMES = {"author": "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d",
           "class": "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a",
           "type": "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983",
           "confidentiality": "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f",
           "format": "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d",
           "facility": "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1",
           "practice": "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead",
           "event": "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4",
           "set_author": "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d",
           "set_content": "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500",
           "set_patient": "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446",
           "set_unique": "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8",
           "set_source": "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"}
SUBMISSION_SET_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
DOCUMENT_ENTRY = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
REPORT_CLASS = ("10", "1.2.250.1.213.1.1.4.1", "Compte rendu")


# --- TD2.1: the CDA, its lot signature, the submission, as MTOM ------------------------

PNR_ACTION = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
AUTHOR = f"^DUPONT^JEAN^^^^^^&{PS_ROOT}&ISO^D^^^IDNPS"       # XCN after the PS idNat
INSTITUTION = f"STRUCTURE LOADTEST^^^^^&{STRUCTURE_ROOT}&ISO^IDNST^^^{STRUCTURE}"
_PLACE = (("facility", "SA01", "1.2.250.1.71.4.2.4", "Etablissement public de santé"),
          ("practice", "ETABLISSEMENT", "1.2.250.1.213.1.1.4.9", "Etablissement de santé"))


def _pdf_payload() -> str:
    """The report's PDF, ``DMP_DOCUMENT_KB`` kilobytes, base64 (one per process)."""
    size = max(DOCUMENT_KB * 1024 - 16, 0)
    return base64.b64encode(b"%PDF-1.4\n" + os.urandom(size) + b"\n%%EOF\n").decode()


_PDF = _pdf_payload()


def cda(patient: Patient, unique_id: str, moment: datetime, ps_id: str) -> bytes:
    """A CDA R2 discharge letter (N1: PDF body) whose recordTarget is the patient's INS.
    Written in canonical form (C14N 1.0: no declaration, start and end tags, sorted
    attributes), so its bytes are its canonical form and the lot signature digest over
    the canonical XML is the SHA-1 of the bytes sent."""
    ts, start = dtm(moment), dtm(moment - timedelta(days=2))
    given = "".join(f"<given>{escape_text(g)}</given>" for g in patient.first_names)
    title = "Lettre de liaison à la sortie"
    return (
        f'<ClinicalDocument xmlns="{HL7}">\n<realmCode code="FR"></realmCode>\n'
        '<typeId extension="POCD_HD000040" root="2.16.840.1.113883.1.3"></typeId>\n'
        '<templateId root="1.2.250.1.213.1.1.1.1"></templateId>\n'
        f'<id root="{unique_id}"></id>\n<code code="11490-0" '
        f'codeSystem="2.16.840.1.113883.6.1" displayName="{title}"></code>\n'
        f'<title>{title}</title>\n<effectiveTime value="{ts}"></effectiveTime>\n'
        '<confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25">'
        '</confidentialityCode>\n<languageCode code="fr-FR"></languageCode>\n'
        f'<recordTarget><patientRole><id extension="{patient.ins}" root="{patient.oid}"></id>'
        f'<patient><name><family qualifier="BR">{escape_text(patient.birth_name)}</family>'
        f'{given}</name><administrativeGenderCode code="{patient.sex}" '
        'codeSystem="2.16.840.1.113883.5.1"></administrativeGenderCode>'
        f'<birthTime value="{patient.born.replace("-", "")}"></birthTime></patient>'
        "</patientRole></recordTarget>\n"
        f'<author><time value="{ts}"></time><assignedAuthor><id extension="{ps_id}" '
        f'root="{PS_ROOT}"></id></assignedAuthor></author>\n<custodian><assignedCustodian>'
        f'<representedCustodianOrganization><id extension="{STRUCTURE}" '
        f'root="{STRUCTURE_ROOT}"></id></representedCustodianOrganization></assignedCustodian>'
        "</custodian>\n<documentationOf><serviceEvent><effectiveTime>"
        f'<low value="{start}"></low><high value="{ts}"></high></effectiveTime></serviceEvent>'
        "</documentationOf>\n<component><nonXMLBody>"
        f'<text mediaType="application/pdf" representation="B64">{_PDF}</text>'
        "</nonXMLBody></component>\n</ClinicalDocument>").encode("utf-8")


def _reference(uri: str, digest: str, transform: str = "") -> str:
    return (f'<ds:Reference URI="{uri}">{transform}'
            f'<ds:DigestMethod Algorithm="{DSIG}sha1"/>'
            f"<ds:DigestValue>{digest}</ds:DigestValue></ds:Reference>")


def lot_signature(set_uid: str, document_uid: str, signature_uid: str, document: bytes,
                  moment: datetime) -> bytes:
    """The XAdES signature of the lot (§2.5): ds:Manifest with the submission set (dummy
    digest) and the document (SHA-1 of its canonical form, C14N with comments), signed
    (RSA-SHA1 as in the samples) over #IHEManifest and the SignedProperties."""
    digest = base64.b64encode(hashlib.sha1(document).digest()).decode()
    transform = (f'<ds:Transforms><ds:Transform Algorithm="{C14N_WITH_COMMENTS}"/>'
                 "</ds:Transforms>")
    objects = (
        f'<ds:Object><ds:Manifest Id="IHEManifest">'
        f'{_reference(f"urn:oid:{set_uid}", "AA==")}'
        f'{_reference(f"urn:oid:{document_uid}", digest, transform)}</ds:Manifest>'
        '</ds:Object><ds:Object><ds:SignatureProperties><ds:SignatureProperty '
        f'Id="purposeOfSignature" Target="#{signature_uid}">1.2.840.10065.1.12.1.14'
        "</ds:SignatureProperty></ds:SignatureProperties></ds:Object><ds:Object>"
        '<xades:QualifyingProperties xmlns:xades="http://uri.etsi.org/01903/v1.1.1#" '
        f'Target="#{signature_uid}"><xades:SignedProperties Id="S0-SignedProperties">'
        f"<xades:SignedSignatureProperties>"
        f"<xades:SigningTime>{moment.strftime('%Y-%m-%dT%H:%M:%SZ')}</xades:SigningTime>"
        "<xades:SignaturePolicyIdentifier><xades:SignaturePolicyImplied/>"
        "</xades:SignaturePolicyIdentifier></xades:SignedSignatureProperties>"
        "</xades:SignedProperties></xades:QualifyingProperties></ds:Object>")
    return sign(skeleton(
        [("#IHEManifest", [], SHA1, f"{DSIG}Manifest"),
         ("#S0-SignedProperties", [], SHA1, "http://uri.etsi.org/01903/v1.1.1#SignedProperties")],
        method=RSA_SHA1, c14n=C14N_WITH_COMMENTS, attributes=f' Id="{signature_uid}"',
        objects=objects))


def _slot(name: str, *values: str) -> str:
    return (f'<rim:Slot name="{name}"><rim:ValueList>'
            + "".join(f"<rim:Value>{escape_text(v)}</rim:Value>" for v in values)
            + "</rim:ValueList></rim:Slot>")


def _name(text: str, tag: str = "Name") -> str:
    return f'<rim:{tag}><rim:LocalizedString value="{escape_attr(text)}"/></rim:{tag}>'


def _classification(scheme: str, owner: str, code: str, content: str) -> str:
    return (f'<rim:Classification id="urn:uuid:{uuid.uuid4()}" '
            f'classificationScheme="{SCHEMES[scheme]}" classifiedObject="{owner}" '
            f'nodeRepresentation="{escape_attr(code)}">{content}</rim:Classification>')


def _code(scheme: str, owner: str, code: str, coding: str, display: str) -> str:
    return _classification(scheme, owner, code, _slot("codingScheme", coding) + _name(display))


def _author(scheme: str, owner: str, ps_id: str) -> str:
    specialty = "G15_10/SM26^Médecine générale^1.2.250.1.213.1.1.4.5"
    return _classification(scheme, owner, "", _slot("authorPerson", ps_id + AUTHOR)
                           + _slot("authorInstitution", INSTITUTION)
                           + _slot("authorSpecialty", specialty))


def _external(scheme: str, owner: str, value: str, name: str) -> str:
    return (f'<rim:ExternalIdentifier id="urn:uuid:{uuid.uuid4()}" '
            f'identificationScheme="{scheme}" registryObject="{owner}" '
            f'value="{escape_attr(value)}">{_name(name)}</rim:ExternalIdentifier>')


def _hash_and_size(content: bytes) -> list[tuple[str, list[str]]]:
    return [("hash", [hashlib.sha1(content).hexdigest()]), ("size", [str(len(content))])]


def _entry(entry_id: str, slots: list, title: str, codes: tuple, patient: Patient,
           unique_id: str, ps_id: str) -> str:
    return (f'<rim:ExtrinsicObject id="{entry_id}" mimeType="text/xml" '
            f'objectType="{DOCUMENT_ENTRY}">'
            + "".join(_slot(name, *values) for name, values in slots) + _name(title)
            + _author("author", entry_id, ps_id)
            + "".join(_code(scheme, entry_id, *rest) for scheme, *rest in codes)
            + _external(DE_PATIENT_ID, entry_id, patient.cx, "XDSDocumentEntry.patientId")
            + _external(DE_UNIQUE_ID, entry_id, unique_id, "XDSDocumentEntry.uniqueId")
            + "</rim:ExtrinsicObject>")


def _association(kind: str, source: str, target: str, member: bool = True) -> str:
    status = _slot("SubmissionSetStatus", "Original") if member else ""
    return (f'<rim:Association id="urn:uuid:{uuid.uuid4()}" associationType="{kind}" '
            f'sourceObject="{source}" targetObject="{target}">{status}</rim:Association>')


def _metadata(patient: Patient, ids: tuple[str, str, str], document: bytes,
              signature: bytes, moment: datetime, ps_id: str) -> str:
    """The RegistryObjectList: submission set, document entry, signature entry and
    their associations (§2.5; the lot signature ``signs`` the submission set)."""
    set_uid, doc_uid, sig_uid = ids
    ts, legal, owner = dtm(moment), ps_id + AUTHOR, "SubmissionSet01"
    # The traits as INSi gives them: the DMP compares them with its identity (§5.1).
    traits = [f"PID-5|{patient.birth_name}^{patient.first_names[0]}^^^^^L",
              "PID-7|" + patient.born.replace("-", ""), "PID-8|" + patient.sex]
    submission_set = (
        f'<rim:RegistryPackage id="{owner}">{_slot("submissionTime", ts)}'
        f"{_name('Lettre de liaison')}{_author('set_author', owner, ps_id)}"
        + _code("set_content", owner, "04", "1.2.250.1.213.2.2", "Hospitalisation de jour")
        + _external(SCHEMES["set_patient"], owner, patient.cx, "XDSSubmissionSet.patientId")
        + _external(SCHEMES["set_source"], owner, LPS_OID, "XDSSubmissionSet.sourceId")
        + _external(SCHEMES["set_unique"], owner, set_uid, "XDSSubmissionSet.uniqueId")
        + f'</rim:RegistryPackage><rim:Classification classifiedObject="{owner}" '
        f'classificationNode="{SUBMISSION_SET_NODE}" id="urn:uuid:{uuid.uuid4()}"/>')
    report = _entry("Document01", [
        ("creationTime", [ts]), ("languageCode", ["fr-FR"]), ("legalAuthenticator", [legal]),
        ("serviceStartTime", [dtm(moment - timedelta(days=2))]), ("serviceStopTime", [ts]),
        ("sourcePatientId", [patient.cx]), ("sourcePatientInfo", traits),
        *_hash_and_size(document)], "Lettre de liaison à la sortie", (
            ("class", *REPORT_CLASS),
            ("type", "11490-0", "2.16.840.1.113883.6.1", "Lettre de liaison à la sortie"),
            ("confidentiality", "N", "2.16.840.1.113883.5.25", "Normal"),
            ("format", "urn:ihe:iti:xds-sd:pdf:2008", "1.3.6.1.4.1.19376.1.2.3",
             "Document à corps non structuré en Pdf/A-1"), *_PLACE),
        patient, doc_uid, ps_id)
    signed = _entry("Signature01", [
        ("creationTime", [ts]), ("languageCode", ["art"]), ("legalAuthenticator", [legal]),
        ("sourcePatientId", [patient.cx]), *_hash_and_size(signature)], "Source", (
            ("class", "urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1", "URN", "Digital Signature"),
            ("type", "E1762", "ASTM", "Full Document"),
            ("confidentiality", "N", "2.16.840.1.113883.5.25", "Normal"),
            ("format", DSIG, "URN", "Default Signature Style"), *_PLACE,
            ("event", "1.2.840.10065.1.12.1.14", "1.2.840.10065.1.12", "Source")),
        patient, sig_uid, ps_id)
    member = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
    return (submission_set + report + signed
            + _association(member, owner, "Document01")
            + _association(member, owner, "Signature01")
            + _association("urn:ihe:iti:2007:AssociationType:signs", "Signature01", owner,
                           member=False))


def mtom(root: bytes, parts: list[tuple[str, bytes]], action: str) -> tuple[str, bytes]:
    """(Content-Type, body) of an MTOM package (§1.3): the envelope as part 0.1, then
    one application/octet-stream part per (Content-ID, bytes)."""
    boundary = f"MIMEBoundary_{uuid.uuid4().hex}"
    lines = [f"--{boundary}".encode(),
             b'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"',
             b"Content-Transfer-Encoding: binary", b"Content-ID: <0.1>", b"", root]
    for cid, data in parts:
        lines += [f"--{boundary}".encode(), b"Content-Type: application/octet-stream",
                  b"Content-Transfer-Encoding: binary", f"Content-ID: <{cid}>".encode(), b"",
                  data]
    return (f'multipart/related; boundary="{boundary}"; type="application/xop+xml"; '
            f'start="<0.1>"; start-info="application/soap+xml"; action="{action}"',
            b"\r\n".join(lines) + f"\r\n--{boundary}--\r\n".encode())


def feed_request(session: Session, patient: Patient) -> DmpRequest:
    """TD2.1: ITI-41 of one discharge letter and its lot signature, new uniqueIds."""
    moment, ids, ps_id = session.clock.now(), session.next_ids(), session.caller.ps_id
    document = cda(patient, ids[1], moment, ps_id)
    signature = lot_signature(*ids, document, moment)
    metadata = _metadata(patient, ids, document, signature, moment, ps_id)
    include = ('<xdsb:Document id="{}"><xop:Include xmlns:xop="' + XOP + '" href="cid:{}"/>'
               "</xdsb:Document>")
    body = (f'<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="{XDSB}" '
            f'xmlns:rim="{RIM}" xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0">'
            f"<lcm:SubmitObjectsRequest><rim:RegistryObjectList>{metadata}"
            "</rim:RegistryObjectList></lcm:SubmitObjectsRequest>"
            + include.format("Document01", "0.2") + include.format("Signature01", "0.3")
            + "</xdsb:ProvideAndRegisterDocumentSetRequest>")
    content_type, raw = mtom(envelope(session, patient, "repository", PNR_ACTION, body),
                             [("0.2", document), ("0.3", signature)], PNR_ACTION)
    return DmpRequest("repository", content_type, raw)


# --- TD3.1 and TD3.2 -------------------------------------------------------------------

@dataclass(frozen=True)
class FoundDocument:
    """A DocumentEntry of a TD3.1 answer: what TD3.2 asks for and checks."""

    unique_id: str
    repository: str
    size: int
    hash: str


def find_request(session: Session, patient: Patient) -> DmpRequest:
    """TD3.1: FindDocuments, Approved reports (class 10) created in the search window
    (``DMP_SEARCH_WINDOW``: keeps the answers small while a run fills the DMPs)."""
    since = dtm(session.clock.now() - timedelta(seconds=SEARCH_WINDOW))
    slots = "".join(_slot(name, value) for name, value in (
        ("$XDSDocumentEntryPatientId", f"'{patient.cx}'"),
        ("$XDSDocumentEntryStatus", f"('{APPROVED}')"),
        ("$XDSDocumentEntryClassCode", f"('{REPORT_CLASS[0]}^^{REPORT_CLASS[1]}')"),
        ("$XDSDocumentEntryCreationTimeFrom", since)))
    body = (f'<query:AdhocQueryRequest xmlns:query="{QUERY}" xmlns:rim="{RIM}">'
            '<query:ResponseOption returnComposedObjects="true" returnType="LeafClass"/>'
            f'<rim:AdhocQuery id="{FIND_DOCUMENTS}">{slots}</rim:AdhocQuery>'
            "</query:AdhocQueryRequest>")
    return soap_request(session, patient, "registry", "urn:ihe:iti:2007:RegistryStoredQuery",
                        body)


def retrieve_request(session: Session, patient: Patient, found: FoundDocument) -> DmpRequest:
    """TD3.2: ITI-43 for one document found by TD3.1."""
    body = (f'<xdsb:RetrieveDocumentSetRequest xmlns:xdsb="{XDSB}"><xdsb:DocumentRequest>'
            f"<xdsb:RepositoryUniqueId>{escape_text(found.repository)}"
            "</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>"
            f"{escape_text(found.unique_id)}</xdsb:DocumentUniqueId></xdsb:DocumentRequest>"
            "</xdsb:RetrieveDocumentSetRequest>")
    return soap_request(session, patient, "repository", "urn:ihe:iti:2007:RetrieveDocumentSet",
                        body)
