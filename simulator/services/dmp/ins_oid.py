"""Which INS OID may name which patient on the simulated platform (brief §3.2).

"The OID must match the Vitale card / identity type (real → real OID, test card → test
OID, demo card → demo OID)" [brief §3.2, S6 DMPCContext]. The identity's type is what
the identity registry (the one INSi answers from) holds for its matricule:

- a NIR-based INS is named under the INS-NIR OID of the platform: the test OID
  ``1.2.250.1.213.1.4.10`` on the test platform (the clients that work against it,
  DRIMbox and the ANS kit, send it, brief §2.2), the production OID ``.8`` on the
  production one (``SIM_DMP_PLATFORM``); the registry may hold either for a NIR
  (the CNDA persons have ``.8``, as the qualification INSi answers);
- a NIA only under the INS-NIA OID ``.9``;
- the demonstration OID ``.11`` only for a demonstration identity (an identity file's
  ``oid: demo``, brief §3.2: "démonstration, not test").

An INS the registry does not know (TD1.1 refuses it later, as ``DMPUnknownINS``) cannot
be typed: NIR and NIA share one layout (``simulator.identities.nir``). It may be named
under the platform's INS-NIR OID or the NIA OID; never under the other platform's
INS-NIR OID nor the demonstration one. API v1 names patients by INS-C and is not
concerned (:func:`simulator.services.dmp.vihf.identifier_refusal`).

Inferred (the brief gives the rule, not the platform's answer): the carrier of each
refusal (docs/dmp.md, "The INS OID"), and that the demonstration OID is kept on both
platforms. ``SIM_DMP_INS_OID_CHECK=false`` turns the rule off.
"""
from __future__ import annotations

from simulator.identities.model import (
    OID_INS_NIA, OID_INS_NIR, OID_INS_NIR_DEMO, OID_INS_NIR_TEST)
from simulator.ports.identities import IdentityLookup

NIR, NIA, DEMO = "NIR", "NIA", "demonstration"
_KIND_OF_OID = {OID_INS_NIR: NIR, OID_INS_NIR_TEST: NIR, OID_INS_NIA: NIA,
                OID_INS_NIR_DEMO: DEMO}
PLATFORM_NIR_OID = {"test": OID_INS_NIR_TEST, "production": OID_INS_NIR}
_WHAT = {NIR: "a NIR-based INS in the identity registry",
         NIA: "a NIA in the identity registry",
         DEMO: "a demonstration identity in the identity registry"}
_LABELS = {OID_INS_NIR: "INS-NIR production", OID_INS_NIR_TEST: "INS-NIR test",
           OID_INS_NIA: "INS-NIA", OID_INS_NIR_DEMO: "INS-NIR démonstration"}


def identity_kind(store: IdentityLookup, ins: str) -> str | None:
    """NIR, NIA or demonstration: the type of the identity whose matricule (active or
    former) is the first 13 characters of ``ins``, or None when the registry does not
    know it."""
    number = ins[:13]
    for identity in store.identities_by_matricule(number, ("active", "history")):
        for matricule in (identity.active, *identity.history):
            if matricule.number == number and matricule.oid in _KIND_OF_OID:
                return _KIND_OF_OID[matricule.oid]
    return None


def allowed_oids(kind: str | None, platform: str) -> tuple[str, ...]:
    """The OIDs that may name an identity of type ``kind`` (None: unknown) on
    ``platform`` (test or production)."""
    nir = PLATFORM_NIR_OID[platform]
    return {NIR: (nir,), NIA: (OID_INS_NIA,), DEMO: (OID_INS_NIR_DEMO,)}.get(
        kind, (nir, OID_INS_NIA))


def oid_refusal(kind: str | None, ins: str, oid: str, platform: str) -> str | None:
    """Why ``oid`` may not name the INS ``ins`` of type ``kind`` on ``platform``, or
    None when it may. One wording for the VIHF, HL7 and XDS refusals."""
    allowed = allowed_oids(kind, platform)
    if oid in allowed or oid not in _LABELS:
        return None  # other OIDs are the API version's business (identifier_refusal)
    expected = " or ".join(f"{o} ({_LABELS[o]})" for o in allowed)
    what = _WHAT.get(kind, "unknown to the identity registry")
    return (f"the INS {ins} is {what}: on the {platform} platform (SIM_DMP_PLATFORM) it is "
            f"named under {expected}, not {oid} ({_LABELS[oid]})")


class InsOidRule:
    """The rule bound to one call: the simulator's store, platform and whether it is
    on. Each INS is looked up once (a feed names it on every entry)."""

    def __init__(self, store: IdentityLookup, platform: str, enabled: bool = True):
        self.store, self.platform, self.enabled = store, platform, enabled
        self._kinds: dict[str, str | None] = {}

    def refusal(self, ins: str, oid: str) -> str | None:
        """Why ``oid`` may not name ``ins`` here, or None."""
        if not self.enabled or oid not in _LABELS:
            return None
        if ins not in self._kinds:
            self._kinds[ins] = identity_kind(self.store, ins)
        return oid_refusal(self._kinds[ins], ins, oid, self.platform)
