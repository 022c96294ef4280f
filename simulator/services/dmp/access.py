"""Who may do what on a DMP: the access rules, as plain functions.

From the DMP issue and brief (§4.1, §6.2): consulting needs a valid authorisation, or
the bris de glace / centre 15 access modes unless the patient opposed them; a
professional the patient blocked never gets in, whatever the mode; feeding needs no
authorisation; a closed DMP refuses feeds and consultation; only its author deletes a
document; masked documents are hidden from professionals other than their author.
Refusals carry a reason code; which error carrier each transaction uses (HL7
acknowledgement, XDS RegistryError, DMP status) is the service's business.

The authentication mode of the VIHF (brief §4.1) decides which transactions a caller
may use at all: :func:`mode_allows`, with the table :data:`TRANSACTIONS` (docs/dmp.md,
"Authentication modes", gives each entry's source).
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


DIRECTE, INDIRECTE, AIR = "DIRECTE", "INDIRECTE", "INDIRECTE_RENFORCEE"

# Every transaction the simulator serves, by its TD label (brief §2.1), in v2 and v1.
TRANSACTIONS = {
    "TD0.0": "identity certification (patientCertif identityCertification)",
    "TD0.2": "test of existence (patients PRPA_IN201307UV02 TEST_EXST)",
    "TD0.3": "add or remove an authorisation (habilitations setAuthorization)",
    "TD0.4": "list of the accessible DMPs (patientsSpecific patientList)",
    "TD0.5": "search of a patient's DMP without INS (patientsPDQ PRPA_IN201305UV02)",
    "TD1.1": "DMP creation (patients PRPA_IN201311UV02 CREA_RD)",
    "TD1.2": "DMP reactivation (patients PRPA_IN201314UV02 REAC)",
    "TD1.3a": "reading the administrative data (patients PRPA_IN201307UV02 CNSLT_DATA)",
    "TD1.3b": "updating the administrative data (patients PRPA_IN201314UV02 MODIF_DATA)",
    "TD1.4": "DMP closure (patients PRPA_IN201314UV02 FERM)",
    "TD1.5a": "creating the patient's web access (patientsSpecific createPatientAccess)",
    "TD1.5b": "changing the web access's OTP channels (patientsSpecific patientOTPUpdate)",
    "TD1.5c/d": "new codes for the patient's web access (patientsSpecific "
                "updatePatientAccess)",
    "TD1.6": "list of the authorised or blocked professionals (habilitations "
             "listAuthorizationByPatient)",
    "TD2.1": "feeding documents (repository ITI-41)",
    "TD3.1a": "searching documents (registry ITI-18, every query but TD3.1b's)",
    "TD3.1b": "finding a document's entryUUID from its uniqueId (registry ITI-18 "
              "GetDocuments by $XDSDocumentEntryUniqueId, returnType ObjectRef)",
    "TD3.2": "retrieving documents (repository ITI-43)",
    "TD3.3": "updating one's own documents' metadata or status (registry ITI-57)",
}
# Indirect authentication "ne permet que l'alimentation ... et pas la consultation"
# (brief §4.1, S4); TD3.1b exists for LPS without consultation, indirect outside AIR
# among them (brief §2.5, S3 td3.1b). The other transactions are the settings' choice.
CONSULTATION = ("TD3.1a", "TD3.2")


def mode_allows(auth_mode: str, transaction: str, indirect_denied) -> Decision:
    """Whether the VIHF authentication mode ``auth_mode`` (DIRECTE, INDIRECTE,
    INDIRECTE_RENFORCEE) may use ``transaction`` (a :data:`TRANSACTIONS` label).

    DIRECTE (CPS) and INDIRECTE_RENFORCEE (AIR, which "allows DMP consultation from the
    DPI without CPS", brief §4.1) may use every transaction; INDIRECTE every one except
    those of ``indirect_denied`` (by default :data:`CONSULTATION`, ``SIM_DMP_INDIRECT_DENIED``).
    """
    if transaction not in TRANSACTIONS:
        raise ValueError(f"unknown DMP transaction {transaction!r}")
    if auth_mode == INDIRECTE and transaction in indirect_denied:
        return _refused("AUTH_MODE", f"{transaction}, {TRANSACTIONS[transaction]}, is not "
                        "open to indirect authentication: Authentification_Mode INDIRECTE "
                        "allows feeding, not consultation; use INDIRECTE_RENFORCEE (AIR) or "
                        "DIRECTE with a CPS card"
                        + ("; to find a document's entryUUID, use TD3.1b (GetDocuments by "
                           "$XDSDocumentEntryUniqueId, returnType ObjectRef)"
                           if transaction == "TD3.1a" else ""))
    return ALLOWED


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
