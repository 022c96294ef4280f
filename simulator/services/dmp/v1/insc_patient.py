"""The patient an API v1 call names by INS-C, as the DMP knows them: by their INS.

One patient has one DMP, keyed by the INS (:mod:`simulator.store.dmp`). A v1 client
names the patient by the INS-C it computed from the Vitale card (DMP.md §3.1); the
simulator gives every identity of its registry a stable INS-C
(:mod:`simulator.identities.insc`), so the INS-C leads to the identity, and the
identity's active matricule to the DMP, whichever API version created it.
"""
from __future__ import annotations

from simulator.identities.insc import is_valid_insc
from simulator.ports.identities import IdentityLookup


class UnknownInsc(ValueError):
    """The INS-C is malformed or no identity of the registry has it; the message says
    what to check."""


def ins_of_insc(store: IdentityLookup, insc: str) -> tuple[str, str]:
    """(INS, OID) of the identity whose INS-C is ``insc``: its active 15-character
    matricule and that matricule's OID. Raises :class:`UnknownInsc`."""
    if not is_valid_insc(insc):
        raise UnknownInsc(f"{insc!r} is not an INS-C: 22 digits, the last two the key of the "
                          "first twenty (97 - body mod 97)")
    identity = store.identity_by_insc(insc)
    if identity is None:
        raise UnknownInsc(f"no patient of the national identity repository has the INS-C "
                          f"{insc}: check how it was computed from the Vitale card (ouvrant-"
                          "droit NIR, first name, birth date); the simulator's INS-C of each "
                          "identity is listed by GET /_admin/identities")
    return identity.active.ins, identity.active.oid
