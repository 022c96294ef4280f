"""Authorisations of professionals on DMPs (TD0.3, TD1.6, TD0.4), without XML.

The professional is the VIHF's ``Subject/NameID``; the patient is the VIHF's resource-id
(DMP brief §1.2: ``setAuthorization`` carries only the action and the role).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from simulator.services.dmp import refusals
from simulator.services.dmp.records import AuthorisationRecord, DmpRecord
from simulator.services.dmp.refusals import DmpRefusal
from simulator.services.dmp.vihf import Vihf
from simulator.ports.dmp import DmpRecordStore

ACTIONS = ("AJOUT", "SUPPRESSION")
ROLES = ("MEDECIN_TRAITANT",)
LIST_MODES = ("TOUTE", "AUTORISE", "INTERDIT")
DATE_TYPES = ("LASTAUTORIZATION", "LASTDOC")


def open_record(store: DmpRecordStore, ins: str) -> DmpRecord:
    """The patient's DMP, refusing when there is none or it is closed."""
    record = store.record(ins)
    if record is None:
        raise DmpRefusal(refusals.NOT_FOUND, f"no DMP exists for the INS {ins}: create it "
                         "first (TD1.1) or check the INS")
    if record.status == "closed":
        raise DmpRefusal(refusals.CLOSED, f"the DMP of {ins} is closed: reactivate it "
                         "(TD1.2) first")
    return record


def set_authorisation(store: DmpRecordStore, vihf: Vihf, action: str, role: str | None,
                      now: datetime, *, ins: str | None = None,
                      gate=None) -> AuthorisationRecord:
    """TD0.3: add (AJOUT) or remove (SUPPRESSION) the caller's authorisation, or only
    its médecin traitant role when ``role`` is given with SUPPRESSION. ``ins``: the INS
    the DMP is keyed by (default the VIHF's resource-id; API v1 resolves its INS-C).
    ``gate()``, called once the parameters are read and before any business rule, may
    raise a DmpRefusal (the service's authentication-mode check: parameters first)."""
    if action not in ACTIONS:
        raise DmpRefusal(refusals.INVALID_PARAMETER,
                         f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
    if role is not None and role not in ROLES:
        raise DmpRefusal(refusals.INVALID_PARAMETER,
                         f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if gate is not None:
        gate()
    record = open_record(store, ins or vihf.patient_ins)

    def change(current: AuthorisationRecord | None) -> AuthorisationRecord:
        current = current or _new(record.ins, vihf)
        if current.blocked:
            raise DmpRefusal(refusals.ACCESS_DENIED, "the patient has blocked this "
                             "professional: no authorisation can be recorded")
        if action == "AJOUT":
            changes = dict(granted=True, granted_at=current.granted_at
                           if current.granted else now, expires_at=None,
                           medecin_traitant=current.medecin_traitant or role is not None)
        elif role is not None:
            changes = dict(medecin_traitant=False)
        else:
            changes = dict(granted=False, medecin_traitant=False)
        return replace(current, **changes, last_action_at=now,
                       professional_name=vihf.subject_name, structure_id=vihf.structure_id)
    return store.update_authorisation(record.ins, vihf.name_id, change)


def _new(ins: str, vihf: Vihf) -> AuthorisationRecord:
    roles = vihf.roles
    return AuthorisationRecord(
        ins=ins, professional_id=vihf.name_id, professional_name=vihf.subject_name,
        structure_id=vihf.structure_id, profession=roles[0].code,
        specialty=roles[1].code if len(roles) > 1 else "", granted=False)


def list_for_patient(store: DmpRecordStore, ins: str, mode: str,
                     now: datetime, gate=None) -> list[AuthorisationRecord]:
    """TD1.6: the professionals authorised on (or blocked from) a patient's DMP;
    ``gate`` as for :func:`set_authorisation`."""
    if mode not in LIST_MODES:
        raise DmpRefusal(refusals.INVALID_PARAMETER,
                         f"mode must be one of {', '.join(LIST_MODES)}, got {mode!r}")
    if gate is not None:
        gate()
    open_record(store, ins)
    known = [a for a in store.authorisations_for_patient(ins) if a.granted or a.blocked]
    if mode == "AUTORISE":
        return [a for a in known if not a.blocked and a.status(now).name == "VALIDE"]
    if mode == "INTERDIT":
        return [a for a in known if a.blocked]
    return known


def accessible_patients(store: DmpRecordStore, vihf: Vihf, since: datetime, date_type: str,
                        now: datetime, gate=None) -> list[tuple[DmpRecord, datetime]]:
    """TD0.4: the DMPs the professional (direct authentication) or the structure
    (indirect) may access, with the date of the last authorisation or the last
    document since ``since``; ``gate`` as for :func:`set_authorisation`."""
    if date_type not in DATE_TYPES:
        raise DmpRefusal(refusals.INVALID_PARAMETER,
                         f"dateType must be one of {', '.join(DATE_TYPES)}, got {date_type!r}")
    if gate is not None:
        gate()
    if vihf.auth_mode == "DIRECTE":
        authorisations = store.authorisations_of(professional_id=vihf.name_id)
    else:
        authorisations = store.authorisations_of(structure_id=vihf.structure_id)
    allowed = {a.ins for a in authorisations if a.status(now).name == "VALIDE"}
    dates: dict[str, datetime] = {}
    if date_type == "LASTAUTORIZATION":
        for a in authorisations:
            if a.ins in allowed and a.last_action_at and a.last_action_at >= since:
                dates[a.ins] = max(dates.get(a.ins, a.last_action_at), a.last_action_at)
    else:
        for ins, _author, registered_at in store.documents_since(since):
            if ins in allowed:
                moment = datetime.fromisoformat(registered_at)
                dates[ins] = max(dates.get(ins, moment), moment)
    found = []
    for ins, moment in sorted(dates.items()):
        record = store.record(ins)
        if record is not None and record.status == "active":
            found.append((record, moment))
    return found
