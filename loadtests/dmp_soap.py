"""The SOAP side of DMP requests for the load test: who calls and about whom, and the
requests of TD0.2, TD1.1 and TD0.3, built with the simulator's client kit
(:mod:`simulator.kit`: VIHF, envelope, HL7 v3 and habilitations bodies, signing).

The kit is installed with the simulator (``pip install insi-dmp-simulator``); the
requests it builds are the real platform's, so the load test still runs against any
DMP-compatible platform. Kit modules are imported at the first DMP request, not at
import: work done before Locust starts makes its run-time limit fire early (gevent's
loop time is not updated across a long blocking call), which INSi-only runs would
suffer too. The builders take a ``dmp_load.Session`` (caller, host, platform clock).
"""
from __future__ import annotations

import functools
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from soapload import env_path

if TYPE_CHECKING:
    from dmp_load import Session

BASE_PATH = env_path("DMP_BASE_PATH", "/si-dmp-server/v2/services")
V1_BASE_PATH = env_path("DMP_V1_BASE_PATH", "/si-dmp-server/v1/services")
STRUCTURE = os.environ.get("DMP_STRUCTURE", "10B0167011")
SOFTWARE = os.environ.get("DMP_SOFTWARE", "insi-dmp-sim-loadtest")
VERSION = os.environ.get("DMP_VERSION", "1.0")
HOMOLOGATION = os.environ.get("DMP_HOMOLOGATION", "LOADTEST-0001")
LPS_OID = os.environ.get("DMP_LPS_OID", "1.2.250.1.999.1.1.4242")

HL7 = "urn:hl7-org:v3"
HABILITATIONS = "urn:si-dmp-habilitations"
PS_ROOT, STRUCTURE_ROOT = "1.2.250.1.71.4.2.1", "1.2.250.1.71.4.2.2"


@dataclass(frozen=True)
class Patient:
    """A person of the identity registry, with the INS (and OID) INSi gives them."""

    label: str
    weight: int
    ins: str
    oid: str
    birth_name: str
    first_names: tuple[str, ...]
    sex: str
    born: str                              # YYYY-MM-DD

    @property
    def cx(self) -> str:
        """The XDS patientId and VIHF resource-id, ``INS^^^&OID&ISO^NH`` (§5.1)."""
        return f"{self.ins}^^^&{self.oid}&ISO^NH"


@dataclass(frozen=True)
class Caller:
    """The VIHF subject: a hospital EAI (indirect authentication, signed VIHF) or a
    physician at the hospital's DPI (AIR, INDIRECTE_RENFORCEE)."""

    name_id: str
    subject: str
    auth_mode: str
    ps_id: str                             # PS idNat of the responsible physician


@dataclass(frozen=True)
class DmpRequest:
    """What to POST: the service path segment, the Content-Type and the bytes, and the
    services path when it is not the v2 one (API v1)."""

    service: str
    content_type: str
    body: bytes
    base_path: str = BASE_PATH


def dtm(moment: datetime) -> str:
    """An XDS / HL7 date-time in UTC, ``YYYYMMDDhhmmss``."""
    return moment.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


def escape_text(value: str) -> str:
    """Character data as canonical XML writes it."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@functools.cache
def signer():
    """Who signs the VIHFs and lot signatures: the key and certificate of
    ``DMP_SIGNING_KEY`` and ``DMP_SIGNING_CERT`` (PEM files, e.g. ``org-sign-key.pem``
    and ``org-sign-cert.pem`` of ``insi-dmp-sim certs``), else a self-signed certificate
    made at the first DMP request (accepted while the platform judges no chain; 1024
    bits: made inside the timed run, where a 2048-bit key takes tenths of a second on a
    loaded machine, and the wire, RSA-SHA1/SHA256, is the same)."""
    from simulator.kit import signing
    key, certificate = os.environ.get("DMP_SIGNING_KEY"), os.environ.get("DMP_SIGNING_CERT")
    if key and certificate:
        return signing.signer_of(key, certificate)
    return signing.self_signed("LOADTEST ORG-SIGN", key_size=1024)


def issue_instant(session: Session) -> str:
    """The platform's now as the VIHF IssueInstant (milliseconds, ``Z``)."""
    instant = session.clock.now()
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def vihf_options(session: Session, patient: Patient | None, oid: str | None = None) -> dict:
    """The options of :func:`simulator.kit.vihf.vihf` for the session's caller (§4.2):
    its mode, NameID and subject, the structure and software, the patient."""
    caller = session.caller
    return {"user": caller.name_id, "auth_mode": caller.auth_mode, "subject": caller.subject,
            "structure": STRUCTURE, "software": SOFTWARE, "software_version": VERSION,
            "homologation": HOMOLOGATION, "lps_id": LPS_OID,
            "sector": "SA01^1.2.250.1.71.4.2.4", "signer": signer(),
            "patient": patient.ins if patient else None,
            "oid": oid or (patient.oid if patient else ""),
            "issuer": f"CN={SOFTWARE},OU={STRUCTURE},O=LOADTEST,C=FR",
            "authn_context": "TLSClient" if caller.auth_mode == "INDIRECTE" else "Password"}


def envelope_options(session: Session, patient: Patient | None, base_path: str = BASE_PATH,
                     oid: str | None = None) -> dict:
    """The options of :func:`simulator.kit.soap.envelope` for this session and patient."""
    return dict(vihf_options(session, patient, oid), issue_instant=issue_instant(session),
                host=session.host.rstrip("/"), base_path=base_path)


def soap_request(session: Session, patient: Patient | None, service: str, action: str,
                 body: str, base_path: str = BASE_PATH, oid: str | None = None) -> DmpRequest:
    """A plain SOAP 1.2 request (``application/soap+xml`` with its action) to ``service``."""
    from simulator.kit import soap
    raw = soap.envelope(body, action=action, service=service,
                        **envelope_options(session, patient, base_path, oid))
    return DmpRequest(service, f'application/soap+xml; charset=utf-8; action="{action}"', raw,
                      base_path)


def _wrapper(session: Session) -> dict:
    """The HL7 v3 transmission wrapper values of this session (§2.2)."""
    return {"message_id": str(uuid.uuid4()), "message_root": LPS_OID,
            "creation_time": dtm(session.clock.now()), "sender_oid": LPS_OID,
            "sender_name": SOFTWARE}


def existence_request(session: Session, patient: Patient, base_path: str = BASE_PATH
                      ) -> DmpRequest:
    """TD0.2: PRPA_IN201307UV02 TEST_EXST for the patient's INS (or INS-C on API v1)."""
    from simulator.kit import hl7
    body = hl7.query(ins=patient.ins, ins_oid=patient.oid, query_id=str(uuid.uuid4()),
                     **_wrapper(session)).decode()
    return soap_request(session, patient, "patients", "urn:hl7-org:v3:PRPA_IN201307UV02", body,
                        base_path)


def create_request(session: Session, patient: Patient) -> DmpRequest:
    """TD1.1: PRPA_IN201311UV02 CREA_RD with the INSi traits and the patient's consent."""
    from simulator.kit import hl7
    from simulator.services.dmp.records import PatientTraits
    traits = PatientTraits(birth_name=patient.birth_name, given_names=" ".join(
        patient.first_names), sex=patient.sex, birth_date=patient.born)
    body = hl7.create(ins=patient.ins, ins_oid=patient.oid, traits=traits, vitale=None,
                      consent=True, **_wrapper(session)).decode()
    return soap_request(session, patient, "patients", "urn:hl7-org:v3:PRPA_IN201311UV02", body)


def authorise_request(session: Session, patient: Patient, base_path: str = BASE_PATH,
                      oid: str | None = None) -> DmpRequest:
    """TD0.3: setAuthorization AJOUT; the patient is the VIHF's resource-id (§1.2)."""
    from simulator.kit import habilitations
    return soap_request(session, patient, "habilitations", habilitations.SET_AUTHORIZATION,
                        habilitations.set_authorization("AJOUT"), base_path, oid)
