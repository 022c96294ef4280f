"""``patientsSpecific``: TD0.4 patientList (the DMPs a professional or structure may
access, since a date) and, until their removal in 2024, TD1.5a-d, the patient's web
access (:mod:`.patient_web_access`)."""
from __future__ import annotations

from datetime import datetime, timezone

from spyne import Service

from simulator.services.dmp import authorisations, refusals
from simulator.services.dmp.binding import dmp_rpc
from simulator.services.dmp.call import begin_call
from simulator.services.dmp.operations import DmpAnswer, DmpOperation
from simulator.services.dmp.refusals import DmpRefusal
from simulator.services.dmp.specific_xml import (
    PATIENTS, add_text, child_text, refusal_answer, web_service_response)
from simulator.services.dmp.v2 import patient_web_access as td15

_ENDPOINT = f"{PATIENTS}:PatientSpecificEndPoint"
PATIENT_LIST = DmpOperation(
    "patientList", f"{{{PATIENTS}}}patientList", frozenset({f"{_ENDPOINT}:patientList"}),
    f"{_ENDPOINT}:patientListResponse", patient_in_vihf=False)
OPERATIONS = [PATIENT_LIST, *td15.OPERATIONS]
_BY_NAME = {op.name: op for op in OPERATIONS}


def _since(text: str | None) -> datetime:
    """``date`` as xs:date or xs:dateTime (UTC when no zone is given)."""
    try:
        moment = datetime.fromisoformat((text or "").replace("Z", "+00:00"))
    except ValueError:
        raise DmpRefusal(refusals.INVALID_PARAMETER,
                         f"date must be an xs:date or xs:dateTime, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class PatientsSpecificService(Service):
    """DMP-specific patient operations."""

    @dmp_rpc(PATIENT_LIST.body)
    def patientList(ctx, _body):
        """TD0.4: DMPs with an authorisation or a document since ``date``."""
        call = begin_call(ctx, _BY_NAME)
        tag = f"{{{PATIENTS}}}patientListResponse"
        try:
            found = authorisations.accessible_patients(
                call.dmp, call.vihf, _since(child_text(call.body, "date")),
                child_text(call.body, "dateType") or "", call.now,
                gate=lambda: call.check_mode("TD0.4"))
        except DmpRefusal as refusal:
            return refusal_answer(tag, refusal)
        response = web_service_response(tag, refusals.OK, f"{len(found)} DMP(s)")
        for record, moment in found:
            item = add_text(response, "patientlistData", None)
            for name, value in (
                    ("ins", record.ins), ("insOid", record.ins_oid),
                    ("lastName", record.traits.birth_name),
                    ("usedName", record.traits.used_name),
                    ("firstName", record.traits.given_names),
                    ("birthDate", record.traits.birth_date), ("sex", record.traits.sex),
                    ("date", moment.strftime("%Y-%m-%dT%H:%M:%SZ"))):
                if value:
                    add_text(item, name, value)
        return DmpAnswer(response, outcome=refusals.OK)

    @dmp_rpc(td15.CREATE_PATIENT_ACCESS.body)
    def createPatientAccess(ctx, _body):
        """TD1.5a: create the patient's web access (removed 2024-06-11)."""
        return td15.create_patient_access(begin_call(ctx, _BY_NAME))

    @dmp_rpc(td15.PATIENT_OTP_UPDATE.body)
    def patientOTPUpdate(ctx, _body):
        """TD1.5b: add, change or remove an OTP channel (removed 2024-06-11)."""
        return td15.patient_otp_update(begin_call(ctx, _BY_NAME))

    @dmp_rpc(td15.UPDATE_PATIENT_ACCESS.body)
    def updatePatientAccess(ctx, _body):
        """TD1.5c/d: unblock the access, new codes (removed 2024-06-11)."""
        return td15.update_patient_access(begin_call(ctx, _BY_NAME))
