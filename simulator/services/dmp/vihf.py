"""Reading and checking the VIHF, the SAML 2.0 assertion every DMP request carries.

The VIHF (in ``wsse:Security``) says who calls (structure, professional, roles, sector),
from which software, in which access mode, and for which patient. Attribute names and
code systems are those of the DMP brief (§4.2, VIHF 3.0); the access-mode rules of
§4.1 (bris de glace only with a card, signature required without one) are applied.
Every problem raises :class:`VihfError` naming the attribute and what was expected.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from lxml import etree

from simulator.services.dmp.vihf_key import assertion_key
from simulator.soap.namespaces import WSSE
from simulator.soap.parsing import child_text, first_child

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
HL7 = "urn:hl7-org:v3"

ROLE = "urn:oasis:names:tc:xacml:2.0:subject:role"
RESOURCE_ID = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"
SUBJECT_ID = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
PURPOSE_OF_USE = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
CONFIDENTIALITY = "urn:oasis:names:tc:xspa:1.0:resource:patient:hl7:confidentiality-code"

AUTH_MODES = ("DIRECTE", "INDIRECTE", "INDIRECTE_RENFORCEE")
ACCESS_MODES = ("normal", "bris_de_glace", "centre_15")
ACCESS_MODE_SYSTEM = "1.2.250.1.213.1.1.4.248"  # TRE_R248_ModeAcces
INS_C_OID = "1.2.250.1.213.1.4.2"
INS_OIDS = {"1.2.250.1.213.1.4.8": "INS-NIR", "1.2.250.1.213.1.4.9": "INS-NIA",
            "1.2.250.1.213.1.4.10": "INS-NIR test", "1.2.250.1.213.1.4.11": "INS-NIR demo",
            INS_C_OID: "INS-C"}
# The patient identifier each API version takes (DMP.md §3.1): v1 the INS-C only; v2
# the INS only ("l'INSc n'est plus reconnu par le DMP en V2").
PATIENT_OIDS = {"v1": {INS_C_OID: "INS-C"},
                "v2": {oid: label for oid, label in INS_OIDS.items() if oid != INS_C_OID}}
# CX.5 is NH; some v1 clients wrote INS-C for an INS-C (DMP.md §5.1), accepted with it.
_CX = re.compile(r"^(?P<id>[0-9A-Z]{13,22})\^\^\^&(?P<oid>[0-9.]+)&ISO\^(?P<type>NH|INS-C)$")
_CODE_OID = re.compile(r"^[^^]+\^[0-9.]+$")


class VihfError(ValueError):
    """The VIHF is missing, incomplete or inconsistent; the message says what."""


@dataclass(frozen=True)
class Role:
    """One ``hl7:Role`` of the subject (profession, then savoir-faire)."""

    code: str
    code_system: str


@dataclass(frozen=True)
class Vihf:
    """What the DMP needs from the assertion."""

    issue_instant: datetime
    name_id: str  # the user (PS idNat, or structure/local id)
    subject_name: str
    structure_id: str
    auth_mode: str  # DIRECTE | INDIRECTE | INDIRECTE_RENFORCEE
    access_mode: str  # normal | bris_de_glace | centre_15
    roles: tuple[Role, ...]
    sector: str  # code^OID
    software_name: str
    software_version: str
    homologation_id: str
    version: str
    patient_ins: str | None  # from resource-id, when present
    patient_oid: str | None
    signed: bool
    confidentiality: str | None = None

    @property
    def profession(self) -> str:
        """The first role's code (G15 profession, or AUTOMATE)."""
        return self.roles[0].code


def read_vihf(header: etree._Element | None, now: datetime, *, max_skew: timedelta,
              require_patient: bool, require_signature: bool = True,
              verify_signature: Callable[[etree._Element], object] | None = None,
              memo: dict | None = None, cache: VihfCache | None = None,
              source: bytes | None = None) -> Vihf:
    """Find, parse and check the VIHF in a SOAP header.

    ``now`` is the simulated instant; ``IssueInstant`` may differ from it by at most
    ``max_skew``. ``require_patient``: the transaction concerns one patient, named by
    the resource-id. ``require_signature``: indirect modes must carry an XML signature.
    ``verify_signature``: called with the assertion in those modes, raises when the
    signature is not right (``simulator.services.dmp.xmldsig.verify_vihf_signature``).
    ``memo``: the request's SoapRequest.memo, to read the attributes once per request.
    ``cache``: with ``memo`` and when no signature is verified, the reading of an
    assertion of the same bytes checked before is reused (:class:`VihfCache`).
    ``source``: the bytes the header was parsed from (SoapRequest.source), which
    identify the assertion for that reuse (:mod:`.vihf_key`).
    """
    assertion = _assertion(header, memo) if header is not None else None
    if assertion is None:
        raise VihfError("wsse:Security/saml:Assertion (the VIHF) is missing")
    key = None
    if cache is not None and memo is not None and verify_signature is None:
        key = (assertion_key(assertion, memo, source), require_patient, require_signature)
        checked = cache.checked.get(key)
        if checked is not None:  # every check but the instant's depends on the bytes only
            _check_skew(checked.issue_instant, assertion, now, max_skew)
            return checked
    if assertion.get("Version") != "2.0":
        raise VihfError(f"Assertion/@Version must be 2.0, got {assertion.get('Version')!r}")
    issued = _instant(assertion.get("IssueInstant"))
    _check_skew(issued, assertion, now, max_skew)
    if not (child_text(assertion, _ISSUER) or "").strip():
        raise VihfError("Assertion/Issuer is missing (the signing certificate's subject DN)")
    name_id = (child_text(assertion, _SUBJECT, _NAME_ID) or "").strip()
    if not name_id:
        raise VihfError("Assertion/Subject/NameID is missing (the user's identifier)")
    attributes = _attributes_once(assertion, memo)
    text = _Texts(attributes)
    auth_mode = text.one("Authentification_Mode", AUTH_MODES)
    if text.one("Ressource_URN") != "urn:dmp":
        raise VihfError(f"attribute Ressource_URN must be urn:dmp, got "
                        f"{text.one('Ressource_URN')!r}")
    sector = text.one("Secteur_Activite")
    if not _CODE_OID.match(sector):
        raise VihfError(f"attribute Secteur_Activite must be code^OID (e.g. "
                        f"SA07^1.2.250.1.71.4.2.4), got {sector!r}")
    access_mode = _access_mode(attributes)
    if access_mode == "bris_de_glace" and auth_mode != "DIRECTE":
        raise VihfError("bris de glace needs direct authentication with a CPS card "
                        f"(Authentification_Mode DIRECTE), got {auth_mode}")
    signed = first_child(assertion, _SIGNATURE) is not None
    if require_signature and auth_mode != "DIRECTE" and not signed:
        raise VihfError(f"a VIHF in mode {auth_mode} must be signed (ds:Signature after "
                        "Issuer)")
    if verify_signature is not None and auth_mode != "DIRECTE" and signed:
        verify_signature(assertion)
    ins, oid = _patient(attributes, require_patient)
    vihf = Vihf(
        issue_instant=issued, name_id=name_id, subject_name=text.one(SUBJECT_ID),
        structure_id=text.one("Identifiant_Structure"), auth_mode=auth_mode,
        access_mode=access_mode, roles=_roles(attributes), sector=sector,
        software_name=text.one("LPS_Nom"), software_version=text.one("LPS_Version"),
        homologation_id=text.one("LPS_ID_HOMOLOGATION_DMP"), version=text.one("VIHF_Version"),
        patient_ins=ins, patient_oid=oid, signed=signed,
        confidentiality=text.optional(CONFIDENTIALITY))
    if key is not None:
        cache.remember(cache.checked, key, vihf)
    return vihf


class VihfCache:
    """Assertions already read, owned by one DMP context (so two simulators in one
    process never share a reading).

    ``checked``: readings found right, by (the assertion's key (:mod:`.vihf_key`),
    require_patient, require_signature), every parameter of :func:`read_vihf` but the
    instant's bound, which is checked on each request. A client sends the same VIHF with every request
    of a session, and reading it took a fifth of a TD0.3 (issue 15). Used only without
    signature verification: the verifier also judges certificates against the real clock
    and the trusted CAs, which change. ``peeked``: :func:`peek_vihf`'s facts by key.
    Vihf is frozen, so one instance is safely shared; each map is emptied when full.
    """

    def __init__(self, entries: int = 256):
        self.entries = entries
        self.checked: dict[tuple, Vihf] = {}
        self.peeked: dict[tuple, dict[str, str]] = {}

    def remember(self, readings: dict, key, value) -> None:
        """Keep ``value`` under ``key`` in one of the two maps, within the bound."""
        if len(readings) >= self.entries:
            readings.clear()  # starts over: one call, safe whatever another thread does
        readings[key] = value


def _check_skew(issued: datetime, assertion, now: datetime, max_skew: timedelta) -> None:
    if abs(issued - now) > max_skew:
        raise VihfError(f"Assertion/@IssueInstant {assertion.get('IssueInstant')} is more "
                        f"than {max_skew} away from the platform's time {now.isoformat()}")


_ATTRIBUTE_STATEMENT, _ATTRIBUTE = f"{{{SAML}}}AttributeStatement", f"{{{SAML}}}Attribute"
_ATTRIBUTE_VALUE = f"{{{SAML}}}AttributeValue"
_ISSUER, _SUBJECT, _NAME_ID = f"{{{SAML}}}Issuer", f"{{{SAML}}}Subject", f"{{{SAML}}}NameID"
_SIGNATURE = f"{{{DSIG}}}Signature"
_ATTRIBUTES_MEMO = "vihf-attributes"  # SoapRequest.memo key: (assertion, its attributes)


def _attributes_once(assertion, memo: dict | None) -> dict[str, list]:
    """The attributes of ``assertion``, read once per request when ``memo`` is the
    request's (SoapRequest.memo): the chaos facts and the checks both need them (issue
    15). The lists are shared: callers only read them."""
    if memo is None:
        return _attributes(assertion)
    found = memo.get(_ATTRIBUTES_MEMO)
    if found is None or found[0] is not assertion:
        found = memo[_ATTRIBUTES_MEMO] = (assertion, _attributes(assertion))
    return found[1]


def _attributes(assertion) -> dict[str, list]:
    # Child iteration, not ElementPath: the same elements, in document order, without
    # lxml's path machinery (written in Python: a tenth of a TD0.2's time, issue 15).
    found: dict[str, list] = {}
    for statement in assertion.iterchildren(_ATTRIBUTE_STATEMENT):
        for attribute in statement.iterchildren(_ATTRIBUTE):
            found.setdefault(attribute.get("Name"), []).extend(
                attribute.iterchildren(_ATTRIBUTE_VALUE))
    return found


_ASSERTION_MEMO = "vihf-assertion"  # SoapRequest.memo key: (header, its assertion)


def _assertion(header: etree._Element, memo: dict | None = None):
    """``wsse:Security/saml:Assertion`` of the header (the first), or None; found once
    per request with ``memo`` (the facts for the journal and the call both look)."""
    found = memo.get(_ASSERTION_MEMO) if memo is not None else None
    if found is not None and found[0] is header:
        return found[1]
    assertion = next((assertion for security in header.iterchildren(f"{{{WSSE}}}Security")
                      for assertion in security.iterchildren(f"{{{SAML}}}Assertion")), None)
    if memo is not None:
        memo[_ASSERTION_MEMO] = (header, assertion)
    return assertion


class _Texts:
    """Text values of attributes, with errors naming the attribute."""

    def __init__(self, attributes: dict[str, list]):
        self.attributes = attributes

    def optional(self, name: str) -> str | None:
        values = [(v.text or "").strip() for v in self.attributes.get(name, [])]
        return next((v for v in values if v), None)

    def one(self, name: str, allowed: tuple[str, ...] | None = None) -> str:
        value = self.optional(name)
        if value is None:
            raise VihfError(f"attribute {name} is missing or empty")
        if allowed is not None and value not in allowed:
            raise VihfError(f"attribute {name} must be one of {', '.join(allowed)}, "
                            f"got {value!r}")
        return value


def _coded(values: list, element: str, name: str) -> list[etree._Element]:
    tag = f"{{{HL7}}}{element}"
    coded = [first_child(v, tag) for v in values]
    if not coded or any(c is None or not c.get("code") for c in coded):
        raise VihfError(f"attribute {name} must hold hl7:{element} values with a code")
    return coded


def _roles(attributes) -> tuple[Role, ...]:
    roles = _coded(attributes.get(ROLE, []), "Role", ROLE)
    return tuple(Role(r.get("code"), r.get("codeSystem") or "") for r in roles)


def _access_mode(attributes) -> str:
    purpose = _coded(attributes.get(PURPOSE_OF_USE, []), "PurposeOfUse", PURPOSE_OF_USE)[0]
    code = purpose.get("code")
    if code not in ACCESS_MODES:
        raise VihfError(f"attribute {PURPOSE_OF_USE} must be one of "
                        f"{', '.join(ACCESS_MODES)}, got {code!r}")
    if purpose.get("codeSystem") != ACCESS_MODE_SYSTEM:
        raise VihfError(f"PurposeOfUse/@codeSystem must be {ACCESS_MODE_SYSTEM} "
                        f"(TRE_R248_ModeAcces), got {purpose.get('codeSystem')!r}")
    return code


def _patient(attributes, required: bool) -> tuple[str | None, str | None]:
    value = _Texts(attributes).optional(RESOURCE_ID)
    if value is None:
        if required:
            raise VihfError(f"attribute {RESOURCE_ID} (the patient's INS) is missing")
        return None, None
    found = _CX.match(value)
    if not found or (found["type"] == "INS-C" and found["oid"] != INS_C_OID):
        raise VihfError(f"attribute {RESOURCE_ID} must be INS^^^&OID&ISO^NH (e.g. "
                        f"275126322074974^^^&1.2.250.1.213.1.4.10&ISO^NH), got {value!r}")
    if found["oid"] not in INS_OIDS:
        raise VihfError(f"attribute {RESOURCE_ID}: {found['oid']} is not an INS OID "
                        f"({', '.join(INS_OIDS)})")
    return found["id"], found["oid"]


def identifier_refusal(version: str, oid: str) -> str | None:
    """Why API ``version`` (``v1`` or ``v2``) refuses a patient identifier of OID ``oid``,
    or None when it takes it. One wording for the VIHF, HL7 and XDS refusals."""
    if oid in PATIENT_OIDS[version]:
        return None
    label = INS_OIDS.get(oid)
    if version == "v1":
        what = f"an INS ({label}, OID {oid})" if label else f"OID {oid}"
        return (f"DMP API v1 identifies patients by the INS-C (22 digits, OID {INS_C_OID}), "
                f"not by {what}; send the INS-C, or use API v2 "
                "(/si-dmp-server/v2/services) with the INS")
    if oid == INS_C_OID:
        return (f"the INS-C (OID {INS_C_OID}) is refused by DMP API v2: l'INSc n'est plus "
                "reconnu par le DMP en V2; identify the patient by the INS (NIR or NIA with "
                "its OID)")
    return (f"{oid} is not an INS OID; expected one of "
            + ", ".join(f"{o} ({name})" for o, name in PATIENT_OIDS[version].items()))


def _instant(text: str | None) -> datetime:
    try:
        moment = datetime.fromisoformat((text or "").replace("Z", "+00:00"))
    except ValueError:
        raise VihfError(f"Assertion/@IssueInstant must be an xs:dateTime in UTC, got "
                        f"{text!r}") from None
    if moment.tzinfo is None:
        raise VihfError(f"Assertion/@IssueInstant must carry its time zone (Z), got {text!r}")
    return moment


LPS_NAME_ATTRIBUTE = "LPS_Nom"


def peek_vihf(header: etree._Element | None, memo: dict | None = None,
              cache: VihfCache | None = None, source: bytes | None = None) -> dict[str, str]:
    """Best-effort look at a VIHF without checking it (for chaos rules and journal
    queries): the software name under ``LPS_Nom``, the patient's 13-character matricule
    under ``ins``, ``structure`` (Identifiant_Structure) and ``professional`` (NameID).
    With ``memo`` and ``cache``, the facts of an assertion of the same bytes are reused
    (``source`` as for :func:`read_vihf`)."""
    found: dict[str, str] = {}
    if header is None:
        return found
    assertion = _assertion(header, memo)
    if assertion is None:
        return found
    key = assertion_key(assertion, memo, source) \
        if memo is not None and cache is not None else None
    if key is not None and key in cache.peeked:
        return dict(cache.peeked[key])
    texts = _Texts(_attributes_once(assertion, memo))
    name_id = (child_text(assertion, _SUBJECT, _NAME_ID) or "").strip()
    if name_id:
        found["professional"] = name_id
    structure = texts.optional("Identifiant_Structure")
    if structure:
        found["structure"] = structure
    software = texts.optional(LPS_NAME_ATTRIBUTE)
    if software:
        found[LPS_NAME_ATTRIBUTE] = software
    patient = _CX.match(texts.optional(RESOURCE_ID) or "")
    if patient:
        found["ins"] = patient["id"][:13]
    if key is not None:
        cache.remember(cache.peeked, key, dict(found))
    return found
