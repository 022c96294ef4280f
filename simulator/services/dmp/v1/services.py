"""The DMP API v1 services and where they are mounted.

v1 had the ``patients``, ``habilitations``, ``registry`` and ``repository`` services
(DMP.md §1.1; no ``patientsSpecific`` nor ``patientCertif``). Each is the v2 service
with a v1 :class:`~simulator.services.dmp.call.DmpContext`: one implementation per
transaction, the version deciding the patient identifier (the INS-C), the timeline
gate (open, grace, closed) and the INS kind counted for feeds. The WSDLs are the v2
files, served with the v1 address.
"""
from __future__ import annotations

from simulator.services.dmp.binding import DmpBinding
from simulator.services.dmp.call import DmpContext
from simulator.services.dmp.v2 import habilitations, patients, registry, repository

BASE_PATH = "/si-dmp-server/v1/services"
SERVICES = ("patients", "habilitations", "registry", "repository")


def v1_bindings(context: DmpContext) -> dict[str, DmpBinding]:
    """{path: binding} of every DMP v1 service simulated; ``context.version`` must be
    ``"v1"``."""
    if context.version != "v1":
        raise ValueError(f"the v1 services need a v1 DmpContext, got {context.version!r}")
    bindings = [
        DmpBinding("patients", patients.PatientsService, patients.OPERATIONS, context,
                   "patients.wsdl"),
        DmpBinding("habilitations", habilitations.HabilitationsService,
                   habilitations.OPERATIONS, context, "habilitations.wsdl"),
        DmpBinding("registry", registry.RegistryService, registry.OPERATIONS, context,
                   "registry.wsdl"),
        DmpBinding("repository", repository.RepositoryService, repository.OPERATIONS, context,
                   "repository.wsdl"),
    ]
    return {f"{BASE_PATH}/{binding.service}": binding for binding in bindings}
