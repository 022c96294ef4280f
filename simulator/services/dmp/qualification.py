"""Whether a DMP feed carries a qualified INS (issue 5, regional Q&A of 2022-12-08).

A feed's INS counts as non-qualified when the feeding structure obtained it only
through TD0.0 (the CNAM's identity, which can differ from the official INS), when the
identity repository does not know it, or when the traits sent with the document
(``sourcePatientInfo``: birth name PID-5, birth date PID-7, sex PID-8) contradict the
INSi identity. First names are not compared: documents may carry the first first name
or the whole list. An INS-C (API v1) is its own kind.
"""
from __future__ import annotations

from dataclasses import dataclass

from simulator.ports.store import InsiStore
from simulator.services.insi.matching import normalise_name

QUALIFIED, NON_QUALIFIED, INS_C = "qualified", "non-qualified", "ins-c"
INS_C_OID = "1.2.250.1.213.1.4.2"


@dataclass(frozen=True)
class Qualification:
    """The kind of a feed's INS and, when not qualified, why."""

    kind: str
    reason: str = ""


def assess_feed(store: InsiStore, structure: str, ins: str, oid: str,
                source_patient_infos: list[list[str]]) -> Qualification:
    """Qualify the INS of a feed by ``structure``; ``source_patient_infos`` holds the
    sourcePatientInfo values of each document entry."""
    if oid == INS_C_OID:
        return Qualification(INS_C, "an INS-C (API v1)")
    if store.timeline.provenance(structure, ins) == {"td00"}:
        return Qualification(NON_QUALIFIED, f"structure {structure} obtained the INS {ins} "
                             "only through TD0.0, not from INSi")
    known = store.identities_by_matricule(ins[:13], ("active",))
    if not known:
        return Qualification(NON_QUALIFIED, f"the INS {ins} is unknown to the national "
                             "identity repository")
    for values in source_patient_infos:
        contradiction = _contradiction(known[0], values)
        if contradiction:
            return Qualification(NON_QUALIFIED, f"the document's {contradiction}")
    return Qualification(QUALIFIED)


def _contradiction(identity, values: list[str]) -> str | None:
    fields = {}
    for value in values:
        name, _, content = value.partition("|")
        fields.setdefault(name.strip().upper(), content)
    name = fields.get("PID-5", "").split("^")[0]
    if name and normalise_name(name) != normalise_name(identity.birth_name):
        return f"birth name {name!r} differs from the INSi identity's {identity.birth_name!r}"
    born = fields.get("PID-7", "")[:8]
    if born and born != identity.birth_date.replace("-", ""):
        return f"birth date {born} differs from the INSi identity's {identity.birth_date}"
    sex = fields.get("PID-8", "").strip().upper()
    if sex in ("M", "F") and sex != identity.sex:
        return f"sex {sex} differs from the INSi identity's {identity.sex}"
    return None
