"""Checks on the INSi SOAP headers (ContexteLPS, ContexteBAM, IDAM, action) and on the
caller's TLS client certificate.

Each problem raises the catalogue fault with a message that names the element and
what was expected; the XSD rules come from ROOT_ctxlps_CTXLPS_V01_00.xsd and
ROOT_ctxbam_CTXBAM_V01_02.xsd (domain brief §4).
"""
from __future__ import annotations

import re
from datetime import datetime

from simulator.services.insi.contexts import contexts_of, text_of
from simulator.services.insi.contract import LPS_IDAM, NS_CTXBAM, NS_CTXLPS, action_of
from simulator.services.insi.errors import InsiError
from simulator.soap.errors import ServiceFault
from simulator.soap.parsing import SoapRequest

# CNDA software authorisation numbers seen: 12 letters and digits (PDP17NF21DD0).
IDAM_PATTERN = re.compile(r"^[A-Z0-9]{12}$")
# Subject CNs of the organisation certificates INSi accepts in mTLS (domain brief §2.4).
INSI_CERTIFICATE_CNS = ("INSI-AUTO", "INSI-MANU")
_DATETIME = re.compile(r"^-?\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


def invalid(detail: str) -> ServiceFault:
    """The simulator's INVALID_REQUEST fault with a precise diagnostic."""
    return ServiceFault(InsiError.INVALID_REQUEST, detail=detail)


def check_action(request: SoapRequest, operation: str) -> None:
    """wsa:Action (or the Content-Type action) must name the body's operation."""
    expected = action_of(operation)
    if request.action is not None and request.action != expected:
        raise invalid(f"Action {request.action!r} does not match the body element "
                      f"{request.body_element.tag}; expected {expected!r}")


def check_client_certificate(certificate: dict | None) -> None:
    """A verified client certificate must have the subject CN INSI-AUTO or INSI-MANU
    (exactly), else DESIR_560. Without one (plain HTTP, no client auth) nothing is
    checked."""
    if not certificate:
        return
    names = [value for rdn in certificate.get("subject", ()) for key, value in rdn
             if key == "commonName"]
    if len(names) != 1 or names[0] not in INSI_CERTIFICATE_CNS:
        raise ServiceFault(InsiError.ACCESS_LEVEL_INSUFFICIENT)


def check_headers(request: SoapRequest, authorised_idams: tuple[str, ...]) -> None:
    """Validate ContexteLPS and ContexteBAM, and that the calling software is authorised."""
    contexts = contexts_of(request)
    if contexts.lps is None:
        raise invalid(f"Header ContexteLPS ({NS_CTXLPS}) is missing")
    _check_context(contexts.lps, contexts.lps_children, "ContexteLPS", NS_CTXLPS, "CTXLPS",
                   "01_00")
    if contexts.bam is None:
        raise invalid(f"Header ContexteBAM ({NS_CTXBAM}) is missing")
    _check_context(contexts.bam, contexts.bam_children, "ContexteBAM", NS_CTXBAM, "CTXBAM",
                   "01_02")
    if contexts.bam_element(f"{{{NS_CTXBAM}}}COUVERTURE") is None:
        raise invalid("ContexteBAM/COUVERTURE is missing: it is required, and empty "
                      "(<COUVERTURE/>) for a search by traits")
    _check_idam(contexts.software_element(LPS_IDAM[1]), authorised_idams)


def _check_context(element, children: dict, label: str, ns: str, nature: str,
                   version: str) -> None:
    if not element.get("Version"):
        raise invalid(f"{label}/@Version is missing (expected {version!r})")
    if element.get("Nature") not in (None, nature):
        raise invalid(f"{label}/@Nature must be {nature!r}, got {element.get('Nature')!r}")
    if not (text_of(children.get(f"{{{ns}}}Id")) or "").strip():
        raise invalid(f"{label}/Id is missing or empty (a UUID is expected)")
    temps = (text_of(children.get(f"{{{ns}}}Temps")) or "").strip()
    if not temps:
        raise invalid(f"{label}/Temps is missing (an xs:dateTime is expected)")
    if not _DATETIME.match(temps) or not _parses(temps):
        raise invalid(f"{label}/Temps {temps!r} is not an xs:dateTime "
                      "(e.g. 2023-09-26T08:51:16.840Z)")


def _parses(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _check_idam(idam_element, authorised: tuple[str, ...]) -> None:
    idam = (idam_element.text or "").strip() if idam_element is not None else ""
    kind = idam_element.get("R") if idam_element is not None else None
    if authorised:
        known = idam in authorised
    else:
        known = bool(IDAM_PATTERN.match(idam)) and kind in (None, "4", "04")
    if not known:
        raise ServiceFault(InsiError.IDAM_UNKNOWN)
