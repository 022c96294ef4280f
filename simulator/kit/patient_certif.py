"""TD0.0 identityCertification (``patientCertif``, API v2 until its removal): the INS
of a patient from the Vitale card's ouvrant-droit NIR, birth date and rank (DMP.md §2.1,
§3). The VIHF names no patient (``patient=None``). Removed on the platform's calendar
(docs/timeline.md): the simulator answers it before 2023, then only for software that
used it, then refuses it.

Example::

    from simulator.kit import patient_certif, soap
    raw = soap.envelope(patient_certif.identity_certification("2760763220901",
                        "2012-05-10", 1), action=patient_certif.ACTION,
                        service="patientCertif", issue_instant=now, patient=None)
"""
from __future__ import annotations

PAT = "urn:si-dmp-patients"
ACTION = f"{PAT}:PatientCertificationEndPoint:identityCertification"


def identity_certification(nir_od: str, born: str, rank: int = 1,
                           nir_individu: str | None = None) -> str:
    """The identityCertification body: ``nir_od`` the 13-character NIR of the card
    holder, ``born`` YYYY-MM-DD (may be lunar), ``rank`` the rang de naissance."""
    individual = f"<p:nirIndividu>{nir_individu}</p:nirIndividu>" if nir_individu else ""
    return (f'<p:identityCertification xmlns:p="{PAT}"><p:nirOD>{nir_od}</p:nirOD>'
            f"<p:dateNaissance>{born}</p:dateNaissance><p:rangNaissance>{rank}"
            f"</p:rangNaissance>{individual}</p:identityCertification>")
