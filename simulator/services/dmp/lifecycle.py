"""A patient's DMP through its life (TD0.2, TD1.1 to TD1.4), without XML.

Creation needs an INS the identity registry knows (the one INSi answers from), so a
vendor cannot open a DMP for an identity INSi would not have returned.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from simulator.services.dmp import refusals
from simulator.services.dmp.access import Authorisation
from simulator.services.dmp.records import ACTIVE, CLOSED, DmpRecord, PatientTraits
from simulator.services.dmp.refusals import DmpRefusal
from simulator.ports.dmp import DmpRecordStore

OPPOSITION_BRIS_DE_GLACE = "OPPOSITION_BRIS_DE_GLACE"
OPPOSITION_ACCES_URGENCE = "OPPOSITION_ACCES_URGENCE"


def existence(store: DmpRecordStore, ins: str, professional_id: str,
              now: datetime) -> tuple[DmpRecord | None, Authorisation, bool]:
    """TD0.2: the DMP (None when absent), the caller's authorisation status and
    whether the caller is the patient's médecin traitant DMP."""
    record = store.record(ins)
    authorisation = store.authorisation(ins, professional_id)
    if record is None:
        return None, Authorisation.NON_EXISTE, False
    status = Authorisation.NON_EXISTE if authorisation is None else authorisation.status(now)
    return record, status, bool(authorisation and authorisation.medecin_traitant
                                and status is Authorisation.VALIDE)


def create(store: DmpRecordStore, identities, *, ins: str, ins_oid: str, traits: PatientTraits,
           observations: dict[str, bool], now: datetime,
           insc: str | None = None) -> DmpRecord:
    """TD1.1: open the DMP; DMPFound when the patient already has one. ``insc``: the
    INS-C an API v1 creation named the patient by (TD0.2 lists it beside the INS)."""
    known = identities.identities_by_matricule(ins[:13], ("active",))
    if not known:
        raise DmpRefusal(refusals.UNKNOWN_INS, f"the INS {ins} is not known to the national "
                         "identity repository: get the patient's INS from INSi first")
    record = DmpRecord(
        ins=ins, ins_oid=ins_oid, status=ACTIVE, traits=traits, created_at=now,
        updated_at=now,
        opposes_bris_de_glace=observations.get(OPPOSITION_BRIS_DE_GLACE, False),
        opposes_centre_15=observations.get(OPPOSITION_ACCES_URGENCE, False), insc=insc)
    if not store.create_record(record):
        existing = store.record(ins)
        state = "closed: reactivate it (TD1.2)" if existing and existing.status == CLOSED \
            else "active"
        raise DmpRefusal(refusals.FOUND, f"a DMP already exists for the INS {ins} ({state})")
    return record


def _existing(record: DmpRecord | None, ins: str) -> DmpRecord:
    if record is None:
        raise DmpRefusal(refusals.NOT_FOUND, f"no DMP exists for the INS {ins}")
    return record


def reactivate(store: DmpRecordStore, ins: str, now: datetime) -> DmpRecord:
    """TD1.2: reopen a closed DMP; DMPFound when it is active."""
    def change(record: DmpRecord | None) -> DmpRecord:
        record = _existing(record, ins)
        if record.status == ACTIVE:
            raise DmpRefusal(refusals.FOUND, f"the DMP of {ins} is already active")
        return record.reactivated(now)
    return store.update_record(ins, change)


def update(store: DmpRecordStore, ins: str, traits: PatientTraits | None,
           observations: dict[str, bool], now: datetime) -> DmpRecord:
    """TD1.3b: change the administrative data and the patient's oppositions."""
    def change(record: DmpRecord | None) -> DmpRecord:
        record = _existing(record, ins)
        if record.status == CLOSED:
            raise DmpRefusal(refusals.CLOSED, f"the DMP of {ins} is closed: reactivate it "
                             "first")
        changes = {"updated_at": now}
        if traits is not None:
            changes["traits"] = traits
        if OPPOSITION_BRIS_DE_GLACE in observations:
            changes["opposes_bris_de_glace"] = observations[OPPOSITION_BRIS_DE_GLACE]
        if OPPOSITION_ACCES_URGENCE in observations:
            changes["opposes_centre_15"] = observations[OPPOSITION_ACCES_URGENCE]
        return replace(record, **changes)
    return store.update_record(ins, change)


def close(store: DmpRecordStore, ins: str, reason: str, text: str | None,
          now: datetime) -> DmpRecord:
    """TD1.4: close the DMP; DMPClosed when it already is."""
    def change(record: DmpRecord | None) -> DmpRecord:
        record = _existing(record, ins)
        if record.status == CLOSED:
            raise DmpRefusal(refusals.CLOSED, f"the DMP of {ins} is already closed")
        return record.closed(now, reason, text)
    return store.update_record(ins, change)
