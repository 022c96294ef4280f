"""``patientsSpecific`` TD1.5a-d: the patient's web access (rules in
:mod:`simulator.services.dmp.patient_access`).

The operations carry ``api=TD15``: :func:`~simulator.services.dmp.call.begin_call`
counts them for the readiness report and refuses them from ``td15-removed`` (the DMP
WSDL package 2.01.04 of 2024-06-11 no longer has them, issue 12) with the fault TD0.0
gets once removed. Message shapes are reconstructed (brief §2.3), published in
``wsdl/dmp/xsd/si-dmp-patients.xsd``: the kit's ``PatientAccessResponse`` as
``{status, context, login}``, TD1.5b's answer as the ``WebServiceResponse``.
"""
from __future__ import annotations

from simulator.services.dmp import patient_access, refusals
from simulator.services.dmp.call import DmpCall
from simulator.services.dmp.operations import DmpAnswer, DmpOperation
from simulator.services.dmp.refusals import DmpRefusal
from simulator.services.dmp.specific_xml import (
    PATIENTS, add_text, child_text, refusal_answer, web_service_response)
from simulator.services.dmp.timeline import TD15

_ENDPOINT = f"{PATIENTS}:PatientSpecificEndPoint"


def _operation(name: str) -> DmpOperation:
    return DmpOperation(name, f"{{{PATIENTS}}}{name}", frozenset({f"{_ENDPOINT}:{name}"}),
                        f"{_ENDPOINT}:{name}Response", api=TD15)


CREATE_PATIENT_ACCESS = _operation("createPatientAccess")  # TD1.5a
PATIENT_OTP_UPDATE = _operation("patientOTPUpdate")  # TD1.5b
UPDATE_PATIENT_ACCESS = _operation("updatePatientAccess")  # TD1.5c/d
OPERATIONS = [CREATE_PATIENT_ACCESS, PATIENT_OTP_UPDATE, UPDATE_PATIENT_ACCESS]


def _needs_authorisation(call: DmpCall) -> bool:
    return call.context.settings.dmp_patient_access_needs_authorisation


def _access_answer(tag: str, access, context: str) -> DmpAnswer:
    response = web_service_response(tag, refusals.OK, context)
    add_text(response, "login", access.login)
    return DmpAnswer(response, outcome=refusals.OK)


def create_patient_access(call: DmpCall) -> DmpAnswer:
    """TD1.5a: the access with its first channel; the answer gives the login."""
    tag = f"{{{PATIENTS}}}createPatientAccessResponse"
    try:
        access = patient_access.create(
            call.dmp, call.patient_ins, call.vihf, child_text(call.body, "otpChannelType"),
            child_text(call.body, "channel"), call.now,
            needs_authorisation=_needs_authorisation(call),
            gate=lambda: call.check_mode("TD1.5a"))
    except DmpRefusal as refusal:
        return refusal_answer(tag, refusal)
    kind = access.channels[0][0]
    return _access_answer(tag, access, f"web access created: the patient receives the "
                          f"codes by {kind}")


def patient_otp_update(call: DmpCall) -> DmpAnswer:
    """TD1.5b: AJOUT, MODIFICATION or SUPPRESSION of an OTP channel."""
    tag = f"{{{PATIENTS}}}patientOTPUpdateResponse"
    action = child_text(call.body, "action")
    try:
        access = patient_access.update_channel(
            call.dmp, call.patient_ins, call.vihf, child_text(call.body, "channelType"),
            child_text(call.body, "channel"), action, call.now,
            needs_authorisation=_needs_authorisation(call),
            gate=lambda: call.check_mode("TD1.5b"))
    except DmpRefusal as refusal:
        return refusal_answer(tag, refusal)
    kinds = ", ".join(kind for kind, _ in access.channels)
    return DmpAnswer(web_service_response(tag, refusals.OK, f"{action} done: OTP channels "
                                          f"{kinds}"), outcome=refusals.OK)


def update_patient_access(call: DmpCall) -> DmpAnswer:
    """TD1.5c/d: new codes for an existing access."""
    tag = f"{{{PATIENTS}}}updatePatientAccessResponse"
    try:
        access = patient_access.issue_new_codes(
            call.dmp, call.patient_ins, call.vihf, call.now,
            needs_authorisation=_needs_authorisation(call),
            gate=lambda: call.check_mode("TD1.5c/d"))
    except DmpRefusal as refusal:
        return refusal_answer(tag, refusal)
    return _access_answer(tag, access, "web access unblocked: the patient receives new codes")
