"""The INSi error catalogue: every fault the simulated INSi can send.

Observed entries carry the exact texts captured on the qualification platform
(domain brief §7.2). ``INVALID_REQUEST`` and ``VERSION_MISMATCH`` are the simulator's
own (the real codes for malformed requests are not public): same structure, so a
client's fault parser is exercised, with a precise diagnostic in ``siram:Erreur``.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

_UNAVAILABLE = ("Le service est temporairement inaccessible.{sep}Veuillez renouveler votre "
                "demande ultérieurement. Si le problème persiste, contactez l'éditeur du "
                "progiciel ou votre responsable informatique.")


@dataclass(frozen=True)
class FaultSpec:
    """How one fault looks on the wire, per serialisation generation."""

    code_value: str  # SOAP 1.2 Code/Value: Sender | Receiver | VersionMismatch
    subcode: str | None  # siram_<n>
    reason: str  # Reason/Text; {sep} is a newline in the legacy generation
    erreur_code: str  # siram:Erreur/@code
    severite_legacy: str
    severite_current: str
    erreur_text: str  # default siram:Erreur text; {detail} is filled per request
    # siram:Erreur attribute order, as captured (messageID is dropped when unknown)
    attrs_legacy: tuple[str, ...] = ("code", "messageID", "severite")
    attrs_current: tuple[str, ...] = ("code", "messageID", "severite")
    http_status: int = 500
    observed: bool = True


class InsiError(Enum):
    """Catalogue of INSi faults."""

    IDAM_UNKNOWN = FaultSpec(
        "Sender", "siram_100",
        "L'accès par ce progiciel au service n'est pas autorisé. Contactez l'éditeur du "
        "progiciel ou votre responsable informatique.",
        "desir_550", "erreur", "erreur", "Numéro d'autorisation du logiciel inconnu.")
    # mTLS client certificate whose subject CN is not INSI-AUTO/INSI-MANU (domain brief
    # §2.4, §7.2): code, texts and the upper-case DESIR_560 are documented; the siram
    # subcode is not, siram_100 is inferred (the other access refusal, desir_550), as are
    # the severite and the attribute order (those of desir_550).
    ACCESS_LEVEL_INSUFFICIENT = FaultSpec(
        "Sender", "siram_100",
        "Vous ne disposez pas des droits suffisants pour accéder à ce service",
        "DESIR_560", "erreur", "erreur", "Niveau d'accès insuffisant")
    TECHNICAL_ERROR = FaultSpec(
        "Receiver", "siram_40", _UNAVAILABLE, "insi_102", "fatal", "fatale",
        # Captured with the apostrophes replaced by spaces.
        "L appel au service de recherche avec les traits d identité renvoie une erreur "
        "technique.",
        attrs_legacy=("severite", "code"), attrs_current=("code", "severite", "messageID"))
    SERVICE_UNAVAILABLE = FaultSpec(
        "Sender", "siram_40", _UNAVAILABLE, "desir_1020", "fatale", "fatale",
        "Le service appelé est temporairement indisponible",
        attrs_legacy=("code", "severite", "messageID"),
        attrs_current=("code", "severite", "messageID"))
    INVALID_REQUEST = FaultSpec(
        "Sender", "siram_30",
        "La requête n'est pas conforme au contrat du service. Contactez l'éditeur du "
        "progiciel ou votre responsable informatique.",
        "insi_400", "erreur", "erreur", "{detail}", observed=False)
    VERSION_MISMATCH = FaultSpec(
        "VersionMismatch", None,
        "Version SOAP non supportée : le service attend SOAP 1.2.",
        "insi_400", "erreur", "erreur", "{detail}", observed=False)

    @property
    def spec(self) -> FaultSpec:
        """The wire description of this fault."""
        return self.value


def insi_fault(name: str) -> InsiError | None:
    """A catalogue entry by name (``TECHNICAL_ERROR``) or by its ``siram:Erreur`` code
    (``insi_102``); None when unknown."""
    if name in InsiError.__members__:
        return InsiError[name]
    return next((e for e in InsiError if e.spec.erreur_code == name and e.spec.observed), None)
