"""JSON encoding of identities for the store (and the admin API)."""
from __future__ import annotations

import dataclasses
import json

from simulator.identities.model import Identity, Matricule


def identity_to_dict(identity: Identity) -> dict:
    """A plain, JSON-ready dict of an identity."""
    data = dataclasses.asdict(identity)
    data["first_names"] = list(identity.first_names)
    data["history"] = [dataclasses.asdict(m) for m in identity.history]
    return data


def identity_from_dict(data: dict) -> Identity:
    """The inverse of :func:`identity_to_dict`."""
    values = dict(data)
    values["first_names"] = tuple(values["first_names"])
    values["active"] = Matricule(**values["active"])
    values["history"] = tuple(Matricule(**m) for m in values.get("history", ()))
    cnam = dict(values.get("cnam_traits") or {})
    if "first_names" in cnam:
        cnam["first_names"] = tuple(cnam["first_names"])
    values["cnam_traits"] = cnam
    return Identity(**values)


def identity_to_json(identity: Identity) -> str:
    """Compact JSON of an identity."""
    return json.dumps(identity_to_dict(identity), ensure_ascii=False, separators=(",", ":"))


def identity_from_json(text: str) -> Identity:
    """The inverse of :func:`identity_to_json`."""
    return identity_from_dict(json.loads(text))
