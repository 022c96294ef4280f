"""Requests and answer checks shared by the hostile-input tests.

Every SOAP endpoint of the simulator (INSi, the DMP v2 services with TD0.0, the DMP v1
services) with a request it answers in-band, the checks every answer to a hostile
request must pass (bounded, fast, SOAP 1.2 in the service's dialect, no traceback), and
"the endpoint still answers a valid request". Requests come from the tests' builders
(``envelopes`` for INSi, ``simulator.kit`` for the DMP).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from lxml import etree
from werkzeug.test import Client

from simulator.kit import hl7, registry
from dmp_builders.client import IN_BAND_REQUESTS
from simulator.kit.soap import ADRUN, SOAP_CT, envelope
from envelopes import traits_request
from simulator.identities.insc import insc_of
from simulator.soap.parsing import safe_parser

# API v1 and TD0.0 are still open on this date (the timeline closes v1 on 2022-12-31),
# so every endpoint answers a valid request in-band.
NOW = "2022-12-10T09:00:00Z"
SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
SIRAM = "urn:siram"
XOP = "http://www.w3.org/2004/08/xop/include"
INS_C_OID = "1.2.250.1.213.1.4.2"
INSI = "/lps"
V2 = "/si-dmp-server/v2/services"
V1 = "/si-dmp-server/v1/services"
ENDPOINTS = [INSI] + [f"{V2}/{s}" for s in ("patients", "habilitations", "patientsSpecific",
                                             "registry", "repository", "patientCertif")] \
    + [f"{V1}/{s}" for s in ("patients", "habilitations", "registry", "repository")]
# Generous bounds for every answer to a hostile request (typical: under 1 KB, a few ms
# of CPU). The time is the CPU the app spent in this thread, not wall-clock time, which
# a busy machine stretches at will.
MAX_ANSWER_BYTES = 16 * 1024
MAX_CPU_SECONDS = 2.0

@dataclass
class Timed:
    """A response and the CPU time the app spent giving it (this thread's)."""

    response: object
    cpu_seconds: float


class Wire:
    """A werkzeug client of one simulator app, with a valid request for every endpoint."""

    def __init__(self, app):
        self.app = app
        self.http = Client(app)
        identity = app.simulator.store.identities_by_matricule(ADRUN[:13], ("active",))[0]
        self.insc = insc_of(identity)  # ADRUN Zoé's INS-C, her identifier in API v1

    def valid(self, path: str) -> bytes:
        """A request ``path`` answers in-band (HTTP 200)."""
        if path == INSI:
            return traits_request("ADRUN", "ZOE", "F", "1975-12-31")
        version, service = path.split("/")[2], path.rsplit("/", 1)[1]
        body, action, _, options = IN_BAND_REQUESTS[service]
        patient, oid = (self.insc, INS_C_OID) if version == "v1" else (ADRUN, None)
        if service == "patients":
            body = (hl7.query(ins=patient, ins_oid=oid) if oid else hl7.query()).decode()
        elif service == "registry":
            body = registry.find_documents(f"{patient}^^^&{oid}&ISO^NH" if oid else None)
        if oid and "patient" not in options:
            options = {**options, "patient": patient, "oid": oid}
        raw = envelope(body, action=action, service=service, issue_instant=NOW, **options)
        return raw.replace(f"{V2}/".encode(), f"/si-dmp-server/{version}/services/".encode())

    def post(self, path: str, body: bytes, content_type: str | None = SOAP_CT,
             headers: dict | None = None) -> Timed:
        """POST ``body`` to ``path``, with the CPU time it cost."""
        started = time.thread_time()
        response = self.http.post(path, data=body, content_type=content_type,
                                  headers=headers or {})
        return Timed(response, time.thread_time() - started)

    def assert_still_serving(self, path: str) -> None:
        """``path`` answers its valid request with HTTP 200 and the expected reply."""
        response = self.http.post(path, data=self.valid(path), content_type=SOAP_CT)
        assert response.status_code == 200, response.data[:600]
        root = etree.fromstring(response.data, safe_parser())
        if path == INSI:
            assert root.findtext(".//{http://www.cnamts.fr/INSiResultat}CodeCR") == "00"
        else:
            reply_action = IN_BAND_REQUESTS[path.rsplit("/", 1)[1]][2]
            assert root.findtext(f"{{{SOAP}}}Header/{{{WSA}}}Action") == reply_action


@dataclass
class Fault:
    """A SOAP 1.2 fault as the tests read it: code, subcode and the diagnostic (INSi's
    siram:Erreur, the DMP's Reason)."""

    code: str
    subcode: str | None
    message: str


def assert_not_a_crash(response) -> str:
    """No traceback, no HTML, no bare server error: return the body as text."""
    text = response.data.decode("utf-8", errors="replace")
    assert "Traceback" not in text and 'File "' not in text, text[:600]
    assert "<html" not in text.lower(), text[:600]
    assert not response.headers.get("Content-Type", "").startswith("text/html")
    return text


def fault_of(timed: Timed, path: str, status: int = 500) -> Fault:
    """The fault answering a hostile request, after the checks every such answer
    passes: HTTP status, bounded size and time, SOAP 1.2 media type and envelope."""
    response = timed.response
    assert_not_a_crash(response)
    assert response.status_code == status, response.data[:600]
    assert len(response.data) <= MAX_ANSWER_BYTES, len(response.data)
    assert timed.cpu_seconds < MAX_CPU_SECONDS, timed.cpu_seconds
    assert response.headers["Content-Type"].split(";")[0] == "application/soap+xml"
    root = etree.fromstring(response.data, safe_parser())
    assert root.tag == f"{{{SOAP}}}Envelope"
    fault = root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None, response.data[:600]
    code = fault.findtext(f"{{{SOAP}}}Code/{{{SOAP}}}Value")
    subcode = fault.findtext(f"{{{SOAP}}}Code/{{{SOAP}}}Subcode/{{{SOAP}}}Value")
    if path == INSI:
        message = root.findtext(f".//{{{SIRAM}}}Erreur")
    else:
        message = fault.findtext(f"{{{SOAP}}}Reason/{{{SOAP}}}Text")
    return Fault(code, subcode, message or "")


def assert_sender_fault(timed: Timed, path: str, message: str, status: int = 500) -> Fault:
    """A Sender fault (the client's mistake) whose diagnostic contains ``message``."""
    fault = fault_of(timed, path, status)
    assert fault.code.split(":")[-1] == "Sender", fault
    assert message in fault.message, fault
    return fault


def assert_normal_answer(timed: Timed) -> None:
    """A bounded, fast, in-band SOAP 1.2 answer (HTTP 200)."""
    response = timed.response
    assert_not_a_crash(response)
    assert response.status_code == 200, response.data[:600]
    assert len(response.data) <= MAX_ANSWER_BYTES and timed.cpu_seconds < MAX_CPU_SECONDS
    root = etree.fromstring(response.data, safe_parser())
    assert root.tag == f"{{{SOAP}}}Envelope"
    assert root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault") is None


def with_doctype(raw: bytes, doctype: str, reference: str = "") -> bytes:
    """``raw`` behind ``doctype``, with ``reference`` (e.g. ``&x;``) as the first content
    of soap:Body."""
    return (doctype.encode() + raw).replace(b"<soap:Body>",
                                            b"<soap:Body>" + reference.encode(), 1)


def in_body(raw: bytes, content: bytes) -> bytes:
    """``raw`` with ``content`` inserted as the first content of soap:Body."""
    assert b"<soap:Body>" in raw
    return raw.replace(b"<soap:Body>", b"<soap:Body>" + content, 1)

