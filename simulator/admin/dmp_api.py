"""DMP state under ``/_admin/dmp``: see patients' DMPs, and play the patient's part.

What a patient does in Mon espace santé (oppose bris de glace or centre 15 access,
block a professional) has no LPS transaction; tests set it here. Expiring an
authorisation is also set here, to reach the EXPIRE status of TD0.2.
"""
from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, jsonify, request

from simulator.admin import current_simulator
from simulator.services.dmp.records import AuthorisationRecord
from simulator.settings import SettingsError, parse_datetime
from simulator.store.dmp import authorisation_to_dict, record_to_dict

dmp_admin = Blueprint("dmp_admin", __name__, url_prefix="/_admin/dmp")
PATIENT_OPTIONS = ("opposes_bris_de_glace", "opposes_centre_15", "linked_to_mes")


def _authorisation_view(record: AuthorisationRecord, now) -> dict:
    return {**authorisation_to_dict(record), "status": record.status(now).value}


@dmp_admin.get("/patients")
def list_patients():
    """Every DMP with its status."""
    records = current_simulator().store.dmp.records()
    return jsonify(count=len(records), patients=[
        {"ins": r.ins, "ins_oid": r.ins_oid, "status": r.status,
         "birth_name": r.traits.birth_name} for r in records])


@dmp_admin.get("/patients/<ins>")
def get_patient(ins: str):
    """One DMP, the professionals known on it and its document count."""
    sim = current_simulator()
    record = sim.store.dmp.record(ins)
    if record is None:
        return jsonify(error=f"no DMP for INS {ins}"), 404
    now = sim.clock.now()
    documents = sim.store.dmp.view().count_documents_for_patient(ins)
    return jsonify(dmp=record_to_dict(record), documents=documents, professionals=[
        _authorisation_view(a, now) for a in sim.store.dmp.authorisations_for_patient(ins)])


@dmp_admin.patch("/patients/<ins>")
def patch_patient(ins: str):
    """Set the patient's own choices: ``{"opposes_bris_de_glace": true, ...}``."""
    sim = current_simulator()
    if sim.store.dmp.record(ins) is None:
        return jsonify(error=f"no DMP for INS {ins}"), 404
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not body or \
            any(k not in PATIENT_OPTIONS or not isinstance(v, bool) for k, v in body.items()):
        return jsonify(error=f"expected a JSON object of booleans among "
                             f"{', '.join(PATIENT_OPTIONS)}"), 400
    record = sim.store.dmp.update_record(ins, lambda current: replace(current, **body))
    return jsonify(dmp=record_to_dict(record))


@dmp_admin.put("/patients/<ins>/professionals")
def put_professional(ins: str):
    """Block a professional (``{"professional_id": ..., "blocked": true}``) or expire
    their authorisation (``"expires_at": ISO-8601``)."""
    sim = current_simulator()
    if sim.store.dmp.record(ins) is None:
        return jsonify(error=f"no DMP for INS {ins}"), 404
    body = request.get_json(silent=True)
    professional = body.get("professional_id") if isinstance(body, dict) else None
    if not isinstance(professional, str) or not professional or \
            not set(body) <= {"professional_id", "blocked", "expires_at"} or \
            not isinstance(body.get("blocked", False), bool):
        return jsonify(error='expected {"professional_id": <VIHF NameID>, "blocked": bool, '
                             '"expires_at": ISO-8601 or null}'), 400
    changes = {}
    if "blocked" in body:
        changes["blocked"] = body["blocked"]
    if "expires_at" in body:
        try:
            changes["expires_at"] = parse_datetime(body["expires_at"]) \
                if body["expires_at"] else None
        except (SettingsError, AttributeError):
            return jsonify(error=f"expires_at: not an ISO-8601 date-time: "
                                 f"{body['expires_at']!r}"), 400
    now = sim.clock.now()
    updated = sim.store.dmp.update_authorisation(ins, professional, lambda current: replace(
        current or AuthorisationRecord(ins=ins, professional_id=professional, granted=False),
        last_action_at=now, **changes))
    return jsonify(professional=_authorisation_view(updated, sim.clock.now()))
