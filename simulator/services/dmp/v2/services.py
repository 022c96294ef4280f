"""The DMP v2 services and where they are mounted."""
from __future__ import annotations

from simulator.services.dmp.binding import DmpBinding
from simulator.services.dmp.call import DmpContext
from simulator.services.dmp.v2 import (
    habilitations, patients, patients_pdq, patients_specific, registry, repository)
from simulator.services.dmp.v2.dated_wsdl import DatedWsdlBinding
from simulator.services.dmp.v2.patient_certif import OPERATIONS as TD00, PatientCertifService

BASE_PATH = "/si-dmp-server/v2/services"


def v2_bindings(context: DmpContext) -> dict[str, DmpBinding]:
    """{path: binding} of every DMP v2 service simulated."""
    bindings = [
        DmpBinding("patients", patients.PatientsService, patients.OPERATIONS, context,
                   "patients.wsdl"),
        DmpBinding("habilitations", habilitations.HabilitationsService,
                   habilitations.OPERATIONS, context, "habilitations.wsdl"),
        DatedWsdlBinding("patientsSpecific", patients_specific.PatientsSpecificService,
                         patients_specific.OPERATIONS, context, "patientsSpecific.wsdl"),
        DmpBinding("repository", repository.RepositoryService, repository.OPERATIONS, context,
                   "repository.wsdl"),
        DmpBinding("registry", registry.RegistryService, registry.OPERATIONS, context,
                   "registry.wsdl"),
        DmpBinding("patientCertif", PatientCertifService, TD00, context, "patientCertif.wsdl"),
        DmpBinding("patientsPDQ", patients_pdq.PatientsPdqService, patients_pdq.OPERATIONS,
                   context, "patientsPDQ.wsdl"),
    ]
    return {f"{BASE_PATH}/{binding.service}": binding for binding in bindings}
