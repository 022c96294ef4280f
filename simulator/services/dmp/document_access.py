"""The access rules applied to XDS transactions, with their XDS error carriers.

The DMP-side rules are those of :mod:`access`; here they meet the registry: who fed a
document (the VIHF ``NameID`` of the TD2.1 call, kept as the document's author for
"only the author deletes" and masking), and how a refusal reads in a RegistryResponse.
IHE has no code for "closed record" or "professional blocked": those refusals use
``XDSRegistryError`` with the DMP reason first in ``codeContext`` (docs/dmp.md).
"""
from __future__ import annotations

from simulator.ports.dmp import DocumentVersion
from simulator.services.dmp.access import Decision, document_visible, may_consult, may_feed
from simulator.services.dmp.call import DmpCall
from simulator.services.dmp.records import NO_DMP, authorisation_status
from simulator.services.dmp.refusals import DmpRefusal, refusal_for
from simulator.services.dmp.xds.errors import (
    REGISTRY_ERROR, UNKNOWN_PATIENT_ID, XdsError, XdsFailure)
from simulator.services.dmp.xds.model import (
    DE_CONFIDENTIALITY, DE_PATIENT_ID, SS_PATIENT_ID, RegistryObject)
from simulator.services.dmp.xds.rules import parse_patient_id

MASQUE_PS = "MASQUE_PS"


def _decide(call: DmpCall, rule) -> Decision:
    record = call.dmp.record(call.patient_ins)
    state = record.state() if record is not None else NO_DMP
    status = authorisation_status(call.dmp.authorisation(call.patient_ins, call.vihf.name_id),
                                  call.now)
    return rule(state, status)


def _raise_if_refused(call: DmpCall, decision: Decision) -> None:
    if decision.allowed:
        return
    if decision.reason == "DMP_ABSENT":
        raise XdsFailure([XdsError(UNKNOWN_PATIENT_ID, f"no DMP exists for the patient "
                                   f"{call.patient_id} named by the VIHF: create it (TD1.1)")])
    refusal = refusal_for(decision.reason, decision.message)
    raise XdsFailure([XdsError(REGISTRY_ERROR, f"{refusal.code}: {refusal.text}")])


def check_mode(call: DmpCall, transaction: str) -> None:
    """Refuse with an XdsFailure when the VIHF's authentication mode may not use
    ``transaction`` (brief §4.1; ``XDSRegistryError``, ``DMPAccessDenied: AUTH_MODE``)."""
    try:
        call.check_mode(transaction)
    except DmpRefusal as refusal:
        raise XdsFailure([XdsError(REGISTRY_ERROR, f"{refusal.code}: {refusal.text}")]) \
            from None


def check_may_feed(call: DmpCall, transaction: str = "TD2.1") -> None:
    """TD2.1, TD3.3 on one's own documents, TD3.1b: refuse with an XdsFailure when the
    caller may not feed this DMP (no authorisation needed: brief §2.5, S3 td3.1b and
    td3.3: "sauf si le LPS implémente le profil Alimentation")."""
    check_mode(call, transaction)
    _raise_if_refused(call, _decide(call, may_feed))


def check_may_consult(call: DmpCall, transaction: str = "TD3.1a") -> None:
    """TD3.1a/TD3.2: refuse with an XdsFailure when the caller may not consult."""
    check_mode(call, transaction)
    _raise_if_refused(call, _decide(
        call, lambda state, status: may_consult(state, status, call.vihf.access_mode)))


def patient_of(obj: RegistryObject | DocumentVersion) -> str | None:
    """The patient identifier (INS or INS-C) in an entry's or a submission set's
    patientId, or None."""
    cx = obj.patient_id if isinstance(obj, DocumentVersion) else \
        obj.external(DE_PATIENT_ID) or obj.external(SS_PATIENT_ID)
    patient = parse_patient_id(cx)
    return patient[0] if patient else None


def is_masked(entry: RegistryObject) -> bool:
    """The entry carries the MASQUE_PS confidentiality code."""
    return any(code.code == MASQUE_PS for code in entry.codes(DE_CONFIDENTIALITY))


def version_visible(call: DmpCall, version: DocumentVersion) -> bool:
    """:func:`visible_to` for a version read as :class:`DocumentVersion` (the same rule,
    on its stored ``masked`` and ``author_id`` columns)."""
    if version.kind != "ExtrinsicObject" or not version.masked:
        return True
    return document_visible(True, version.author_id or "", call.vihf.name_id)


def visible_to(call: DmpCall, author_of):
    """A predicate: whether a registry object shows to the caller (masked documents
    only to their author). ``author_of(entry_uuid)`` gives the recorded author."""
    def visible(obj: RegistryObject) -> bool:
        if obj.kind != "ExtrinsicObject" or not is_masked(obj):
            return True
        return document_visible(True, author_of(obj.id) or "", call.vihf.name_id)
    return visible
