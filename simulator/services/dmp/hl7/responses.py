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
    Echo, acknowledge, as_element, control_act, echo_of_body, hl7_time, message_bytes,
    start_message)
from simulator.services.dmp.hl7.xmlread import Hl7RequestError, local_name
from simulator.services.dmp.records import CLOSED, DmpRecord, PatientTraits
from simulator.soap.xml_text import escape_attribute as attr
from simulator.soap.xml_text import escape_text

NOT_PROVIDED = "NON RENSEIGNE"


def write_query_response(request: PatientRequest, *, message_id: str, now: datetime,
                         record: DmpRecord | None, authorisation: Authorisation,
                         medecin_traitant: bool,
                         blocked_reason: str | None = None) -> bytes:
    """PRPA_IN201308UV02 for TD0.2 (TEST_EXST) or TD1.3a (CNSLT_DATA), serialised.

    ``record`` None answers NF (no DMP) and says nothing else. ``blocked_reason`` is
    rendered only with :attr:`Authorisation.INTERDIT`. CNSLT_DATA adds telecoms,
    address and the patient's oppositions.
    """
    if request.interaction != c.QUERY:
        raise ValueError(f"{request.interaction} is not answered by {c.QUERY_RESPONSE}")
    echo = _echo(request)
    # xsi:type is used by the attention lines and observations, written with a record.
    parts = [start_message(c.QUERY_RESPONSE, echo, message_id=message_id, now=now,
                           xsi=record is not None)]
    if record is not None:
        reason = blocked_reason if authorisation is Authorisation.INTERDIT else None
        parts += [_attention(c.ATTENTION_AUTHORISATION, "CV",
                             f'code="{attr(authorisation.value)}"', reason),
                  _attention(c.ATTENTION_MEDECIN_TRAITANT, "BL",
                             f'value="{_bool(medecin_traitant)}"')]
    parts += [acknowledge(echo, "AA"), control_act(echo)]
    if record is not None:
        _registration_event(parts, record, full=request.reason_code == c.CNSLT_DATA)
        if record.status == CLOSED and record.close_reason:
            parts.append(f'<reasonOf typeCode="RSON"><detectedIssueEvent classCode="ALRT" '
                         f'moodCode="EVN"><code code="{attr(record.close_reason)}" '
                         f'codeSystem="{c.CLOSE_REASON_SYSTEM}"/>')
            if record.close_text:
                parts.append(f"<text>{escape_text(record.close_text)}</text>")
            parts.append("</detectedIssueEvent></reasonOf>")
    parts += [_query_ack(echo, "OK" if record is not None else "NF"),
              _query_by_parameter(request), f"</controlActProcess></{c.QUERY_RESPONSE}>"]
    return message_bytes(parts)


def render_query_response(request: PatientRequest, **answer) -> etree._Element:
    """:func:`write_query_response`'s answer as an element."""
    return as_element(write_query_response(request, **answer))


def write_acceptance(request: PatientRequest, *, message_id: str, now: datetime) -> bytes:
    """PRPA_IN201312UV02 (for a 201311) or PRPA_IN201315UV02 (for a 201314): AA, and the
    patient's id with the status the DMP has after the operation."""
    answer = _answer(request.interaction, accepted=True)
    echo = _echo(request)
    closing = request.reason_code == c.FERM
    return message_bytes([
        start_message(answer, echo, message_id=message_id, now=now), acknowledge(echo, "AA"),
        control_act(echo), _SUBJECT,
        f'<statusCode code="{"completed" if closing else "active"}"/>',
        '<subject1 typeCode="SBJ"><patient classCode="PAT">',
        f'<id root="{attr(request.patient_oid)}" extension="{attr(request.patient_ins)}"/>',
        f'<statusCode code="{"terminated" if closing else "active"}"/>',
        "</patient></subject1>", _CUSTODIAN, "</registrationEvent></subject>",
        f"</controlActProcess></{answer}>"])


def render_acceptance(request: PatientRequest, **answer) -> etree._Element:
    """:func:`write_acceptance`'s answer as an element."""
    return as_element(write_acceptance(request, **answer))


def write_rejection(request: PatientRequest, *, message_id: str, now: datetime,
                    code: str, text: str) -> bytes:
    """PRPA_IN201313UV02 / PRPA_IN201316UV02: AE with one acknowledgementDetail
    (typeCode E, ``code`` e.g. DMPFound or DMPClosed, ``text``). A refused query
    (e.g. DMPAccessDenied) is a PRPA_IN201308UV02 with AE and queryResponseCode AE, as
    for a request error."""
    query = request.interaction == c.QUERY
    answer = c.QUERY_RESPONSE if query else _answer(request.interaction, accepted=False)
    echo = _echo(request)
    parts = [start_message(answer, echo, message_id=message_id, now=now),
             acknowledge(echo, "AE", (code, None, text, None)), control_act(echo)]
    if query:
        parts += [_query_ack(echo, "AE"), _query_by_parameter(request)]
    parts.append(f"</controlActProcess></{answer}>")
    return message_bytes(parts)


def render_rejection(request: PatientRequest, **answer) -> etree._Element:
    """:func:`write_rejection`'s answer as an element."""
    return as_element(write_rejection(request, **answer))


def can_answer_in_hl7(body: etree._Element) -> bool:
    """Whether :func:`render_request_error` can answer this body (its root element is one
    of the three request interactions); otherwise answer with a SOAP fault."""
    return isinstance(body.tag, str) and local_name(body) in c.ANSWERS


def write_request_error(body: etree._Element, error: Hl7RequestError, *, message_id: str,
                        now: datetime) -> bytes:
    """The answer to a request :func:`parse_patient_request` refused: a PRPA_IN201308UV02
    with AE and queryResponseCode AE for a query, else the reject interaction; it echoes
    what could be read of the request and gives the error's code, message and location."""
    if not can_answer_in_hl7(body):
        raise ValueError(f"no HL7 answer for a {body.tag} request")
    echo = echo_of_body(body)
    answer = c.ANSWERS[echo.interaction][1]
    parts = [start_message(answer, echo, message_id=message_id, now=now),
             acknowledge(echo, "AE",
                         (error.code, c.DETAIL_CODE_SYSTEM, error.message, error.location)),
             control_act(echo)]
    if echo.interaction == c.QUERY:
        parts.append(_query_ack(echo, "AE"))
    parts.append(f"</controlActProcess></{answer}>")
    return message_bytes(parts)


def render_request_error(body: etree._Element, error: Hl7RequestError,
                         **answer) -> etree._Element:
    """:func:`write_request_error`'s answer as an element."""
    return as_element(write_request_error(body, error, **answer))


def answered_interaction(message: bytes) -> str:
    """The interaction of an answer written here (its root element's name)."""
    return message[1:message.index(b" ")].decode()


def _answer(interaction: str, *, accepted: bool) -> str:
    if interaction == c.QUERY:
        raise ValueError(f"{interaction} is answered by render_query_response")
    return c.ANSWERS[interaction][0 if accepted else 1]


def _echo(request: PatientRequest) -> Echo:
    return Echo(request.interaction, request.message_id_root, request.message_id_extension,
                request.sender_id, request.sender_name, request.reason_code,
                request.query_id_root, request.query_id_extension)


def _attention(keyword: str, value_type: str, value_attrs: str,
               original_text: str | None = None) -> str:
    line = (f'<attentionLine><keyWordText code="{keyword}" codeSystem="{c.ATTENTION_SYSTEM}"/>'
            f'<value xsi:type="{value_type}" {value_attrs}')
    if original_text:
        return (f"{line}><originalText>{escape_text(original_text)}</originalText></value>"
                "</attentionLine>")
    return f"{line}/></attentionLine>"


_SUBJECT = ('<subject typeCode="SUBJ" contextConductionInd="false">'
            '<registrationEvent classCode="REG" moodCode="EVN">')
_CUSTODIAN = (f'<custodian typeCode="CST"><assignedEntity classCode="ASSIGNED">'
              f'<id root="{c.DMP_DEVICE_OID}"/></assignedEntity></custodian>')


def _registration_event(parts: list[str], record: DmpRecord, *, full: bool) -> None:
    closed = record.status == CLOSED
    parts += [_SUBJECT, f'<statusCode code="{"completed" if closed else "active"}"/>']
    if closed and record.closed_at is not None:
        parts.append(f'<effectiveTime value="{hl7_time(record.closed_at)}"/>')
    parts += ['<subject1 typeCode="SBJ"><patient classCode="PAT">',
              f'<id root="{attr(record.ins_oid)}" extension="{attr(record.ins)}"/>']
    if record.insc:
        parts.append(f'<id root="{c.INS_C}" extension="{attr(record.insc)}"/>')
    parts.append(f'<statusCode code="{"terminated" if closed else "active"}"/>')
    _person(parts, record.traits, full)
    observations = [(c.COMPTE_INTERNET_OUVERT, record.web_access is not None),
                    (c.RATTACHEMENT_MES, record.linked_to_mes)]
    if full:
        observations = [(c.OPPOSITION_BRIS_DE_GLACE, record.opposes_bris_de_glace),
                        (c.OPPOSITION_ACCES_URGENCE, record.opposes_centre_15)] + observations
    for code, value in observations:
        parts.append(_OBSERVATIONS[code, value])
    parts += ["</patient></subject1>", _CUSTODIAN, "</registrationEvent></subject>"]


def _observation(code: str, value: bool) -> str:
    return ('<subjectOf typeCode="SBJ"><administrativeObservation classCode="OBS" '
            f'moodCode="EVN"><code code="{code}" codeSystem="{c.OBSERVATION_SYSTEM}" '
            f'displayName="{attr(c.OBSERVATION_NAMES[code])}"/>'
            f'<value xsi:type="BL" value="{_bool(value)}"/></administrativeObservation>'
            "</subjectOf>")


def _bool(value: bool) -> str:
    return "true" if value else "false"


# Each observation's element, written once (the codes and names are constants).
_OBSERVATIONS = {(code, value): _observation(code, value)
                 for code in c.OBSERVATION_NAMES for value in (True, False)}


def _person(parts: list[str], traits: PatientTraits, full: bool) -> None:
    parts += ['<patientPerson classCode="PSN" determinerCode="INSTANCE"><name>',
              f'<family qualifier="BR">{escape_text(traits.birth_name)}</family>',
              f'<family qualifier="SP">{escape_text(traits.used_name or NOT_PROVIDED)}'
              "</family>"]
    parts += [f"<given>{escape_text(given)}</given>" for given in traits.given_names.split()]
    parts.append("</name>")
    if full:
        parts += [f'<telecom value="{attr(telecom)}"/>' for telecom in traits.telecoms]
    parts += [f'<administrativeGenderCode code="{attr(traits.sex)}"/>',
              f'<birthTime value="{attr(traits.birth_date.replace("-", ""))}"/>']
    if full and traits.address:
        *lines, postcode, city = traits.address if len(traits.address) >= 2 \
            else ("", *traits.address)
        parts.append("<addr>")
        parts += [f"<streetAddressLine>{escape_text(line)}</streetAddressLine>"
                  for line in lines]
        parts += [f"<postalCode>{escape_text(postcode)}</postalCode>",
                  f"<city>{escape_text(city)}</city></addr>"]
    parts.append("</patientPerson>")


def _query_ack(echo: Echo, response_code: str) -> str:
    text = (f"<queryAck>{_query_id(echo.query_id_root, echo.query_id_extension)}"
            f'<statusCode code="{"aborted" if response_code == "AE" else "deliveredResponse"}"/>'
            f'<queryResponseCode code="{response_code}"/>')
    if response_code != "AE":
        found = "1" if response_code == "OK" else "0"
        text += (f'<resultTotalQuantity value="{found}"/>'
                 f'<resultCurrentQuantity value="{found}"/>'
                 '<resultRemainingQuantity value="0"/>')
    return text + "</queryAck>"


def _query_by_parameter(request: PatientRequest) -> str:
    return (f"<queryByParameter>{_query_id(request.query_id_root, request.query_id_extension)}"
            '<statusCode code="new"/><parameterList><patientIdentifier>'
            f'<value root="{attr(request.patient_oid)}" extension="{attr(request.patient_ins)}"/>'
            "<semanticsText>Patient.id</semanticsText></patientIdentifier></parameterList>"
            "</queryByParameter>")


def _query_id(root: str | None, extension: str | None) -> str:
    if not root:
        return ""
    extension_attr = f' extension="{attr(extension)}"' if extension else ""
    return f'<queryId root="{attr(root)}"{extension_attr}/>'
