"""What each simulated service offers to scenarios: versions, operations, faults.

Scenario files are checked against this table, so that a misspelt operation or fault
is refused when the scenario is loaded, not silently never matched.
"""
from __future__ import annotations

from dataclasses import dataclass

from simulator.services.dmp.faults import FAULT_NAMES as DMP_FAULTS
from simulator.services.insi.contract import OP_TRAITS, OP_VITALE
from simulator.services.insi.errors import InsiError


@dataclass(frozen=True)
class ServiceInfo:
    """A service as scenarios see it."""

    name: str
    versions: tuple[str, ...]
    operations: tuple[str, ...] | None  # None: not simulated yet, any name accepted
    faults: tuple[str, ...]


def _insi_faults() -> tuple[str, ...]:
    names = [e.name for e in InsiError]
    names += [e.spec.erreur_code for e in InsiError if e.spec.observed]
    return tuple(names)


# As the DMP endpoints name them (simulator/services/dmp/v2/*.py OPERATIONS).
DMP_OPERATIONS = (
    "PRPA_IN201307UV02", "PRPA_IN201311UV02", "PRPA_IN201314UV02",  # patients (HL7 v3)
    "setAuthorization", "listAuthorizationByPatient", "patientList",  # DMP-specific
    "identityCertification",  # patientCertif (TD0.0)
    "ProvideAndRegisterDocumentSet-b", "RetrieveDocumentSet",  # repository
    "RegistryStoredQuery", "UpdateDocumentSet",  # registry
)

SERVICES = {
    "insi": ServiceInfo("insi", (), (OP_TRAITS, OP_VITALE), _insi_faults()),
    "dmp": ServiceInfo("dmp", ("v1", "v2"), DMP_OPERATIONS, DMP_FAULTS),
}
