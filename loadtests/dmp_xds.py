"""The XDS.b side of DMP requests for the load test: TD2.1 (ITI-41, a CDA and its XAdES
lot signature, as MTOM), TD3.1 (ITI-18 FindDocuments, and GetDocuments by uniqueId,
TD3.1b), TD3.2 (ITI-43) and TD3.3c (ITI-57 deletion), built with the simulator's client
kit (:mod:`simulator.kit.xds`, :mod:`simulator.kit.registry`). The CDA itself (the
patient's traits, a PDF of ``DMP_DOCUMENT_KB``) is the load test's data. Facts from the
DMP brief (``../shared/domain/DMP.md``): §1.3 MTOM, §2.5 the submission, the lot
signature and ITI-57, §5 the CI-SIS metadata and the CDA header.
"""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dmp_soap import (
    HL7, LPS_OID, PS_ROOT, STRUCTURE, STRUCTURE_ROOT, DmpRequest, Patient, dtm,
    envelope_options, escape_text, signer, soap_request)

if TYPE_CHECKING:
    from dmp_load import Session

SEARCH_WINDOW = float(os.environ.get("DMP_SEARCH_WINDOW", "600"))
DOCUMENT_KB = int(os.environ.get("DMP_DOCUMENT_KB", "20"))

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
XDSB = "urn:ihe:iti:xds-b:2007"
XOP = "http://www.w3.org/2004/08/xop/include"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
# ExternalIdentifier schemes (IHE ITI TF-3 §4.2.5).
DE_PATIENT_ID, DE_UNIQUE_ID = ("urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427",
                               "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab")
REPORT_CLASS = ("10", "Compte rendu", "1.2.250.1.213.1.1.4.1")
LETTER_TYPE = ("11490-0", "Lettre de liaison à la sortie", "2.16.840.1.113883.6.1")
IMAGING_TYPE = ("18748-4", "CR d'imagerie médicale", "2.16.840.1.113883.6.1")  # kit default
AUTHOR = f"^DUPONT^JEAN^^^^^^&{PS_ROOT}&ISO^D^^^IDNPS"       # XCN after the PS idNat


# --- TD2.1: the CDA, its lot signature, the submission, as MTOM ------------------------

def _pdf_payload() -> str:
    """The report's PDF, ``DMP_DOCUMENT_KB`` kilobytes, base64 (one per process)."""
    size = max(DOCUMENT_KB * 1024 - 16, 0)
    return base64.b64encode(b"%PDF-1.4\n" + os.urandom(size) + b"\n%%EOF\n").decode()


_PDF = _pdf_payload()


def cda(patient: Patient, unique_id: str, moment: datetime, ps_id: str,
        kind: tuple[str, str, str] = LETTER_TYPE) -> bytes:
    """A CDA R2 document of type ``kind`` (code, title, code system; default a discharge
    letter) with a PDF body (N1), whose recordTarget is the patient's INS.
    Written in canonical form (C14N 1.0: no declaration, start and end tags, sorted
    attributes), so its bytes are its canonical form and the lot signature digest over
    the canonical XML is the SHA-1 of the bytes sent."""
    ts, start = dtm(moment), dtm(moment - timedelta(days=2))
    given = "".join(f"<given>{escape_text(g)}</given>" for g in patient.first_names)
    code, title, _ = kind
    return (
        f'<ClinicalDocument xmlns="{HL7}">\n<realmCode code="FR"></realmCode>\n'
        '<typeId extension="POCD_HD000040" root="2.16.840.1.113883.1.3"></typeId>\n'
        '<templateId root="1.2.250.1.213.1.1.1.1"></templateId>\n'
        f'<id root="{unique_id}"></id>\n<code code="{code}" '
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


def feed_request(session: Session, patient: Patient, withdrawn: bool = False) -> DmpRequest:
    """TD2.1: ITI-41 of one discharge letter and its lot signature, new uniqueIds.
    ``withdrawn``: a document the EAI deletes next, fed as an imaging report (the kit's
    class 31 and type 18748-4), which the physicians' TD3.1 (class 10) never finds, so
    that no find-then-retrieve races the deletion."""
    from simulator.kit import xds
    moment, ids, ps_id = session.clock.now(), session.next_ids(), session.caller.ps_id
    set_uid, doc_uid, sig_uid = ids
    ts, kind = dtm(moment), IMAGING_TYPE if withdrawn else LETTER_TYPE
    # The traits as INSi gives them: the DMP compares them with its identity (§5.1).
    traits = (f"PID-5|{patient.birth_name}^{patient.first_names[0]}^^^^^L",
              "PID-7|" + patient.born.replace("-", ""), "PID-8|" + patient.sex)
    letter = xds.Doc(entry_id="Document01", unique_id=doc_uid,
                     content=cda(patient, doc_uid, moment, ps_id, kind), title=kind[1],
                     patient_info=traits, codes=() if withdrawn else (
                         ("class", *REPORT_CLASS), ("type", *LETTER_TYPE)),
                     creation_time=ts, service_start=dtm(moment - timedelta(days=2)),
                     service_stop=ts, source_patient_id=patient.cx)
    options = envelope_options(session, patient)
    instant = options.pop("issue_instant")
    content_type, raw, _ = xds.iti41_mtom(
        (letter,), issue_instant=instant, envelope_options=options, patient_id=patient.cx,
        set_unique_id=set_uid, signature_unique_id=sig_uid, signer=signer(),
        submission_time=ts, source_id=LPS_OID, author=ps_id + AUTHOR)
    return DmpRequest("repository", content_type, raw)


# --- TD3.1, TD3.2, TD3.3 ---------------------------------------------------------------

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
    from simulator.kit import registry
    since = dtm(session.clock.now() - timedelta(seconds=SEARCH_WINDOW))
    body = registry.find_documents(patient.cx, class_codes=[
        f"{REPORT_CLASS[0]}^^{REPORT_CLASS[2]}"], creation_from=since)
    return soap_request(session, patient, "registry", registry.STORED_QUERY_ACTION,
                        body)


def entry_uuid_request(session: Session, patient: Patient, unique_id: str) -> DmpRequest:
    """TD3.1b: GetDocuments by uniqueId, ObjectRef: the entryUUID an update names
    (open to indirect authentication, brief §2.5, S3 td3.1b)."""
    from simulator.kit import registry
    return soap_request(session, patient, "registry", registry.STORED_QUERY_ACTION,
                        registry.get_documents(unique_ids=[unique_id]))


def delete_request(session: Session, patient: Patient, entry_uuid: str) -> DmpRequest:
    """TD3.3c: ITI-57 UpdateAvailabilityStatus Approved -> Deleted, by the author
    (S1 DRIMbox DeleteRequest)."""
    from simulator.kit import registry
    set_uid = f"{session.id_root}.{session.feeds}.9"
    body = registry.delete(entry_uuid, patient=patient.cx, set_unique_id=set_uid)
    return soap_request(session, patient, "registry", registry.UPDATE_ACTION, body)


def retrieve_request(session: Session, patient: Patient, found: FoundDocument) -> DmpRequest:
    """TD3.2: ITI-43 for one document found by TD3.1."""
    from simulator.kit import xds
    return soap_request(session, patient, "repository", xds.RETRIEVE_ACTION,
                        xds.retrieve_body((found.repository, found.unique_id)))
