"""A client kit for vendors: build the requests the simulator (and the real platforms)
expect, instead of copying the simulator's tests. docs/kit.md has worked examples.

Modules (each imported only when used, so a server that never builds requests does not
pay for them; ``signing`` needs ``cryptography``, installed with the simulator):

* :mod:`simulator.kit.insi`: the INSi headers (ContexteBAM, ContexteLPS, WS-Addressing),
  traits and Vitale-card searches, and the same headers for zeep.
* :mod:`simulator.kit.vihf`: the VIHF of each authentication mode (DIRECTE, INDIRECTE,
  INDIRECTE_RENFORCEE) and access mode (normal, bris de glace, centre 15).
* :mod:`simulator.kit.soap`: the DMP SOAP 1.2 + WS-Addressing envelope around a body.
* :mod:`simulator.kit.hl7`: ``patients`` bodies: TD0.2, TD1.1 to TD1.4, TD0.5 (PDQ).
* :mod:`simulator.kit.habilitations`: TD0.3 ``setAuthorization`` and its lists.
* :mod:`simulator.kit.patient_certif`: TD0.0 ``identityCertification`` (removed in 2023).
* :mod:`simulator.kit.xds`: TD2.1 (ITI-41: CDA, XAdES lot signature, MTOM), TD3.2 (ITI-43).
* :mod:`simulator.kit.registry`: TD3.1 stored queries (ITI-18), TD3.3 updates (ITI-57).
* :mod:`simulator.kit.signing`: XML signatures with the test PKI or your own key.

Example: ``from simulator.kit import hl7, soap`` (see each module's docstring).
"""
from __future__ import annotations

import importlib

__all__ = ["habilitations", "hl7", "insi", "patient_certif", "registry", "signing", "soap",
           "vihf", "xds"]


def __getattr__(name: str):
    # ``simulator.kit.hl7`` etc. on first access (PEP 562), not at ``import simulator.kit``.
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
