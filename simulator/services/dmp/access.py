"""Who may do what on a DMP: the access rules, as plain functions.

From the DMP issue and brief (§4.1, §6.2): consulting needs a valid authorisation, or
the bris de glace / centre 15 access modes unless the patient opposed them; a
professional the patient blocked never gets in, whatever the mode; feeding needs no
authorisation; a closed DMP refuses feeds and consultation; only its author deletes a
document; masked documents are hidden from professionals other than their author.
Refusals carry a reason code; which error carrier each transaction uses (HL7
acknowledgement, XDS RegistryError, DMP status) is the service's business.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Authorisation(Enum):
    """TD0.2 authorisation status of a professional on a DMP (brief §6.2)."""

    NON_EXISTE = "NON_EXISTE"
    INTERDIT = "INTERDIT"  # blocked by the patient
    EXPIRE = "EXPIRE"
    VALIDE = "VALIDE"


@dataclass(frozen=True)
class DmpState:
    """What the rules need to know of a patient's DMP."""

    exists: bool = True
    closed: bool = False
    opposes_bris_de_glace: bool = False
    opposes_centre_15: bool = False


@dataclass(frozen=True)
class Decision:
    """Allowed, or refused with a reason code and a message a vendor can act on."""

    allowed: bool
    reason: str = "OK"
    message: str = ""


ALLOWED = Decision(True)


def _refused(reason: str, message: str) -> Decision:
    return Decision(False, reason, message)


def _open(dmp: DmpState, doing: str) -> Decision | None:
    if not dmp.exists:
        return _refused("DMP_ABSENT", f"the patient has no DMP: cannot {doing}")
    if dmp.closed:
        return _refused("DMP_CLOSED", f"the patient's DMP is closed: cannot {doing}")
    return None


def may_consult(dmp: DmpState, authorisation: Authorisation, access_mode: str) -> Decision:
    """Search or retrieve documents (TD3.1, TD3.2) in ``access_mode`` (VIHF purpose of use:
    normal, bris_de_glace, centre_15)."""
    refused = _open(dmp, "consult it")
    if refused:
        return refused
    if authorisation is Authorisation.INTERDIT:
        return _refused("PS_BLOCKED", "the patient has blocked this professional's access "
                        "(no access mode overrides it)")
    if access_mode == "bris_de_glace":
        return _refused("OPPOSITION_BRIS_DE_GLACE", "the patient opposed bris de glace access") \
            if dmp.opposes_bris_de_glace else ALLOWED
    if access_mode == "centre_15":
        return _refused("OPPOSITION_CENTRE_15", "the patient opposed access by the centre 15 "
                        "(regulation)") if dmp.opposes_centre_15 else ALLOWED
    if authorisation is Authorisation.VALIDE:
        return ALLOWED
    if authorisation is Authorisation.EXPIRE:
        return _refused("AUTHORISATION_EXPIRED", "the professional's authorisation has expired: "
                        "ask the patient again (TD0.3)")
    return _refused("NO_AUTHORISATION", "the professional has no authorisation on this DMP: "
                    "record the patient's consent with TD0.3 first")


def may_feed(dmp: DmpState, authorisation: Authorisation) -> Decision:
    """Add documents (TD2.1): no authorisation needed, but not when blocked or closed."""
    refused = _open(dmp, "feed it")
    if refused:
        return refused
    if authorisation is Authorisation.INTERDIT:
        return _refused("PS_BLOCKED", "the patient has blocked this professional's access")
    return ALLOWED


def may_delete(dmp: DmpState, author_id: str, caller_id: str) -> Decision:
    """Logically delete a document (TD3.3c): its author only."""
    refused = _open(dmp, "delete a document")
    if refused:
        return refused
    if author_id != caller_id:
        return _refused("NOT_AUTHOR", "only the document's author may delete it")
    return ALLOWED


def document_visible(masked: bool, author_id: str, caller_id: str) -> bool:
    """Whether a document appears to a professional: masked ones (MASQUE_PS) only to
    their author."""
    return not masked or author_id == caller_id
