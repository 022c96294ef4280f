"""``patients``: the HL7 v3 patient registry (TD0.2, TD1.1, TD1.2, TD1.3a/b, TD1.4).

Refusals are HL7 answers (reject interactions with the DMP code in
acknowledgementDetail, DMP brief §2.2); a message that cannot be read is answered in
HL7 when its interaction is known, with a SOAP fault otherwise.

The same service answers API v1 (the context's version): the messages name the patient
by the INS-C, the DMP is the one of the INS it resolves to (:mod:`..call`), and v1
answers name the patient by the INS-C only.
"""
from __future__ import annotations

from dataclasses import replace

from spyne import Service

from simulator.services.dmp import lifecycle
from simulator.services.dmp.binding import dmp_rpc
from simulator.services.dmp.call import DmpCall, begin_call, check_same_patient
from simulator.services.dmp.faults import DmpFault
from simulator.services.dmp.hl7 import codes
from simulator.services.dmp.hl7.requests import (
    Hl7RequestError, PatientRequest, parse_patient_request, updated_traits)
from simulator.services.dmp.hl7.responses import (
    answered_interaction, can_answer_in_hl7, write_acceptance, write_query_response,
    write_rejection, write_request_error)
from simulator.services.dmp.operations import DmpAnswer, DmpOperation
from simulator.services.dmp.records import DmpRecord
from simulator.services.dmp.refusals import DmpRefusal
from simulator.soap.addressing import random_uuid
from simulator.soap.errors import ServiceFault


def _operation(interaction: str, answer: str) -> DmpOperation:
    return DmpOperation(interaction, f"{{{codes.HL7}}}{interaction}",
                        frozenset({f"urn:hl7-org:v3:{interaction}"}),
                        f"urn:hl7-org:v3:{answer}")


QUERY = _operation(codes.QUERY, codes.QUERY_RESPONSE)
ADD = _operation(codes.ADD, codes.ADD_ACCEPTED)
REVISE = _operation(codes.REVISE, codes.REVISE_ACCEPTED)
OPERATIONS = [QUERY, ADD, REVISE]
_BY_NAME = {op.name: op for op in OPERATIONS}


def _answer(body: bytes, outcome: str) -> DmpAnswer:
    # The reply action names the interaction actually answered (accept or reject). The
    # answer is serialised already (hl7/transmission.py), spliced into the envelope.
    return DmpAnswer(body, outcome=outcome,
                     reply_action=f"urn:hl7-org:v3:{answered_interaction(body)}")


def _message_id() -> str:
    return random_uuid()


def _read(call: DmpCall) -> PatientRequest | DmpAnswer:
    """The parsed request, or the HL7 answer to a request that cannot be read."""
    try:
        request = parse_patient_request(
            call.body, version=call.context.version,
            ins_oid_refusal=call.ins_oids.refusal if call.context.version != "v1" else None)
    except Hl7RequestError as error:
        if not can_answer_in_hl7(call.body):
            raise ServiceFault(DmpFault.INVALID_REQUEST, detail=str(error)) from None
        return _answer(write_request_error(call.body, error, message_id=_message_id(),
                                            now=call.now), f"AE {error.code}")
    check_same_patient(call, request.patient_ins, request.patient_oid,
                       "the HL7 message's patient id")
    return request


def _as_seen(call: DmpCall, record: DmpRecord | None) -> DmpRecord | None:
    """The record as the answer names it: in v1 by the INS-C only (v1 knows no INS)."""
    if record is None or call.context.version != "v1":
        return record
    return replace(record, ins=call.patient_id, ins_oid=call.patient.oid, insc=None)


def _query(call: DmpCall, request: PatientRequest) -> DmpAnswer:
    record, status, medecin_traitant = lifecycle.existence(
        call.dmp, call.patient_ins, call.vihf.name_id, call.now)
    body = write_query_response(
        request, message_id=_message_id(), now=call.now, record=_as_seen(call, record),
        authorisation=status,
        medecin_traitant=medecin_traitant,
        blocked_reason="access blocked by the patient" if status.name == "INTERDIT" else None)
    return _answer(body, f"{'OK' if record else 'NF'} {status.value}")


def _change(call: DmpCall, request: PatientRequest) -> DmpAnswer:
    # The DMP's key (the INS; in v1 the one the INS-C resolves to), checked to be the
    # message's patient by _read.
    dmp, ins, now = call.dmp, call.patient_ins, call.now
    insc = call.patient_id if call.context.version == "v1" else None
    try:
        if request.reason_code == codes.CREA_RD:
            lifecycle.create(dmp, call.context.store, ins=ins, ins_oid=call.patient.ins_oid,
                             traits=request.traits, observations=request.observations,
                             now=now, insc=insc)
        elif request.reason_code == codes.REAC:
            lifecycle.reactivate(dmp, ins, now)
        elif request.reason_code == codes.MODIF_DATA:
            stored = dmp.record(ins)
            traits = updated_traits(stored.traits, request.traits) \
                if stored is not None and request.traits is not None else request.traits
            lifecycle.update(dmp, ins, traits, request.observations, now)
        else:
            lifecycle.close(dmp, ins, request.close_reason, request.close_text, now)
    except DmpRefusal as refusal:
        return _answer(write_rejection(request, message_id=_message_id(), now=now,
                                        code=refusal.code, text=refusal.text),
                       f"AE {refusal.code}")
    return _answer(write_acceptance(request, message_id=_message_id(), now=now),
                   f"AA {request.reason_code}")


# The TD label of each reason code (brief §2.1), for the authentication-mode rules.
TRANSACTIONS = {codes.TEST_EXST: "TD0.2", codes.CNSLT_DATA: "TD1.3a", codes.CREA_RD: "TD1.1",
                codes.REAC: "TD1.2", codes.MODIF_DATA: "TD1.3b", codes.FERM: "TD1.4"}


def _handle(ctx) -> DmpAnswer:
    call = begin_call(ctx, _BY_NAME)
    request = _read(call)
    if isinstance(request, DmpAnswer):
        return request
    try:
        call.check_mode(TRANSACTIONS[request.reason_code])
    except DmpRefusal as refusal:
        return _answer(write_rejection(request, message_id=_message_id(), now=call.now,
                                        code=refusal.code, text=refusal.text),
                       f"AE {refusal.code}")
    if request.interaction == codes.QUERY:
        return _query(call, request)
    return _change(call, request)


class PatientsService(Service):
    """HL7 v3 patient registry messages."""

    @dmp_rpc(QUERY.body)
    def PRPA_IN201307UV02(ctx, _body):
        """TD0.2 (TEST_EXST) and TD1.3a (CNSLT_DATA)."""
        return _handle(ctx)

    @dmp_rpc(ADD.body)
    def PRPA_IN201311UV02(ctx, _body):
        """TD1.1 (CREA_RD)."""
        return _handle(ctx)

    @dmp_rpc(REVISE.body)
    def PRPA_IN201314UV02(ctx, _body):
        """TD1.2 (REAC), TD1.3b (MODIF_DATA), TD1.4 (FERM)."""
        return _handle(ctx)
