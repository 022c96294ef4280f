"""Rendering the DMP's HL7 v3 answers: the ``urn:hl7-org:v3`` element that goes inside
``soap:Body`` (the envelope and WS-Addressing headers are the endpoint's business).

Verified (DMP brief §2.2, §6): PRPA_IN201308UV02 answers PRPA_IN201307UV02 with
acknowledgement AA and queryAck/queryResponseCode OK or NF; when found,
subject/registrationEvent/statusCode, subject1/patient ids (INS, plus the INS-C with
OID 1.2.250.1.213.1.4.2 when known), patient statusCode active/terminated; rejects
(PRPA_IN201313UV02, PRPA_IN201316UV02) carry the DMP code in
acknowledgementDetail/code/@code and a text; the used name "NON RENSEIGNE" when the
patient has none (REC_0.2-1020).

Observed in a homologated client's reader (Mediboard), so followed: the authorisation
status and the médecin traitant flag in ``attentionLine`` (keys AUTORISATION, STATUT_MT),
the closure date in registrationEvent/effectiveTime, the closure reason in
controlActProcess/reasonOf/detectedIssueEvent, the administrative observations in
patient/subjectOf/administrativeObservation, names as family BR / SP and given.

Reconstructed (the DMP's schemas are not public; codes live in :mod:`.codes`): the
INTERDIT reason as the value's ``originalText``; the Mon espace santé link and the
patient's web access (TD1.5a) as administrative observations; queryAck statusCode and quantities, custodian, the echoed
queryByParameter (HL7 v3 / IHE PDQ v3 habits); AE + queryResponseCode AE and the HL7
SYN1xx detail codes for requests that cannot be parsed; what acceptances repeat.
"""
from __future__ import annotations

from datetime import datetime

from lxml import etree

from simulator.services.dmp.access import Authorisation
from simulator.services.dmp.hl7 import codes as c
from simulator.services.dmp.hl7.requests import PatientRequest
from simulator.services.dmp.hl7.transmission import (
    Echo, acknowledge, control_act, echo_of_body, el, finish, hl7_time, start_message)
from simulator.services.dmp.hl7.xmlread import Hl7RequestError, local_name
from simulator.services.dmp.records import CLOSED, DmpRecord, PatientTraits

NOT_PROVIDED = "NON RENSEIGNE"


def render_query_response(request: PatientRequest, *, message_id: str, now: datetime,
                          record: DmpRecord | None, authorisation: Authorisation,
                          medecin_traitant: bool,
                          blocked_reason: str | None = None) -> etree._Element:
    """PRPA_IN201308UV02 for TD0.2 (TEST_EXST) or TD1.3a (CNSLT_DATA).

    ``record`` None answers NF (no DMP) and says nothing else. ``blocked_reason`` is
    rendered only with :attr:`Authorisation.INTERDIT`. CNSLT_DATA adds telecoms,
    address and the patient's oppositions.
    """
    if request.interaction != c.QUERY:
        raise ValueError(f"{request.interaction} is not answered by {c.QUERY_RESPONSE}")
    echo = _echo(request)
    root = start_message(c.QUERY_RESPONSE, echo, message_id=message_id, now=now)
    if record is not None:
        _attention(root, c.ATTENTION_AUTHORISATION, "CV", {"code": authorisation.value},
                   blocked_reason if authorisation is Authorisation.INTERDIT else None)
        _attention(root, c.ATTENTION_MEDECIN_TRAITANT, "BL",
                   {"value": _bool(medecin_traitant)})
    acknowledge(root, echo, "AA")
    control = control_act(root, echo)
    if record is not None:
        _registration_event(control, record, full=request.reason_code == c.CNSLT_DATA)
        if record.status == CLOSED and record.close_reason:
            issue = el(el(control, "reasonOf", {"typeCode": "RSON"}), "detectedIssueEvent",
                       {"classCode": "ALRT", "moodCode": "EVN"})
            el(issue, "code", {"code": record.close_reason, "codeSystem": c.CLOSE_REASON_SYSTEM})
            if record.close_text:
                el(issue, "text", text=record.close_text)
    _query_ack(control, echo, "OK" if record is not None else "NF")
    _query_by_parameter(control, request)
    return finish(root)


def render_acceptance(request: PatientRequest, *, message_id: str,
                      now: datetime) -> etree._Element:
    """PRPA_IN201312UV02 (for a 201311) or PRPA_IN201315UV02 (for a 201314): AA, and the
    patient's id with the status the DMP has after the operation."""
    answer = _answer(request.interaction, accepted=True)
    echo = _echo(request)
    root = start_message(answer, echo, message_id=message_id, now=now)
    acknowledge(root, echo, "AA")
    closing = request.reason_code == c.FERM
    event = el(el(control_act(root, echo), "subject",
                  {"typeCode": "SUBJ", "contextConductionInd": "false"}),
               "registrationEvent", {"classCode": "REG", "moodCode": "EVN"})
    el(event, "statusCode", {"code": "completed" if closing else "active"})
    patient = el(el(event, "subject1", {"typeCode": "SBJ"}), "patient", {"classCode": "PAT"})
    el(patient, "id", {"root": request.patient_oid, "extension": request.patient_ins})
    el(patient, "statusCode", {"code": "terminated" if closing else "active"})
    _custodian(event)
    return finish(root)


def render_rejection(request: PatientRequest, *, message_id: str, now: datetime,
                     code: str, text: str) -> etree._Element:
    """PRPA_IN201313UV02 / PRPA_IN201316UV02: AE with one acknowledgementDetail
    (typeCode E, ``code`` e.g. DMPFound or DMPClosed, ``text``). A refused query
    (e.g. DMPAccessDenied) is a PRPA_IN201308UV02 with AE and queryResponseCode AE, as
    for a request error."""
    query = request.interaction == c.QUERY
    answer = c.QUERY_RESPONSE if query else _answer(request.interaction, accepted=False)
    echo = _echo(request)
    root = start_message(answer, echo, message_id=message_id, now=now)
    acknowledge(root, echo, "AE", (code, None, text, None))
    control = control_act(root, echo)
    if query:
        _query_ack(control, echo, "AE")
        _query_by_parameter(control, request)
    return finish(root)


def can_answer_in_hl7(body: etree._Element) -> bool:
    """Whether :func:`render_request_error` can answer this body (its root element is one
    of the three request interactions); otherwise answer with a SOAP fault."""
    return isinstance(body.tag, str) and local_name(body) in c.ANSWERS


def render_request_error(body: etree._Element, error: Hl7RequestError, *, message_id: str,
                         now: datetime) -> etree._Element:
    """The answer to a request :func:`parse_patient_request` refused: a PRPA_IN201308UV02
    with AE and queryResponseCode AE for a query, else the reject interaction; it echoes
    what could be read of the request and gives the error's code, message and location."""
    if not can_answer_in_hl7(body):
        raise ValueError(f"no HL7 answer for a {body.tag} request")
    echo = echo_of_body(body)
    answer = c.ANSWERS[echo.interaction][1]
    root = start_message(answer, echo, message_id=message_id, now=now)
    acknowledge(root, echo, "AE",
                (error.code, c.DETAIL_CODE_SYSTEM, error.message, error.location))
    control = control_act(root, echo)
    if echo.interaction == c.QUERY:
        _query_ack(control, echo, "AE")
    return finish(root)


def _answer(interaction: str, *, accepted: bool) -> str:
    if interaction == c.QUERY:
        raise ValueError(f"{interaction} is answered by render_query_response")
    return c.ANSWERS[interaction][0 if accepted else 1]


def _echo(request: PatientRequest) -> Echo:
    return Echo(request.interaction, request.message_id_root, request.message_id_extension,
                request.sender_id, request.sender_name, request.reason_code,
                request.query_id_root, request.query_id_extension)


def _attention(root: etree._Element, keyword: str, value_type: str, attrs: dict,
               original_text: str | None = None) -> None:
    line = el(root, "attentionLine")
    el(line, "keyWordText", {"code": keyword, "codeSystem": c.ATTENTION_SYSTEM})
    value = el(line, "value", {"xsi:type": value_type, **attrs})
    if original_text:
        el(value, "originalText", text=original_text)


def _registration_event(control: etree._Element, record: DmpRecord, *, full: bool) -> None:
    closed = record.status == CLOSED
    event = el(el(control, "subject", {"typeCode": "SUBJ", "contextConductionInd": "false"}),
               "registrationEvent", {"classCode": "REG", "moodCode": "EVN"})
    el(event, "statusCode", {"code": "completed" if closed else "active"})
    if closed and record.closed_at is not None:
        el(event, "effectiveTime", {"value": hl7_time(record.closed_at)})
    patient = el(el(event, "subject1", {"typeCode": "SBJ"}), "patient", {"classCode": "PAT"})
    el(patient, "id", {"root": record.ins_oid, "extension": record.ins})
    if record.insc:
        el(patient, "id", {"root": c.INS_C, "extension": record.insc})
    el(patient, "statusCode", {"code": "terminated" if closed else "active"})
    _person(patient, record.traits, full)
    observations = [(c.COMPTE_INTERNET_OUVERT, record.web_access is not None),
                    (c.RATTACHEMENT_MES, record.linked_to_mes)]
    if full:
        observations = [(c.OPPOSITION_BRIS_DE_GLACE, record.opposes_bris_de_glace),
                        (c.OPPOSITION_ACCES_URGENCE, record.opposes_centre_15)] + observations
    for code, value in observations:
        observation = el(el(patient, "subjectOf", {"typeCode": "SBJ"}),
                         "administrativeObservation", {"classCode": "OBS", "moodCode": "EVN"})
        el(observation, "code", {"code": code, "codeSystem": c.OBSERVATION_SYSTEM,
                                 "displayName": c.OBSERVATION_NAMES[code]})
        el(observation, "value", {"xsi:type": "BL", "value": _bool(value)})
    _custodian(event)


def _person(patient: etree._Element, traits: PatientTraits, full: bool) -> None:
    person = el(patient, "patientPerson", {"classCode": "PSN", "determinerCode": "INSTANCE"})
    name = el(person, "name")
    el(name, "family", {"qualifier": "BR"}, traits.birth_name)
    el(name, "family", {"qualifier": "SP"}, traits.used_name or NOT_PROVIDED)
    for given in traits.given_names.split():
        el(name, "given", text=given)
    if full:
        for telecom in traits.telecoms:
            el(person, "telecom", {"value": telecom})
    el(person, "administrativeGenderCode", {"code": traits.sex})
    el(person, "birthTime", {"value": traits.birth_date.replace("-", "")})
    if full and traits.address:
        addr = el(person, "addr")
        *lines, postcode, city = traits.address if len(traits.address) >= 2 \
            else ("", *traits.address)
        for line in lines:
            el(addr, "streetAddressLine", text=line)
        el(addr, "postalCode", text=postcode)
        el(addr, "city", text=city)


def _custodian(event: etree._Element) -> None:
    entity = el(el(event, "custodian", {"typeCode": "CST"}), "assignedEntity",
                {"classCode": "ASSIGNED"})
    el(entity, "id", {"root": c.DMP_DEVICE_OID})


def _query_ack(control: etree._Element, echo: Echo, response_code: str) -> None:
    ack = el(control, "queryAck")
    _query_id(ack, echo.query_id_root, echo.query_id_extension)
    el(ack, "statusCode", {"code": "aborted" if response_code == "AE" else "deliveredResponse"})
    el(ack, "queryResponseCode", {"code": response_code})
    if response_code != "AE":
        found = "1" if response_code == "OK" else "0"
        el(ack, "resultTotalQuantity", {"value": found})
        el(ack, "resultCurrentQuantity", {"value": found})
        el(ack, "resultRemainingQuantity", {"value": "0"})


def _query_by_parameter(control: etree._Element, request: PatientRequest) -> None:
    query = el(control, "queryByParameter")
    _query_id(query, request.query_id_root, request.query_id_extension)
    el(query, "statusCode", {"code": "new"})
    identifier = el(el(query, "parameterList"), "patientIdentifier")
    el(identifier, "value", {"root": request.patient_oid, "extension": request.patient_ins})
    el(identifier, "semanticsText", text="Patient.id")


def _query_id(parent: etree._Element, root: str | None, extension: str | None) -> None:
    if root:
        el(parent, "queryId", {"root": root, **({"extension": extension} if extension else {})})


def _bool(value: bool) -> str:
    return "true" if value else "false"
