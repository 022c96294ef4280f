"""``habilitations``: TD0.3 setAuthorization and TD1.6 listAuthorizationByPatient."""
from __future__ import annotations

from spyne import Service

from simulator.services.dmp import authorisations, refusals
from simulator.services.dmp.binding import dmp_rpc
from simulator.services.dmp.call import begin_call
from simulator.services.dmp.operations import DmpAnswer, DmpOperation
from simulator.services.dmp.refusals import DmpRefusal
from simulator.services.dmp.specific_xml import (
    HABILITATIONS, add_text, child_text, refusal_answer, web_service_response)

_ENDPOINT = f"{HABILITATIONS}:HabilitationsEndPoint"
SET_AUTHORIZATION = DmpOperation(
    "setAuthorization", f"{{{HABILITATIONS}}}setAuthorization",
    frozenset({f"{_ENDPOINT}:setAuthorization"}), f"{_ENDPOINT}:setAuthorizationResponse")
LIST_AUTHORIZATIONS = DmpOperation(
    "listAuthorizationByPatient", f"{{{HABILITATIONS}}}listAuthorizationByPatient",
    frozenset({f"{_ENDPOINT}:listAuthorizationByPatient"}),
    f"{_ENDPOINT}:listAuthorizationByPatientResponse")
OPERATIONS = [SET_AUTHORIZATION, LIST_AUTHORIZATIONS]
_BY_NAME = {op.name: op for op in OPERATIONS}


def _date(moment) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


class HabilitationsService(Service):
    """The professional's authorisation on the patient named by the VIHF."""

    @dmp_rpc(SET_AUTHORIZATION.body)
    def setAuthorization(ctx, _body):
        """TD0.3: AJOUT or SUPPRESSION, optionally the médecin traitant role."""
        call = begin_call(ctx, _BY_NAME)
        tag = f"{{{HABILITATIONS}}}setAuthorizationResponse"
        try:
            record = authorisations.set_authorisation(
                call.dmp, call.vihf, child_text(call.body, "action") or "",
                child_text(call.body, "role"), call.now, ins=call.patient_ins,
                gate=lambda: call.check_mode("TD0.3"))
        except DmpRefusal as refusal:
            return refusal_answer(tag, refusal)
        done = "granted" if record.granted else "removed"
        role = ", médecin traitant" if record.medecin_traitant else ""
        return DmpAnswer(web_service_response(
            tag, refusals.OK, f"authorisation {done} for {record.professional_id}{role}"),
            outcome=refusals.OK)

    @dmp_rpc(LIST_AUTHORIZATIONS.body)
    def listAuthorizationByPatient(ctx, _body):
        """TD1.6: professionals authorised on, or blocked from, the patient's DMP."""
        call = begin_call(ctx, _BY_NAME)
        tag = f"{{{HABILITATIONS}}}listAuthorizationByPatientResponse"
        try:
            found = authorisations.list_for_patient(
                call.dmp, call.patient_ins, child_text(call.body, "mode") or "TOUTE", call.now,
                gate=lambda: call.check_mode("TD1.6"))
        except DmpRefusal as refusal:
            return refusal_answer(tag, refusal)
        response = web_service_response(tag, refusals.OK, f"{len(found)} professional(s)")
        listing = add_text(response, "listOfAuthorizationByPatient", None)
        for record in found:
            item = add_text(listing, "authorization", None)
            first, _, last = record.professional_name.partition(" ")
            for name, value in (
                    ("nationalId", record.professional_id), ("firstName", first),
                    ("lastName", last), ("profession", record.profession),
                    ("speciality", record.specialty), ("structureId", record.structure_id),
                    ("startDate", _date(record.granted_at)),
                    ("lastActionDate", _date(record.last_action_at)),
                    ("status", record.status(call.now).value),
                    ("medecinTraitant", "true" if record.medecin_traitant else "false")):
                if value:
                    add_text(item, name, value)
        return DmpAnswer(response, outcome=refusals.OK)
