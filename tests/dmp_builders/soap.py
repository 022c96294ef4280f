"""The VIHF and the SOAP 1.2 + WS-Addressing envelope of DMP requests (brief §1.2, §4.2)."""
from __future__ import annotations

import uuid
from xml.sax.saxutils import escape

from lxml import etree

from dmp_builders.signing import (
    DSIG, ENVELOPED, EXC_C14N, RSA_SHA256, SHA256, Signer, sign_in_place, signature_skeleton)

SOAP_CT = "application/soap+xml; charset=utf-8"
ADRUN = "275126322074974"  # ADRUN Zoé, a CNDA test person (INS-NIR test OID)
TEST_OID = "1.2.250.1.213.1.4.10"
ROLE = "urn:oasis:names:tc:xacml:2.0:subject:role"
RESOURCE_ID = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"
SUBJECT_ID = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
PURPOSE_OF_USE = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
DMP_BASE = "/si-dmp-server/v2/services"


def purpose(mode: str = "normal") -> str:
    """The PurposeOfUse value of an access mode (normal, bris_de_glace, centre_15)."""
    return ('<hl7:PurposeOfUse xmlns:hl7="urn:hl7-org:v3" xsi:type="CE" '
            f'code="{mode}" codeSystem="1.2.250.1.213.1.1.4.248" '
            'codeSystemName="mode acces VIHF 2.0"/>')


def attributes(patient: str | None = ADRUN, oid: str = TEST_OID, mode: str = "normal",
               **changes) -> dict:
    """VIHF 3.0 attributes of a physician using a DPI in AIR mode."""
    values = {
        "VIHF_Version": "3.0",
        "Authentification_Mode": "INDIRECTE_RENFORCEE",
        ROLE: ('<hl7:Role xmlns:hl7="urn:hl7-org:v3" xsi:type="CE" code="10" '
               'codeSystem="1.2.250.1.71.1.2.7" displayName="Médecin"/>',
               '<hl7:Role xmlns:hl7="urn:hl7-org:v3" xsi:type="CE" code="SM26" '
               'codeSystem="1.2.250.1.71.4.2.5"/>'),
        "Secteur_Activite": "SA07^1.2.250.1.71.4.2.4",
        RESOURCE_ID: f"{patient}^^^&{oid}&ISO^NH" if patient else None,
        "Ressource_URN": "urn:dmp",
        SUBJECT_ID: "Jean DUPONT",
        "Identifiant_Structure": "10B0167011",
        PURPOSE_OF_USE: (purpose(mode),),
        "LPS_ID": "1.2.250.1.999.1",
        "LPS_Nom": "MON-DPI",
        "LPS_Version": "4.2",
        "LPS_ID_HOMOLOGATION_DMP": "EVO-20200654-tmp8",
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def vihf(issue_instant: str, *, user: str = "10B0167011/00B1022322", signed: bool = True,
         signer: Signer | None = None, method: str = RSA_SHA256, digest: str = SHA256,
         **attribute_options) -> str:
    """A wsse:Security header block holding a VIHF assertion, ``signed`` (enveloped,
    exclusive C14N, brief §4.2) with the test PKI's ORG SIGN certificate or ``signer``."""
    statements = "".join(
        f'<saml:Attribute Name="{name}">' + "".join(
            f"<saml:AttributeValue>{v if v.startswith('<') else escape(v)}</saml:AttributeValue>"
            for v in (value if isinstance(value, tuple) else (value,))) + "</saml:Attribute>"
        for name, value in attributes(**attribute_options).items())
    assertion_id = f"_{uuid.uuid4().hex}"
    signature = signature_skeleton([(f"#{assertion_id}", [ENVELOPED, EXC_C14N], digest, "")],
                                   method=method, signer=signer) if signed else ""
    assertion = (
        '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" Version="2.0" '
        f'ID="{assertion_id}" IssueInstant="{issue_instant}">'
        '<saml:Issuer Format="urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName">'
        'CN=MON-DPI,OU=10B0167011,O=HOPITAL,C=FR</saml:Issuer>' + signature +
        f'<saml:Subject><saml:NameID>{escape(user)}</saml:NameID></saml:Subject>'
        f'<saml:AttributeStatement>{statements}</saml:AttributeStatement></saml:Assertion>')
    if signed:
        assertion = sign_assertion(assertion, signer)
    return ('<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/'
            f'oasis-200401-wss-wssecurity-secext-1.0.xsd">{assertion}</wsse:Security>')


def sign_assertion(assertion: str, signer: Signer | None = None) -> str:
    """``assertion`` (a saml:Assertion with an unsigned ds:Signature) signed."""
    root = etree.fromstring(assertion)
    sign_in_place(root.find(f"{{{DSIG}}}Signature"), signer)
    return etree.tostring(root, encoding="unicode")


def envelope(body: str, *, action: str, service: str, issue_instant: str,
             message_id: str | None = None, host: str = "http://localhost",
             security: str | None = None, **vihf_options) -> bytes:
    """A DMP request: WS-Addressing headers (Action mustUnderstand, MessageID, To), the
    VIHF, and ``body``. ``security`` replaces the wsse:Security block ('' drops it)."""
    message_id = message_id or f"urn:uuid:{uuid.uuid4()}"
    security = vihf(issue_instant, **vihf_options) if security is None else security
    return (
        '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://www.w3.org/2005/08/addressing"><soap:Header>'
        f'<wsa:Action soap:mustUnderstand="true">{action}</wsa:Action>'
        f'<wsa:MessageID>{message_id}</wsa:MessageID>'
        f'<wsa:To>{host}{DMP_BASE}/{service}</wsa:To>{security}</soap:Header>'
        f'<soap:Body>{body}</soap:Body></soap:Envelope>').encode("utf-8")
