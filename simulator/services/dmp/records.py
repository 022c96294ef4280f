"""What the DMP keeps about a patient's record and about professionals' authorisations.

Plain frozen dataclasses shared by the store, the HL7 v3 patient messages and the
DMP-specific services; the access rules read them through :meth:`DmpRecord.state`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from simulator.services.dmp.access import Authorisation, DmpState

ACTIVE = "active"
CLOSED = "closed"


@dataclass(frozen=True)
class PatientTraits:
    """The administrative identity the DMP holds (TD1.1, TD1.3a/b)."""

    birth_name: str
    given_names: str  # space-separated, as the INS gives them
    sex: str  # M | F | U
    birth_date: str  # YYYY-MM-DD
    used_name: str | None = None
    birth_place: str | None = None  # INSEE code
    telecoms: tuple[str, ...] = ()  # e.g. "mailto:...", "tel:..."
    address: tuple[str, ...] = ()  # street lines, postcode, city, as sent


@dataclass(frozen=True)
class PatientAccess:
    """The patient's web access to their DMP (TD1.5a creates it, TD1.5b changes its
    one-time-password channels, TD1.5c/d issues new codes)."""

    login: str
    channels: tuple[tuple[str, str], ...]  # (EMAIL | SMS, address), at most one per type
    created_at: datetime
    created_by: str  # VIHF NameID of the professional who created it
    codes_issued: int = 1  # the initial codes, then one per TD1.5c/d
    codes_issued_at: datetime | None = None

    def channel(self, channel_type: str) -> str | None:
        """The address of the OTP channel of this type, or None."""
        return dict(self.channels).get(channel_type)


@dataclass(frozen=True)
class DmpRecord:
    """One patient's DMP, identified by the INS (matricule + OID)."""

    ins: str
    ins_oid: str
    status: str  # ACTIVE | CLOSED
    traits: PatientTraits
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    close_reason: str | None = None  # e.g. FERMETURE_DEMANDE_PATIENT
    close_text: str | None = None
    opposes_bris_de_glace: bool = False
    opposes_centre_15: bool = False
    linked_to_mes: bool = False  # "rattachement Mon espace santé" (TD0.2 output)
    insc: str | None = None  # the INS-C, kept for TD0.2 compatibility output
    web_access: PatientAccess | None = None  # TD1.5: the patient's web access, if created

    def state(self) -> DmpState:
        """The view the access rules need."""
        return DmpState(exists=True, closed=self.status == CLOSED,
                        opposes_bris_de_glace=self.opposes_bris_de_glace,
                        opposes_centre_15=self.opposes_centre_15)

    def closed(self, at: datetime, reason: str, text: str | None) -> DmpRecord:
        """This record after a TD1.4 closure."""
        return replace(self, status=CLOSED, closed_at=at, close_reason=reason,
                       close_text=text, updated_at=at)

    def reactivated(self, at: datetime) -> DmpRecord:
        """This record after a TD1.2 reactivation."""
        return replace(self, status=ACTIVE, closed_at=None, close_reason=None,
                       close_text=None, updated_at=at)


NO_DMP = DmpState(exists=False)


@dataclass(frozen=True)
class AuthorisationRecord:
    """A professional's standing on one DMP (TD0.3 writes it, TD0.2/TD1.6 read it).

    ``professional_id`` is the VIHF ``Subject/NameID``. ``blocked`` is set by the
    patient (from Mon espace santé; in the simulator through the control plane) and
    wins over everything.
    """

    ins: str
    professional_id: str
    professional_name: str = ""
    structure_id: str = ""
    profession: str = ""  # first VIHF role code (G15)
    specialty: str = ""  # second VIHF role code (savoir-faire), if any
    granted: bool = True
    blocked: bool = False
    medecin_traitant: bool = False
    granted_at: datetime | None = None
    last_action_at: datetime | None = None
    expires_at: datetime | None = None

    def status(self, now: datetime) -> Authorisation:
        """TD0.2 authorisation status at ``now``."""
        if self.blocked:
            return Authorisation.INTERDIT
        if not self.granted:
            return Authorisation.NON_EXISTE
        if self.expires_at is not None and now >= self.expires_at:
            return Authorisation.EXPIRE
        return Authorisation.VALIDE


def authorisation_status(record: AuthorisationRecord | None, now: datetime) -> Authorisation:
    """NON_EXISTE when the professional never had an authorisation on this DMP."""
    return Authorisation.NON_EXISTE if record is None else record.status(now)
