"""TD0.5 in HL7 v3: the IHE PDQ v3 query PRPA_IN201305UV02 and its answer
PRPA_IN201306UV02 (``patientsPDQ`` service).

Verified: the interactions and the service path (DMP brief §1.1, §2.1); the ANS kit's
request (transmission wrapper as for ``patients``, controlActProcess ``code``
PRPA_TE201305UV02 in 2.16.840.1.113883.1.6 and no reasonCode, queryByParameter with
queryId, statusCode ``new`` and ``parameterList/livingSubjectName/value/family`` with
semanticsText ``LivingSubject.name``); the kit reads ``acknowledgement/typeCode`` AA,
``queryAck/queryResponseCode`` OK and, on failure, ``acknowledgementDetail/code`` and
``text``.

Reconstructed from IHE ITI TF-2b §3.47 (PDQ V3; the DMP's own PDQ profile is not
public): the other parameters (``livingSubjectName/value/given``,
``livingSubjectBirthTime/value/@value`` YYYYMMDD,
``livingSubjectAdministrativeGender/value/@code``, ``patientAddress/value/city`` and
``postalCode``); the approximate flags as ``use="SRCH"`` on the name's or the
address's ``value`` (IHE's search-name use); the answer: one
``subject/registrationEvent/subject1/patient`` per candidate (INS, status, name BR/SP
and given, sex, birth date, address postcode and city) with the DMP as custodian,
queryAck (queryResponseCode OK, NF, QE for a bad parameter or too many candidates, AE
for a message that cannot be read; resultTotalQuantity, resultCurrentQuantity and
resultRemainingQuantity, their difference: no continuation is offered) and the
request's queryByParameter echoed as sent.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, replace
from datetime import datetime

from lxml import etree

from simulator.services.dmp.hl7 import codes as c
from simulator.services.dmp.hl7.transmission import (
    Echo, acknowledge, as_element, control_act, echo_of_body, el, finish, message_bytes,
    start_message)
from simulator.services.dmp.hl7.xmlread import (
    Hl7RequestError, attribute, child, local_name, optional, path_of, text_of)
from simulator.services.dmp.patient_search import SearchCriteria, check
from simulator.services.dmp.records import CLOSED, DmpRecord

QUERY = "PRPA_IN201305UV02"
ANSWER = "PRPA_IN201306UV02"
QUERY_EVENT, ANSWER_EVENT = "PRPA_TE201305UV02", "PRPA_TE201306UV02"
SEARCH_USE = "SRCH"  # reconstructed: IHE's name use for search (approximate) values
_BIRTH_DATE = re.compile(r"\d{8}")


@dataclass(frozen=True)
class PdqRequest:
    """A readable TD0.5 query: what the answer echoes and the criteria."""

    echo: Echo
    query_by_parameter: etree._Element
    criteria: SearchCriteria


def parse_pdq_request(body: etree._Element) -> PdqRequest:
    """The query's criteria, or :class:`Hl7RequestError` naming what is wrong (criteria
    errors are located under ``parameterList``)."""
    name, namespace = local_name(body), etree.QName(body).namespace
    if name != QUERY or namespace != c.HL7:
        raise Hl7RequestError(f"the patientsPDQ service takes {QUERY} in {c.HL7}; got "
                              f"{{{namespace or ''}}}{name}", f"/{name}", c.NOT_ALLOWED)
    declared = child(body, "interactionId")
    if attribute(declared, "root") != c.INTERACTION_ROOT:
        raise Hl7RequestError(f"interactionId/@root must be {c.INTERACTION_ROOT}, got "
                              f"{declared.get('root')!r}", f"/{QUERY}/interactionId/@root")
    if attribute(declared, "extension") != QUERY:
        raise Hl7RequestError(f"interactionId/@extension must be {QUERY}, got "
                              f"{declared.get('extension')!r}",
                              f"/{QUERY}/interactionId/@extension")
    message_id = child(body, "id", "the message id")
    device = child(child(body, "receiver"), "device")
    if attribute(child(device, "id"), "root", "the DMP's device OID") != c.DMP_DEVICE_OID:
        raise Hl7RequestError(f"the receiver must be the DMP device {c.DMP_DEVICE_OID}",
                              f"{path_of(device)}/id/@root", c.NOT_ALLOWED)
    sender = child(child(body, "sender"), "device")
    query = child(child(body, "controlActProcess"), "queryByParameter")
    query_id = optional(query, "queryId")
    echo = Echo(QUERY, attribute(message_id, "root", "the sender's message OID"),
                (message_id.get("extension") or "").strip() or None,
                attribute(child(sender, "id"), "root", "the LPS OID"),
                text_of(optional(sender, "softwareName")) or None, None,
                _attr(query_id, "root"), _attr(query_id, "extension"))
    return PdqRequest(echo, query, _criteria(child(query, "parameterList")))


def echo_of(body: etree._Element) -> Echo:
    """Best effort, for a query :func:`parse_pdq_request` refused: whatever of its ids
    can be read (TD0.5 has no reasonCode, so none is repeated)."""
    return replace(echo_of_body(body, QUERY), reason_code=None)


def _attr(element: etree._Element | None, name: str) -> str | None:
    return None if element is None else (element.get(name) or "").strip() or None


def _value(parameters: etree._Element, name: str) -> etree._Element | None:
    parameter = optional(parameters, name)
    return None if parameter is None else child(parameter, "value")


def _criteria(parameters: etree._Element) -> SearchCriteria:
    person = _value(parameters, "livingSubjectName")
    if person is None:
        child(parameters, "livingSubjectName", "the patient's name, at least 2 letters")
    family = child(person, "family", "part of the patient's name")
    birth = _value(parameters, "livingSubjectBirthTime")
    born = ""
    if birth is not None:
        born = attribute(birth, "value", "YYYYMMDD")
        if not _BIRTH_DATE.fullmatch(born):
            raise Hl7RequestError(f"the birth date must be YYYYMMDD, got {born!r}",
                                  f"{path_of(birth)}/@value")
        born = f"{born[:4]}-{born[4:6]}-{born[6:]}"
    gender = _value(parameters, "livingSubjectAdministrativeGender")
    address = _value(parameters, "patientAddress")
    criteria = SearchCriteria(
        name=text_of(family), given=text_of(optional(person, "given")), birth_date=born,
        sex=attribute(gender, "code", "M, F or U").upper() if gender is not None else "",
        city=text_of(optional(address, "city")),
        postcode=text_of(optional(address, "postalCode")),
        approximate_name=_searching(person), approximate_city=_searching(address))
    try:
        return check(criteria)
    except ValueError as error:
        where = path_of(family) if "name" in str(error) else path_of(gender)
        raise Hl7RequestError(str(error), where, c.INVALID) from None


def _searching(value: etree._Element | None) -> bool:
    return value is not None and SEARCH_USE in (value.get("use") or "").split()


def render_candidates(request: PdqRequest, records: list[DmpRecord], *, message_id: str,
                      now: datetime) -> etree._Element:
    """PRPA_IN201306UV02: AA, one subject per candidate, queryAck OK (or NF)."""
    root, control = _start(request.echo, message_id, now, "AA", None)
    for record in records:
        _candidate(control, record)
    _query_ack(control, request.echo, "OK" if records else "NF", len(records))
    control.append(copy.deepcopy(request.query_by_parameter))
    return finish(root)


def render_refusal(echo: Echo, code: str, text: str, location: str | None, *,
                   message_id: str, now: datetime, response_code: str,
                   total: int | None = None,
                   query_by_parameter: etree._Element | None = None) -> etree._Element:
    """PRPA_IN201306UV02 with AE and one acknowledgementDetail: a request error (HL7
    SYN1xx code) or a DMP refusal (e.g. DMPTooManyResults), queryResponseCode QE or AE."""
    system = c.DETAIL_CODE_SYSTEM if code.startswith("SYN") else None
    root, control = _start(echo, message_id, now, "AE", (code, system, text, location))
    _query_ack(control, echo, response_code, total)
    if query_by_parameter is not None:
        control.append(copy.deepcopy(query_by_parameter))
    return finish(root)


def _start(echo: Echo, message_id: str, now: datetime, type_code: str, detail
           ) -> tuple[etree._Element, etree._Element]:
    # The wrapper written as text and parsed; the candidates and the echoed request
    # element are added to the tree (xsi declared, as a request element may use it,
    # and dropped by finish when unused).
    root = as_element(message_bytes([
        start_message(ANSWER, echo, message_id=message_id, now=now, xsi=True),
        acknowledge(echo, type_code, detail), control_act(echo),
        f'<code code="{ANSWER_EVENT}" codeSystem="{c.INTERACTION_ROOT}"/>',
        f"</controlActProcess></{ANSWER}>"]))
    return root, root[-1]


def _candidate(control: etree._Element, record: DmpRecord) -> None:
    closed = record.status == CLOSED
    event = el(el(control, "subject", {"typeCode": "SUBJ", "contextConductionInd": "false"}),
               "registrationEvent", {"classCode": "REG", "moodCode": "EVN"})
    el(event, "statusCode", {"code": "completed" if closed else "active"})
    patient = el(el(event, "subject1", {"typeCode": "SBJ"}), "patient", {"classCode": "PAT"})
    el(patient, "id", {"root": record.ins_oid, "extension": record.ins})
    el(patient, "statusCode", {"code": "terminated" if closed else "active"})
    traits = record.traits
    person = el(patient, "patientPerson", {"classCode": "PSN", "determinerCode": "INSTANCE"})
    name = el(person, "name")
    el(name, "family", {"qualifier": "BR"}, traits.birth_name)
    if traits.used_name:
        el(name, "family", {"qualifier": "SP"}, traits.used_name)
    for given in traits.given_names.split():
        el(name, "given", text=given)
    el(person, "administrativeGenderCode", {"code": traits.sex})
    el(person, "birthTime", {"value": traits.birth_date.replace("-", "")})
    if len(traits.address) >= 2:
        addr = el(person, "addr")
        el(addr, "postalCode", text=traits.address[-2])
        el(addr, "city", text=traits.address[-1])
    entity = el(el(event, "custodian", {"typeCode": "CST"}), "assignedEntity",
                {"classCode": "ASSIGNED"})
    el(entity, "id", {"root": c.DMP_DEVICE_OID})


def _query_ack(control: etree._Element, echo: Echo, response_code: str,
               total: int | None) -> None:
    ack = el(control, "queryAck")
    if echo.query_id_root:
        el(ack, "queryId", {"root": echo.query_id_root,
                            **({"extension": echo.query_id_extension}
                               if echo.query_id_extension else {})})
    el(ack, "statusCode", {"code": "deliveredResponse" if response_code in ("OK", "NF")
                           else "aborted"})
    el(ack, "queryResponseCode", {"code": response_code})
    if total is not None:
        answered = total if response_code in ("OK", "NF") else 0
        el(ack, "resultTotalQuantity", {"value": str(total)})
        el(ack, "resultCurrentQuantity", {"value": str(answered)})
        el(ack, "resultRemainingQuantity", {"value": str(total - answered)})
