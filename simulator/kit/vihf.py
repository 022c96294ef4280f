"""The VIHF: the SAML 2.0 assertion every DMP request carries in ``wsse:Security``.

Attribute names, code systems and the signature profile are those of the DMP brief §4.2
(VIHF 3.0) and docs/dmp.md ("The VIHF"). The authentication modes the simulator knows
(brief §4.1, ``simulator/services/dmp/access.py``):

* ``DIRECTE``: a professional with a CPS card; the card authenticates, the signature is
  not verified (:func:`professional_with_card`).
* ``INDIRECTE``: the structure authenticates (an EAI or a hospital DPI with the ORG
  SIGN certificate): may feed, not consult (:func:`structure`).
* ``INDIRECTE_RENFORCEE`` (AIR): a professional identified by the structure's DPI, with
  consultation rights (:func:`professional_air`, the default).

and the access modes (purpose of use, TRE_R248): ``normal``, ``bris_de_glace`` (only in
``DIRECTE``) and ``centre_15``. The patient is the resource-id ``INS^^^&OID&ISO^NH``;
API v1 names an INS-C under OID 1.2.250.1.213.1.4.2 (``oid=INS_C_OID``). The simulator
models no patient or secretary access (no VIHF mode of its own): none is offered here.

Example::

    from simulator.kit import vihf
    header = vihf.vihf("2024-03-01T08:30:00Z", **vihf.structure(structure="10B0167011"))
"""
from __future__ import annotations

import uuid
from xml.sax.saxutils import escape

ADRUN = "275126322074974"  # ADRUN Zoé, a CNDA test person (INS-NIR test OID)
TEST_OID = "1.2.250.1.213.1.4.10"
INS_C_OID = "1.2.250.1.213.1.4.2"
ROLE = "urn:oasis:names:tc:xacml:2.0:subject:role"
RESOURCE_ID = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"
SUBJECT_ID = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
PURPOSE_OF_USE = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
AUTH_MODES = ("DIRECTE", "INDIRECTE", "INDIRECTE_RENFORCEE")
ACCESS_MODES = ("normal", "bris_de_glace", "centre_15")
# A physician (profession 10, TRE_G15) qualified in general medicine (SM26, TRE_R38).
PHYSICIAN = (("10", "1.2.250.1.71.1.2.7", "Médecin"), ("SM26", "1.2.250.1.71.4.2.5", ""))


def purpose(mode: str = "normal") -> str:
    """The PurposeOfUse value of an access mode (normal, bris_de_glace, centre_15)."""
    return ('<hl7:PurposeOfUse xmlns:hl7="urn:hl7-org:v3" xsi:type="CE" '
            f'code="{mode}" codeSystem="1.2.250.1.213.1.1.4.248" '
            'codeSystemName="mode acces VIHF 2.0"/>')


def role(code: str, code_system: str, display: str = "") -> str:
    """One ``hl7:Role`` value (profession or savoir-faire)."""
    shown = f' displayName="{escape(display)}"' if display else ""
    return (f'<hl7:Role xmlns:hl7="urn:hl7-org:v3" xsi:type="CE" code="{code}" '
            f'codeSystem="{code_system}"{shown}/>')


def attributes(patient: str | None = ADRUN, oid: str = TEST_OID, mode: str = "normal", *,
               auth_mode: str = "INDIRECTE_RENFORCEE", roles=PHYSICIAN,
               sector: str = "SA07^1.2.250.1.71.4.2.4", subject: str = "Jean DUPONT",
               structure: str = "10B0167011", software: str = "MON-DPI",
               software_version: str = "4.2", lps_id: str = "1.2.250.1.999.1",
               homologation: str = "EVO-20200654-tmp8", **changes) -> dict:
    """VIHF 3.0 attributes (name -> text, or a tuple of XML values); by default a
    physician using a DPI in AIR mode. ``patient=None`` names no patient (TD0.5,
    patientsSpecific, TD0.0); ``changes`` set or (with None) drop attributes by name."""
    values = {
        "VIHF_Version": "3.0",
        "Authentification_Mode": auth_mode,
        ROLE: tuple(role(*r) for r in roles),
        "Secteur_Activite": sector,
        RESOURCE_ID: f"{patient}^^^&{oid}&ISO^NH" if patient else None,
        "Ressource_URN": "urn:dmp",
        SUBJECT_ID: subject,
        "Identifiant_Structure": structure,
        PURPOSE_OF_USE: (purpose(mode),),
        "LPS_ID": lps_id,
        "LPS_Nom": software,
        "LPS_Version": software_version,
        "LPS_ID_HOMOLOGATION_DMP": homologation,
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def professional_with_card(ps_id: str = "899900063480", **options) -> dict:
    """Options of :func:`vihf` for a professional with a CPS card (``DIRECTE``): the
    NameID is the PS idNat; the only mode allowing bris de glace (``mode=...``)."""
    return dict(options, auth_mode="DIRECTE", user=ps_id)


def structure(structure: str = "10B0167011", software: str = "MON-EAI", **options) -> dict:
    """Options of :func:`vihf` for the structure itself (``INDIRECTE``: an EAI feeding
    documents), signed with the structure's ORG SIGN certificate."""
    defaults = {"user": f"{structure}/EAI", "subject": f"EAI {software}"}
    return {**defaults, **options, "auth_mode": "INDIRECTE", "structure": structure,
            "software": software}


def professional_air(ps_id: str = "00B1022322", structure: str = "10B0167011",
                     **options) -> dict:
    """Options of :func:`vihf` for a professional at the structure's DPI in AIR mode
    (``INDIRECTE_RENFORCEE``): NameID ``structure/ps_id``."""
    return dict(options, auth_mode="INDIRECTE_RENFORCEE", structure=structure,
                user=f"{structure}/{ps_id}")


def vihf(issue_instant: str, *, user: str = "10B0167011/00B1022322", signed: bool = True,
         signer=None, method: str | None = None, digest: str | None = None,
         authn_context: str | None = None, issuer: str | None = None,
         **attribute_options) -> str:
    """A wsse:Security header block holding a VIHF assertion dated ``issue_instant`` (the
    simulated time: checked within ``SIM_DMP_VIHF_MAX_SKEW``), ``signed`` (enveloped,
    exclusive C14N, RSA-SHA256, brief §4.2) with the test PKI's ORG SIGN certificate or
    ``signer`` (:mod:`simulator.kit.signing`). ``authn_context`` (e.g. ``TLSClient``)
    adds a saml:AuthnStatement; ``attribute_options`` go to :func:`attributes`."""
    statements = "".join(
        f'<saml:Attribute Name="{name}">' + "".join(
            f"<saml:AttributeValue>{v if v.startswith('<') else escape(v)}</saml:AttributeValue>"
            for v in (value if isinstance(value, tuple) else (value,))) + "</saml:Attribute>"
        for name, value in attributes(**attribute_options).items())
    assertion_id = f"_{uuid.uuid4().hex}"
    signature = ""
    if signed:
        from simulator.kit.signing import (
            ENVELOPED, EXC_C14N, RSA_SHA256, SHA256, signature_skeleton)
        signature = signature_skeleton(
            [(f"#{assertion_id}", [ENVELOPED, EXC_C14N], digest or SHA256, "")],
            method=method or RSA_SHA256, signer=signer)
    structure_id = attribute_options.get("structure", "10B0167011")
    authn = ""
    if authn_context:
        authn = (f'<saml:AuthnStatement AuthnInstant="{issue_instant}"><saml:AuthnContext>'
                 "<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:"
                 f"{authn_context}</saml:AuthnContextClassRef></saml:AuthnContext>"
                 "</saml:AuthnStatement>")
    assertion = (
        '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" Version="2.0" '
        f'ID="{assertion_id}" IssueInstant="{issue_instant}">'
        '<saml:Issuer Format="urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName">'
        + escape(issuer or f"CN={attribute_options.get('software', 'MON-DPI')},"
                           f"OU={structure_id},O=HOPITAL,C=FR")
        + "</saml:Issuer>" + signature
        + f'<saml:Subject><saml:NameID>{escape(user)}</saml:NameID></saml:Subject>{authn}'
        f'<saml:AttributeStatement>{statements}</saml:AttributeStatement></saml:Assertion>')
    if signed:
        assertion = sign_assertion(assertion, signer)
    return ('<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/'
            f'oasis-200401-wss-wssecurity-secext-1.0.xsd">{assertion}</wsse:Security>')


def sign_assertion(assertion: str, signer=None) -> str:
    """``assertion`` (a saml:Assertion with an unsigned ds:Signature) signed."""
    from lxml import etree

    from simulator.kit.signing import DSIG, sign_in_place
    root = etree.fromstring(assertion)
    sign_in_place(root.find(f"{{{DSIG}}}Signature"), signer)
    return etree.tostring(root, encoding="unicode")
