"""Parsing the HL7 v3 requests of the DMP ``patients`` service into :class:`PatientRequest`.

PRPA_IN201307UV02 (TEST_EXST, CNSLT_DATA), PRPA_IN201311UV02 (CREA_RD) and
PRPA_IN201314UV02 (REAC, MODIF_DATA, FERM), shaped as in the DMP brief §2.2. Anything
missing or malformed raises :class:`Hl7RequestError` naming the element, what was
expected and what was found.

The patient id of API v2 is the INS: ``@root`` one of the INS OIDs (.8 NIR, .9 NIA, .10
test, .11 demo; the INS-C .2 is refused, brief §3.1) and ``@extension`` the 15-character
matricule, i.e. the 13-character NIR (or NIA) followed by its 2-digit key, which must
be right (:func:`simulator.identities.nir.nir_key`). That is the form the clients of
the brief send (kit, DRIMbox) and the one XDS and the VIHF carry (§5.1, §4.2). API v1
takes the INS-C instead (root .2, 22 digits whose last two are the key) and refuses
the INS.

Checked beyond presence: interactionId matches the root element; the reasonCode (and
its code system) is allowed for the interaction; the receiver is the DMP device;
creation needs CONSENTEMENT_OUVERTURE_DMP true and the person's traits; reactivation
needs CONSENTEMENT_REACTIVATION_DMP true (inferred by analogy; the kit and Mediboard
send it); closure needs its reason. Status codes are not checked: for FERM the kit
sends registration ``completed``, Mediboard ``terminated``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from simulator.identities.insc import is_valid_insc
from simulator.identities.nir import nir_key, split_ins
from simulator.services.dmp.hl7 import codes as c
from simulator.services.dmp.hl7.person import read_person, read_vitale
from simulator.services.dmp.hl7.xmlread import (
    Hl7RequestError, attribute, child, children, local_name, optional, path_of, text_of)
from simulator.services.dmp.records import PatientTraits
from simulator.services.dmp.vihf import PATIENT_OIDS, identifier_refusal

__all__ = ["Hl7RequestError", "PatientRequest", "parse_patient_request", "updated_traits"]

_PROCESSING_CODES = ("P", "D", "T")
_CONSENT_NEEDED = {c.CREA_RD: c.CONSENTEMENT_OUVERTURE_DMP,
                   c.REAC: c.CONSENTEMENT_REACTIVATION_DMP}


@dataclass(frozen=True)
class PatientRequest:
    """What the business logic needs from one HL7 v3 request."""

    interaction: str  # e.g. PRPA_IN201307UV02
    reason_code: str  # TEST_EXST, CNSLT_DATA, CREA_RD, REAC, MODIF_DATA, FERM
    message_id_root: str
    message_id_extension: str | None
    sender_id: str  # sender/device/id/@root (the LPS)
    sender_name: str | None  # sender/device/softwareName
    patient_ins: str  # v2: 15 characters, NIR (or NIA) + key; v1: the 22-digit INS-C
    patient_oid: str
    traits: PatientTraits | None = None  # None for queries; see person.read_person
    observations: dict[str, bool] = field(default_factory=dict)  # code -> value
    close_reason: str | None = None
    close_text: str | None = None
    author_id: str | None = None  # PS idNat
    author_structure: str | None = None  # StructIdNat
    vitale_traits: PatientTraits | None = None
    query_id_root: str | None = None  # queryByParameter/queryId, echoed in the answer
    query_id_extension: str | None = None
    processing_code: str = "P"


def parse_patient_request(body: etree._Element, *, check_key: bool = True,
                          version: str = "v2", ins_oid_refusal=None) -> PatientRequest:
    """Parse the SOAP Body's first child; raise :class:`Hl7RequestError` when unusable.

    ``check_key=False`` accepts an INS whose key is wrong (some published CNDA test
    persons have one, e.g. HERMANN GATIEN); the layout is always checked. ``version``
    (``v1`` or ``v2``) says which patient identifier is taken: the INS-C or the INS.
    ``ins_oid_refusal(ins, oid)``, when given, says why the INS may not be named under
    its OID (brief §3.2, :mod:`..ins_oid`), refused as not allowed at the id's root.
    """
    interaction = _interaction(body)
    message_id = child(body, "id", "the message id")
    processing = attribute(child(body, "processingCode"), "code")
    if processing not in _PROCESSING_CODES:
        raise Hl7RequestError(f"processingCode must be P, D or T, got {processing!r}",
                              f"/{interaction}/processingCode/@code")
    _check_receiver(body)
    sender = child(child(body, "sender"), "device")
    control = child(body, "controlActProcess")
    reason = _reason(control, interaction)
    common = dict(
        interaction=interaction, reason_code=reason,
        message_id_root=attribute(message_id, "root", "the sender's message OID"),
        message_id_extension=(message_id.get("extension") or "").strip() or None,
        sender_id=attribute(child(sender, "id"), "root", "the LPS OID"),
        sender_name=text_of(optional(sender, "softwareName")) or None,
        processing_code=processing)
    checks = (check_key, version, ins_oid_refusal)
    if interaction == c.QUERY:
        return _query(control, common, *checks)
    return _registration(control, common, reason, *checks)


def updated_traits(stored: PatientTraits, sent: PatientTraits) -> PatientTraits:
    """``stored`` with what a TD1.3b request sent (empty fields of ``sent`` keep the
    stored value)."""
    return PatientTraits(
        birth_name=sent.birth_name or stored.birth_name,
        given_names=sent.given_names or stored.given_names,
        sex=sent.sex or stored.sex, birth_date=sent.birth_date or stored.birth_date,
        used_name=sent.used_name or stored.used_name,
        birth_place=sent.birth_place or stored.birth_place,
        telecoms=sent.telecoms or stored.telecoms, address=sent.address or stored.address)


def _interaction(body: etree._Element) -> str:
    name, namespace = local_name(body), etree.QName(body).namespace
    if name not in c.ANSWERS:
        raise Hl7RequestError(f"the patients service takes {', '.join(c.ANSWERS)}; got "
                              f"{name}", f"/{name}", c.NOT_ALLOWED)
    if namespace != c.HL7:
        raise Hl7RequestError(f"{name} must be in namespace {c.HL7}, found "
                              f"{namespace or '(no namespace)'}", f"/{name}")
    declared = child(body, "interactionId")
    if attribute(declared, "root") != c.INTERACTION_ROOT:
        raise Hl7RequestError(f"interactionId/@root must be {c.INTERACTION_ROOT}, got "
                              f"{declared.get('root')!r}", f"/{name}/interactionId/@root")
    if attribute(declared, "extension") != name:
        raise Hl7RequestError(f"interactionId/@extension is {declared.get('extension')!r} "
                              f"but the message is {name}", f"/{name}/interactionId/@extension")
    return name


def _check_receiver(body: etree._Element) -> None:
    device = child(child(body, "receiver"), "device")
    root = attribute(child(device, "id"), "root", "the DMP's device OID")
    if root != c.DMP_DEVICE_OID:
        raise Hl7RequestError(f"the receiver must be the DMP device {c.DMP_DEVICE_OID}, got "
                              f"{root!r}", f"{path_of(device)}/id/@root", c.NOT_ALLOWED)


def _reason(control: etree._Element, interaction: str) -> str:
    reason = child(control, "reasonCode", "the DMP transaction")
    code = attribute(reason, "code")
    allowed = c.REASONS_OF[interaction]
    if code not in allowed:
        raise Hl7RequestError(f"reasonCode {code!r} is not allowed in {interaction}; expected "
                              f"{' or '.join(allowed)}", f"{path_of(reason)}/@code", c.NOT_ALLOWED)
    system = reason.get("codeSystem")
    if system != c.REASON_SYSTEM:
        raise Hl7RequestError(f"reasonCode/@codeSystem must be {c.REASON_SYSTEM}, got "
                              f"{system!r}", f"{path_of(reason)}/@codeSystem", c.NOT_ALLOWED)
    return code


def _query(control: etree._Element, common: dict, check_key: bool,
           version: str, ins_oid_refusal) -> PatientRequest:
    query = child(control, "queryByParameter")
    identifier = child(child(query, "parameterList"), "patientIdentifier", "the INS")
    ins, oid = _ins(children(identifier, "value"), identifier, "value", check_key, version,
                    ins_oid_refusal)
    query_id = optional(query, "queryId")
    return PatientRequest(
        **common, patient_ins=ins, patient_oid=oid,
        query_id_root=(query_id.get("root") or None) if query_id is not None else None,
        query_id_extension=(query_id.get("extension") or None) if query_id is not None else None)


def _registration(control: etree._Element, common: dict, reason: str,
                  check_key: bool, version: str, ins_oid_refusal) -> PatientRequest:
    registration = child(child(control, "subject"), "registrationRequest")
    patient = child(child(registration, "subject1"), "patient")
    ins, oid = _ins(children(patient, "id"), patient, "id", check_key, version,
                    ins_oid_refusal)
    person = optional(patient, "patientPerson")
    if person is None and reason == c.CREA_RD:
        child(patient, "patientPerson", "the person's traits, needed to create a DMP")
    observations = _observations(patient)
    needed = _CONSENT_NEEDED.get(reason)
    if needed and observations.get(needed) is not True:
        state = "missing" if needed not in observations else "false"
        raise Hl7RequestError(
            f"{reason} needs the patient's consent: subjectOf/administrativeObservation "
            f"{needed} with value true ({state})", f"{path_of(patient)}/subjectOf",
            c.MISSING if state == "missing" else c.NOT_ALLOWED)
    close_reason, close_text = _closure(control) if reason == c.FERM else (None, None)
    author_id, structure = _author(registration)
    return PatientRequest(
        **common, patient_ins=ins, patient_oid=oid,
        traits=read_person(person, complete=reason == c.CREA_RD) if person is not None else None,
        vitale_traits=read_vitale(person) if person is not None else None,
        observations=observations, close_reason=close_reason, close_text=close_text,
        author_id=author_id, author_structure=structure)


def _ins(ids: list[etree._Element], parent: etree._Element, name: str,
         check_key: bool, version: str, ins_oid_refusal=None) -> tuple[str, str]:
    if not ids:
        child(parent, name, "the patient's INS-C" if version == "v1" else "the patient's INS")
    accepted = PATIENT_OIDS[version]
    chosen = next((i for i in ids if (i.get("root") or "").strip() in accepted), None)
    if chosen is None:
        roots = [(i.get("root") or "").strip() for i in ids]
        where = f"{path_of(ids[0])}/@root"
        refused = next((r for r in roots if r in c.INS_OIDS or r == c.INS_C), None)
        if refused is not None:
            raise Hl7RequestError(identifier_refusal(version, refused), where, c.NOT_ALLOWED)
        kind = "INS-C" if version == "v1" else "INS"
        raise Hl7RequestError(f"the patient id must have an {kind} OID ({', '.join(accepted)}), "
                              f"got {', '.join(repr(r) for r in roots)}", where, c.NOT_ALLOWED)
    oid = chosen.get("root").strip()
    if version == "v1":
        return _insc(chosen), oid
    ins = attribute(chosen, "extension", "the INS matricule")
    if len(ins) == 13:
        raise Hl7RequestError(f"the INS {ins!r} has 13 characters: send the 15-character "
                              "matricule, NIR followed by its 2-digit key",
                              f"{path_of(chosen)}/@extension")
    try:
        number, key = split_ins(ins)
    except ValueError:
        raise Hl7RequestError(f"the INS must be 15 characters, a 13-character NIR (digits, 2A/2B "
                              f"for Corsica) and a 2-digit key; got {ins!r}",
                              f"{path_of(chosen)}/@extension") from None
    if check_key and key != nir_key(number):
        raise Hl7RequestError(f"the INS {ins!r} has key {key}, but the key of {number} is "
                              f"{nir_key(number)}", f"{path_of(chosen)}/@extension")
    refusal = ins_oid_refusal(ins, oid) if ins_oid_refusal is not None else None
    if refusal is not None:
        raise Hl7RequestError(refusal, f"{path_of(chosen)}/@root", c.NOT_ALLOWED)
    return ins, oid


def _insc(chosen: etree._Element) -> str:
    insc = attribute(chosen, "extension", "the 22-digit INS-C")
    if not is_valid_insc(insc):
        raise Hl7RequestError(f"the INS-C must be 22 digits, the last two the key of the first "
                              f"twenty (97 - body mod 97); got {insc!r}",
                              f"{path_of(chosen)}/@extension")
    return insc


def _observations(patient: etree._Element) -> dict[str, bool]:
    found: dict[str, bool] = {}
    for subject in children(patient, "subjectOf"):
        observation = child(subject, "administrativeObservation")
        code = child(observation, "code")
        name = attribute(code, "code")
        if code.get("codeSystem") != c.OBSERVATION_SYSTEM:
            raise Hl7RequestError(f"administrativeObservation {name}: codeSystem must be "
                                  f"{c.OBSERVATION_SYSTEM}, got {code.get('codeSystem')!r}",
                                  f"{path_of(code)}/@codeSystem", c.NOT_ALLOWED)
        value = attribute(child(observation, "value", "a BL true or false"), "value").lower()
        if value not in ("true", "false"):
            raise Hl7RequestError(f"administrativeObservation {name}: value must be true or "
                                  f"false, got {value!r}", f"{path_of(observation)}/value/@value")
        found[name] = value == "true"
    return found


def _closure(control: etree._Element) -> tuple[str, str | None]:
    issue = child(child(control, "reasonOf", "the closure reason of FERM"), "detectedIssueEvent")
    code = child(issue, "code")
    reason = attribute(code, "code", f"e.g. {c.FERMETURE_DEMANDE_PATIENT}")
    if code.get("codeSystem") != c.CLOSE_REASON_SYSTEM:
        raise Hl7RequestError(f"the closure reason's codeSystem must be {c.CLOSE_REASON_SYSTEM}, "
                              f"got {code.get('codeSystem')!r}", f"{path_of(code)}/@codeSystem",
                              c.NOT_ALLOWED)
    return reason, text_of(optional(issue, "text")) or None


def _author(registration: etree._Element) -> tuple[str, str | None]:
    entity = child(child(registration, "author", "the professional"), "assignedEntity")
    ids = children(entity, "id")
    if not ids:
        child(entity, "id", f"the PS idNat, root {c.PS_ID_ROOT}")
    ps = next((i for i in ids if i.get("root") == c.PS_ID_ROOT), None)
    if ps is None:
        raise Hl7RequestError(f"the author's id must have root {c.PS_ID_ROOT} (PS idNat), got "
                              f"{ids[0].get('root')!r}", f"{path_of(ids[0])}/@root", c.NOT_ALLOWED)
    organisation = optional(entity, "representedOrganization")
    structure = next((i.get("extension") for i in children(organisation, "id")
                      if i.get("root") == c.STRUCTURE_ID_ROOT and i.get("extension")), None)
    return attribute(ps, "extension", "the PS idNat"), structure
