"""``patientCertif``: TD0.0 identityCertification, the identity the CNAM knows for a
Vitale card's data (DMP brief §2.1, §3.1).

The request carries the ouvrant-droit NIR, the beneficiary's birth date (``AAAA-MM-JJ``,
possibly lunar), the rang de naissance and, when known, the beneficiary's own NIR; the
answer is the beneficiary's NIR individu (the INS matricule and its key), first name,
birth name and birth date *as the CNAM (SNGI) knows them*: that identity can differ
from the RNIPP one INSi returns (the regional Q&A of 2022-12-08 calls TD0.0 obsolete for
that reason), and the simulator answers with the registry's ``cnam_traits`` when a
person has them. The timeline gate (open, grace, removed) is applied by
:func:`~simulator.services.dmp.call.begin_call` because the operation's ``api`` is
``td00``.

Reconstructed (DMP brief §2.3, §6.2): the message shape (published in
``wsdl/dmp/xsd/si-dmp-patientcertif.xsd``), :data:`MULTIPLE_IDENTITIES` and the use of
``DMPNotFound`` / ``DMPInvalidParameter`` for TD0.0.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from spyne import Service

from simulator.identities.model import Identity
from simulator.identities.nir import NIR_PATTERN, nir_key
from simulator.services.dmp import refusals
from simulator.services.dmp.binding import dmp_rpc
from simulator.services.dmp.call import begin_call
from simulator.services.dmp.operations import DmpAnswer, DmpOperation
from simulator.services.dmp.refusals import DmpRefusal
from simulator.services.dmp.specific_xml import (
    PATIENTS, add_text, child_text, refusal_answer, web_service_response)
from simulator.services.dmp.timeline import TD00

# Simulator-defined (no public code): several beneficiaries share the card data and no
# nirIndividu tells them apart.
MULTIPLE_IDENTITIES = "DMPMultipleIdentities"
OK_CONTEXT = "identity known to the CNAM (Vitale data); not a qualified INS: check it " \
             "with INSi"

_ENDPOINT = f"{PATIENTS}:PatientCertificationEndPoint"
IDENTITY_CERTIFICATION = DmpOperation(
    "identityCertification", f"{{{PATIENTS}}}identityCertification",
    frozenset({f"{_ENDPOINT}:identityCertification"}),
    f"{_ENDPOINT}:identityCertificationResponse", patient_in_vihf=False, api=TD00)
OPERATIONS = [IDENTITY_CERTIFICATION]
_BY_NAME = {op.name: op for op in OPERATIONS}

# A date as the Vitale card gives it: month 00-12, day 00-31 (00 = unknown, "lunar").
_VITALE_DATE = re.compile(r"\d{4}-(0\d|1[0-2])-([0-2]\d|3[01])")
_RANK = re.compile(r"0{0,2}[1-9]\d{0,2}")


@dataclass(frozen=True)
class CertificationQuery:
    """The TD0.0 request, checked."""

    od_number: str  # 13 characters
    birth_date: str
    birth_rank: int
    individual_number: str | None = None  # 13 characters


@dataclass(frozen=True)
class CertifiedIdentity:
    """The TD0.0 answer: the CNAM's view of one beneficiary."""

    nir_individu: str  # 15 characters: the INS matricule and its key
    first_name: str
    birth_name: str
    birth_date: str


def _nir(text: str | None, element: str, required: bool) -> str | None:
    """A NIR of 13 characters, or 15 with its key (checked)."""
    if text is None:
        if required:
            raise DmpRefusal(refusals.INVALID_PARAMETER, f"{element} is required")
        return None
    value = text.upper()
    number, key = value[:13], value[13:]
    if not NIR_PATTERN.fullmatch(number) or len(value) not in (13, 15) or \
            (key and key != nir_key(number)):
        raise DmpRefusal(refusals.INVALID_PARAMETER,
                         f"{element} must be a NIR of 13 characters, or 15 with its key, "
                         f"got {text!r}")
    return number


def read_query(body) -> CertificationQuery:
    """The request's fields (read by local name), or DMPInvalidParameter."""
    od_number = _nir(child_text(body, "nirOD"), "nirOD", required=True)
    born = child_text(body, "dateNaissance")
    if born is None or not _VITALE_DATE.fullmatch(born):
        raise DmpRefusal(refusals.INVALID_PARAMETER,
                         f"dateNaissance must be AAAA-MM-JJ (00 for an unknown month or day),"
                         f" got {born!r}")
    rank = child_text(body, "rangNaissance")
    if rank is None or not _RANK.fullmatch(rank):
        raise DmpRefusal(refusals.INVALID_PARAMETER,
                         f"rangNaissance must be a positive whole number, got {rank!r}")
    return CertificationQuery(od_number, born, int(rank),
                              _nir(child_text(body, "nirIndividu"), "nirIndividu", False))


def certify(holders: list[Identity], query: CertificationQuery) -> Identity:
    """The beneficiary among the holders of the ouvrant-droit NIR: the CNAM's birth date
    and the rang select them (as a Vitale card does), ``nirIndividu`` (active or former
    matricule) chooses among several. Raises DMPNotFound or :data:`MULTIPLE_IDENTITIES`."""
    found = [i for i in holders if i.ouvrant_droit == query.od_number
             and i.cnam_trait("birth_date") == query.birth_date
             and i.birth_rank == query.birth_rank]
    where = (f"ouvrant droit {query.od_number}, born {query.birth_date}, "
             f"rang {query.birth_rank}")
    if query.individual_number is not None:
        found = [i for i in found if query.individual_number in
                 {i.active.number, *(m.number for m in i.history)}]
        where += f", NIR individu {query.individual_number}"
    if not found:
        raise DmpRefusal(refusals.NOT_FOUND, f"no beneficiary known to the CNAM for {where}")
    if len(found) > 1:
        raise DmpRefusal(MULTIPLE_IDENTITIES,
                         f"{len(found)} beneficiaries share {where}: send nirIndividu")
    return found[0]


def cnam_identity(identity: Identity) -> CertifiedIdentity:
    """What TD0.0 says of a person: the CNAM traits where they differ, else the RNIPP's."""
    first_names = identity.cnam_trait("first_names")
    return CertifiedIdentity(identity.active.ins, first_names[0] if first_names else "",
                             identity.cnam_trait("birth_name"),
                             identity.cnam_trait("birth_date"))


class PatientCertifService(Service):
    """TD0.0, the deprecated way to obtain an INS from Vitale data."""

    @dmp_rpc(IDENTITY_CERTIFICATION.body)
    def identityCertification(ctx, _body):
        """TD0.0: the CNAM's identity for (nirOD, dateNaissance, rangNaissance)."""
        call = begin_call(ctx, _BY_NAME)
        tag = f"{{{PATIENTS}}}identityCertificationResponse"
        store = call.context.store
        try:
            query = read_query(call.body)
            call.check_mode("TD0.0")
            person = certify(store.identities_by_matricule(query.od_number,
                                                           ("ouvrant-droit",)), query)
        except DmpRefusal as refusal:
            return refusal_answer(tag, refusal)
        store.timeline.record_provenance(
            [(call.vihf.structure_id, person.active.number, TD00, call.now)])
        answer = cnam_identity(person)
        response = web_service_response(tag, refusals.OK, OK_CONTEXT)
        for name, value in (("nirIndividu", answer.nir_individu), ("prenom", answer.first_name),
                            ("nomPatronymique", answer.birth_name),
                            ("dateNaissance", answer.birth_date)):
            add_text(response, name, value)
        return DmpAnswer(response, outcome=refusals.OK)
