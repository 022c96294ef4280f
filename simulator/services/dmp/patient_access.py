"""The patient's web access to their DMP (TD1.5a-d), without XML.

Verified (DMP brief §2.1, §2.3, §6.2; the ANS editor kit's calls and tests): the three
operations and their parameters, the channel types ``EMAIL``/``SMS``, the actions
``AJOUT``/``MODIFICATION``/``SUPPRESSION``, the answer of TD1.5a and TD1.5c/d carrying
a ``login``, and two refusals: ``DMPPatientAccessAlreadyExists`` (TD1.5a when the access
exists) and ``DMPPatientAccessOTPAlreadyExists`` ("Type de canal OTP deja Existant pour
ce DMP", TD1.5b adding a channel type already set). The patient is the VIHF's
resource-id, as for every DMP-specific operation (brief §1.2).

Reconstructed (the simulator's choices, documented in docs/dmp.md): the login's form;
one channel per type; which address forms are accepted; that MODIFICATION and
SUPPRESSION need the type to be set (``DMPPatientAccessOTPNotFound``) and the last
channel cannot be removed; ``DMPPatientAccessNotFound`` for TD1.5b/c/d before TD1.5a;
that the caller needs a valid authorisation on the DMP (``DMPAccessDenied``; DevBox's
TD0.2 example creates the access once the authorisation is VALIDE), which
``SIM_DMP_PATIENT_ACCESS_NEEDS_AUTHORISATION=false`` lifts. No code is sent to anyone:
the real DMP mails or texts them, the simulator counts them (``codes_issued``).
"""
from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace
from datetime import datetime

from simulator.services.dmp import refusals
from simulator.services.dmp.access import Authorisation
from simulator.services.dmp.authorisations import open_record
from simulator.services.dmp.records import CLOSED, DmpRecord, PatientAccess, authorisation_status
from simulator.services.dmp.refusals import DmpRefusal
from simulator.services.dmp.vihf import Vihf
from simulator.ports.dmp import DmpRecordStore

CHANNEL_TYPES = ("EMAIL", "SMS")
OTP_ACTIONS = ("AJOUT", "MODIFICATION", "SUPPRESSION")

# Reconstructed address forms: an e-mail address, or a French mobile number (06/07,
# +33 6/7 or 0033 6/7) given with or without spaces, dots or dashes.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+")
_MOBILE = re.compile(r"(?:0|\+33|0033)[67]\d{8}")
_SEPARATORS = re.compile(r"[\s.\-]")


def check_channel(channel_type: str | None, channel: str | None) -> tuple[str, str]:
    """(type, address) of an OTP channel, the address normalised (a mobile number
    without separators), or DMPInvalidParameter."""
    if channel_type not in CHANNEL_TYPES:
        raise DmpRefusal(refusals.INVALID_PARAMETER, "the OTP channel type must be one of "
                         f"{', '.join(CHANNEL_TYPES)}, got {channel_type!r}")
    value = (channel or "").strip()
    if channel_type == "EMAIL":
        if len(value) > 254 or not _EMAIL.fullmatch(value):
            raise DmpRefusal(refusals.INVALID_PARAMETER,
                             f"channel must be an e-mail address for EMAIL, got {channel!r}")
        return channel_type, value
    number = _SEPARATORS.sub("", value)
    if not _MOBILE.fullmatch(number):
        raise DmpRefusal(refusals.INVALID_PARAMETER, "channel must be a French mobile number "
                         f"(06, 07, +33 6 or +33 7) for SMS, got {channel!r}")
    return channel_type, number


def login_of(ins: str, created_at: datetime) -> str:
    """The access's login (reconstructed form): 10 upper-case letters and digits, the
    same for the same DMP created at the same instant."""
    digest = hashlib.sha256(f"{ins}|{created_at.isoformat()}".encode()).digest()
    return base64.b32encode(digest).decode()[:10]


def _check_caller(store: DmpRecordStore, record: DmpRecord, vihf: Vihf, now: datetime,
                  needs_authorisation: bool) -> None:
    status = authorisation_status(store.authorisation(record.ins, vihf.name_id), now)
    if status is Authorisation.INTERDIT:
        raise DmpRefusal(refusals.ACCESS_DENIED, "PS_BLOCKED: the patient has blocked this "
                         "professional's access")
    if needs_authorisation and status is not Authorisation.VALIDE:
        raise DmpRefusal(refusals.ACCESS_DENIED, f"NO_AUTHORISATION: the professional's "
                         f"authorisation on this DMP is {status.value}: record the patient's "
                         "consent with TD0.3 first")


def _change_access(store: DmpRecordStore, ins: str, vihf: Vihf, now: datetime,
                   needs_authorisation: bool, change, gate=None) -> PatientAccess:
    """Check the DMP and the caller, then apply ``change(record) -> PatientAccess`` in
    one transaction (two concurrent TD1.5a create one access). ``gate()``, called once
    the parameters are read and before any business rule, may raise a DmpRefusal (the
    service's authentication-mode check, as in :mod:`.authorisations`)."""
    if gate is not None:
        gate()
    _check_caller(store, open_record(store, ins), vihf, now, needs_authorisation)

    def write(record: DmpRecord | None) -> DmpRecord:
        if record is None or record.status == CLOSED:  # closed meanwhile
            open_record(store, ins)
        return replace(record, web_access=change(record), updated_at=now)
    return store.update_record(ins, write).web_access


def create(store: DmpRecordStore, ins: str, vihf: Vihf, channel_type: str | None,
           channel: str | None, now: datetime, *, needs_authorisation: bool = True,
           gate=None) -> PatientAccess:
    """TD1.5a: create the patient's web access with its first OTP channel."""
    pair = check_channel(channel_type, channel)

    def change(record: DmpRecord) -> PatientAccess:
        if record.web_access is not None:
            raise DmpRefusal(refusals.PATIENT_ACCESS_EXISTS, "the patient's web access "
                             f"already exists (login {record.web_access.login}): use TD1.5b "
                             "to change its channels or TD1.5c/d for new codes")
        return PatientAccess(login=login_of(ins, now), channels=(pair,), created_at=now,
                             created_by=vihf.name_id, codes_issued_at=now)
    return _change_access(store, ins, vihf, now, needs_authorisation, change, gate)


def _existing(record: DmpRecord) -> PatientAccess:
    if record.web_access is None:
        raise DmpRefusal(refusals.NO_PATIENT_ACCESS, "the patient has no web access: create "
                         "it first (TD1.5a createPatientAccess)")
    return record.web_access


def update_channel(store: DmpRecordStore, ins: str, vihf: Vihf, channel_type: str | None,
                   channel: str | None, action: str | None, now: datetime, *,
                   needs_authorisation: bool = True, gate=None) -> PatientAccess:
    """TD1.5b: add (AJOUT), change (MODIFICATION) or remove (SUPPRESSION) an OTP channel.
    SUPPRESSION compares the type only, not the address."""
    if action not in OTP_ACTIONS:
        raise DmpRefusal(refusals.INVALID_PARAMETER,
                         f"action must be one of {', '.join(OTP_ACTIONS)}, got {action!r}")
    if action == "SUPPRESSION":
        if channel_type not in CHANNEL_TYPES:
            check_channel(channel_type, channel)  # raises with the type's message
        pair = (channel_type, "")
    else:
        pair = check_channel(channel_type, channel)

    def change(record: DmpRecord) -> PatientAccess:
        access = _existing(record)
        current = dict(access.channels)
        if action == "AJOUT" and channel_type in current:
            raise DmpRefusal(refusals.OTP_CHANNEL_EXISTS, f"Type de canal OTP deja Existant "
                             f"pour ce DMP: {channel_type} is set, use MODIFICATION")
        if action != "AJOUT" and channel_type not in current:
            raise DmpRefusal(refusals.NO_OTP_CHANNEL, f"the web access has no {channel_type} "
                             "channel: use AJOUT")
        if action == "SUPPRESSION":
            if len(current) == 1:
                raise DmpRefusal(refusals.INVALID_PARAMETER, f"{channel_type} is the web "
                                 "access's only OTP channel: add another one before removing it")
            del current[channel_type]
        else:
            current[channel_type] = pair[1]
        return replace(access, channels=tuple(sorted(current.items())))
    return _change_access(store, ins, vihf, now, needs_authorisation, change, gate)


def issue_new_codes(store: DmpRecordStore, ins: str, vihf: Vihf, now: datetime, *,
                    needs_authorisation: bool = True, gate=None) -> PatientAccess:
    """TD1.5c/d: unblock the access and issue new codes (the login does not change)."""
    def change(record: DmpRecord) -> PatientAccess:
        access = _existing(record)
        return replace(access, codes_issued=access.codes_issued + 1, codes_issued_at=now)
    return _change_access(store, ins, vihf, now, needs_authorisation, change, gate)
