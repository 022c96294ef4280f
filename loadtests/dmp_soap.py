"""The SOAP side of DMP v2 requests: who calls and about whom, the VIHF, the SOAP 1.2 +
WS-Addressing envelope, and the HL7 v3 (TD0.2, TD1.1) and habilitations (TD0.3) bodies.

Nothing from ``simulator`` or ``tests``: the load tests run against any DMP-compatible
platform (the VIHF is signed by ``dmp_signing``, with lxml and cryptography). Facts from the DMP brief (``../shared/domain/DMP.md``):
§1.2 SOAP and WS-Addressing, §2.2 HL7 messages, §2.3 habilitations, §4.2 the VIHF.
The builders take a ``dmp_load.Session`` (caller, host, platform clock).
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from dmp_signing import ENVELOPED, EXC_C14N, RSA_SHA256, SHA256, sign, skeleton
from soapload import env_path

if TYPE_CHECKING:
    from dmp_load import Session

BASE_PATH = env_path("DMP_BASE_PATH", "/si-dmp-server/v2/services")
STRUCTURE = os.environ.get("DMP_STRUCTURE", "10B0167011")
SOFTWARE = os.environ.get("DMP_SOFTWARE", "insi-dmp-sim-loadtest")
VERSION = os.environ.get("DMP_VERSION", "1.0")
HOMOLOGATION = os.environ.get("DMP_HOMOLOGATION", "LOADTEST-0001")
LPS_OID = os.environ.get("DMP_LPS_OID", "1.2.250.1.999.1.1.4242")

HL7 = "urn:hl7-org:v3"
HABILITATIONS = "urn:si-dmp-habilitations"
PS_ROOT, STRUCTURE_ROOT = "1.2.250.1.71.4.2.1", "1.2.250.1.71.4.2.2"


@dataclass(frozen=True)
class Patient:
    """A person of the identity registry, with the INS (and OID) INSi gives them."""

    label: str
    weight: int
    ins: str
    oid: str
    birth_name: str
    first_names: tuple[str, ...]
    sex: str
    born: str                              # YYYY-MM-DD

    @property
    def cx(self) -> str:
        """The XDS patientId and VIHF resource-id, ``INS^^^&OID&ISO^NH`` (§5.1)."""
        return f"{self.ins}^^^&{self.oid}&ISO^NH"


@dataclass(frozen=True)
class Caller:
    """The VIHF subject: a hospital EAI (indirect authentication, signed VIHF) or a
    physician at the hospital's DPI (AIR, INDIRECTE_RENFORCEE)."""

    name_id: str
    subject: str
    auth_mode: str
    ps_id: str                             # PS idNat of the responsible physician


@dataclass(frozen=True)
class DmpRequest:
    """What to POST: the service path segment, the Content-Type and the bytes."""

    service: str
    content_type: str
    body: bytes


def dtm(moment: datetime) -> str:
    """An XDS / HL7 date-time in UTC, ``YYYYMMDDhhmmss``."""
    return moment.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


def escape_attr(value: str) -> str:
    """An attribute value as canonical XML writes it (C14N 1.0 §2.3)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def escape_text(value: str) -> str:
    """Character data as canonical XML writes it."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_ROLE = ('<hl7:Role xsi:type="CE" code="{}" codeSystem="{}" displayName="{}"/>')
def vihf(session: Session, patient: Patient) -> str:
    """The wsse:Security block with the VIHF 3.0 assertion (attribute names of §4.2)."""
    caller, instant = session.caller, session.clock.now()
    issued = instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"
    assertion_id = f"_{uuid.uuid4().hex}"
    attributes = {
        "VIHF_Version": "3.0", "Authentification_Mode": caller.auth_mode,
        "urn:oasis:names:tc:xacml:2.0:subject:role": [
            _ROLE.format("10", "1.2.250.1.71.1.2.7", "Médecin"),
            _ROLE.format("SM26", "1.2.250.1.71.4.2.5", "Qualifié en Médecine Générale")],
        "Secteur_Activite": "SA01^1.2.250.1.71.4.2.4",
        "urn:oasis:names:tc:xacml:2.0:resource:resource-id": escape_text(patient.cx),
        "Ressource_URN": "urn:dmp",
        "urn:oasis:names:tc:xspa:1.0:subject:subject-id": escape_text(caller.subject),
        "Identifiant_Structure": STRUCTURE,
        "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse": [
            '<hl7:PurposeOfUse xsi:type="CE" code="normal" codeSystem="1.2.250.1.213.1.1.4.248"'
            ' codeSystemName="mode acces VIHF 2.0" displayName="Accès normal"/>'],
        "LPS_ID": LPS_OID, "LPS_Nom": escape_text(SOFTWARE),
        "LPS_Version": escape_text(VERSION),
        "LPS_ID_HOMOLOGATION_DMP": escape_text(HOMOLOGATION)}
    statements = "".join(
        f'<saml:Attribute Name="{name}">' + "".join(
            f"<saml:AttributeValue>{v}</saml:AttributeValue>"
            for v in (value if isinstance(value, list) else [value])) + "</saml:Attribute>"
        for name, value in attributes.items())
    context = "TLSClient" if caller.auth_mode == "INDIRECTE" else "Password"
    signature = skeleton([(f"#{assertion_id}", [ENVELOPED, EXC_C14N], SHA256, "")],
                         method=RSA_SHA256, c14n=EXC_C14N)
    assertion = sign(
        '<saml:Assertion '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:hl7="urn:hl7-org:v3" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'ID="{assertion_id}" IssueInstant="{issued}" Version="2.0">'
        '<saml:Issuer Format="urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName">'
        f"CN={escape_text(SOFTWARE)},OU={STRUCTURE},O=LOADTEST,C=FR</saml:Issuer>"
        + signature
        + f"<saml:Subject><saml:NameID>{escape_text(caller.name_id)}</saml:NameID>"
        "</saml:Subject>"
        f'<saml:AuthnStatement AuthnInstant="{issued}"><saml:AuthnContext>'
        f"<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:{context}"
        "</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"
        f"<saml:AttributeStatement>{statements}</saml:AttributeStatement>"
        "</saml:Assertion>").decode("utf-8")
    return ('<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/'
            f'oasis-200401-wss-wssecurity-secext-1.0.xsd">{assertion}</wsse:Security>')


def envelope(session: Session, patient: Patient, service: str, action: str,
             body: str) -> bytes:
    """SOAP 1.2 with WS-Addressing (Action mustUnderstand, MessageID, To) and the VIHF."""
    return (
        '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://www.w3.org/2005/08/addressing"><soap:Header>'
        f'<wsa:Action soap:mustUnderstand="true">{action}</wsa:Action>'
        f"<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>"
        f"<wsa:To>{escape_text(session.host.rstrip('/') + BASE_PATH + '/' + service)}</wsa:To>"
        f"{vihf(session, patient)}</soap:Header><soap:Body>{body}</soap:Body>"
        "</soap:Envelope>").encode("utf-8")


def soap_request(session: Session, patient: Patient, service: str, action: str,
                 body: str) -> DmpRequest:
    """A plain SOAP 1.2 request (``application/soap+xml`` with its action) to ``service``."""
    return DmpRequest(service, f'application/soap+xml; charset=utf-8; action="{action}"',
                      envelope(session, patient, service, action, body))


def _hl7(session: Session, interaction: str, reason: str, control: str) -> str:
    """An HL7 v3 message to the DMP device (§2.2), ``control`` after the reasonCode."""
    return (
        f'<{interaction} xmlns="{HL7}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' ITSVersion="XML_1.0"><id root="{LPS_OID}" extension="{uuid.uuid4()}"/>'
        f'<creationTime value="{dtm(session.clock.now())}"/>'
        f'<interactionId root="2.16.840.1.113883.1.6" extension="{interaction}"/>'
        '<processingCode code="P"/><processingModeCode code="T"/><acceptAckCode code="AL"/>'
        '<receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE">'
        '<id root="1.2.250.1.213.4.1.1.1"/><softwareName>DMP</softwareName></device>'
        '</receiver><sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE">'
        f'<id root="{LPS_OID}"/><softwareName>{escape_text(SOFTWARE)}</softwareName></device>'
        '</sender><controlActProcess classCode="CACT" moodCode="EVN">'
        f'<reasonCode code="{reason}" codeSystem="1.2.250.1.213.1.1.4.11"/>{control}'
        f"</controlActProcess></{interaction}>")


def existence_request(session: Session, patient: Patient) -> DmpRequest:
    """TD0.2: PRPA_IN201307UV02 TEST_EXST for the patient's INS."""
    query = (f'<queryByParameter><queryId root="{LPS_OID}.4" extension="{uuid.uuid4()}"/>'
             '<statusCode code="new"/><parameterList><patientIdentifier>'
             f'<value root="{patient.oid}" extension="{patient.ins}"/>'
             "<semanticsText>Patient.id</semanticsText></patientIdentifier></parameterList>"
             "</queryByParameter>")
    return soap_request(session, patient, "patients", "urn:hl7-org:v3:PRPA_IN201307UV02",
                        _hl7(session, "PRPA_IN201307UV02", "TEST_EXST", query))


def create_request(session: Session, patient: Patient) -> DmpRequest:
    """TD1.1: PRPA_IN201311UV02 CREA_RD with the INSi traits and the patient's consent."""
    name = (f'<family qualifier="BR">{escape_text(patient.birth_name)}</family>'
            + "".join(f"<given>{escape_text(g)}</given>" for g in patient.first_names))
    observations = "".join(
        '<subjectOf typeCode="SBJ"><administrativeObservation classCode="OBS" moodCode="EVN">'
        f'<code code="{code}" codeSystem="1.2.250.1.213.4.1.2.3"/>'
        f'<value xsi:type="BL" value="{value}"/></administrativeObservation></subjectOf>'
        for code, value in (("CONSENTEMENT_OUVERTURE_DMP", "true"),
                            ("OPPOSITION_BRIS_DE_GLACE", "false"),
                            ("OPPOSITION_ACCES_URGENCE", "false")))
    registration = (
        '<subject typeCode="SUBJ" contextConductionInd="false"><registrationRequest '
        'classCode="REG" moodCode="RQO"><statusCode code="active"/><subject1 typeCode="SBJ">'
        f'<patient classCode="PAT"><id root="{patient.oid}" extension="{patient.ins}"/>'
        '<statusCode code="active"/><patientPerson classCode="PSN" determinerCode="INSTANCE">'
        f'<name>{name}</name><administrativeGenderCode code="{patient.sex}"/>'
        f'<birthTime value="{patient.born.replace("-", "")}"/></patientPerson>{observations}'
        '</patient></subject1><author typeCode="AUT"><assignedEntity classCode="ASSIGNED">'
        f'<id root="{PS_ROOT}" extension="{session.caller.ps_id}"/>'
        '<representedOrganization classCode="ORG" determinerCode="INSTANCE">'
        f'<id root="{STRUCTURE_ROOT}" extension="{STRUCTURE}"/></representedOrganization>'
        "</assignedEntity></author></registrationRequest></subject>")
    return soap_request(session, patient, "patients", "urn:hl7-org:v3:PRPA_IN201311UV02",
                        _hl7(session, "PRPA_IN201311UV02", "CREA_RD", registration))


def authorise_request(session: Session, patient: Patient) -> DmpRequest:
    """TD0.3: setAuthorization AJOUT; the patient is the VIHF's resource-id (§1.2)."""
    body = (f'<h:setAuthorization xmlns:h="{HABILITATIONS}"><h:action>AJOUT</h:action>'
            "</h:setAuthorization>")
    return soap_request(session, patient, "habilitations",
                        f"{HABILITATIONS}:HabilitationsEndPoint:setAuthorization", body)
