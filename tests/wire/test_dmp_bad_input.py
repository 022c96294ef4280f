"""Bad and hostile input on every DMP v2 endpoint: each gets the DMP's SOAP 1.2 fault (or
the HTTP status of a refused method, size, media type or document) with a message a
vendor can act on, never a traceback or an HTML page, and the endpoint still answers a
valid request afterwards."""
from __future__ import annotations

import io
import os
import uuid

import pytest
from lxml import etree
from werkzeug.test import Client, EnvironBuilder, run_wsgi_app
from werkzeug.wrappers import Response

from simulator.kit import xds
from dmp_builders.client import IN_BAND_REQUESTS
from simulator.kit.soap import SOAP_CT, envelope
from simulator.app import create_app
from simulator.settings import Settings, parse_datetime
from simulator.soap.parsing import safe_parser

NOW = "2024-03-01T08:30:00Z"  # the simulated clock and every VIHF IssueInstant
BASE = "/si-dmp-server/v2/services"
SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
XML_NS = "http://www.w3.org/XML/1998/namespace"
FAULT_ACTION = "http://www.w3.org/2005/08/addressing/soap/fault"
XOP = "http://www.w3.org/2004/08/xop/include"
SERVICES = ("patients", "habilitations", "patientsSpecific", "registry", "repository")

def valid_request(service: str, **changes) -> bytes:
    body, action, _, options = IN_BAND_REQUESTS[service]
    return envelope(body, action=action, service=service, issue_instant=NOW,
                    **{**options, **changes})


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One simulator for the hostile requests: none leaves state behind, and the same
    endpoints must keep answering after all of them. No generated population: the DMP's
    patient, ADRUN Zoé, is a CNDA test person, always loaded."""
    return create_app(Settings(data_dir=tmp_path_factory.mktemp("dmp-bad-input"),
                               population=0, date=parse_datetime(NOW), frozen=True))


@pytest.fixture(scope="module")
def client(app) -> Client:
    return Client(app)


def limited_app(make_app, limit: int):
    """A simulator of its own with SIM_MAX_REQUEST_BYTES = ``limit``."""
    return make_app(date=parse_datetime(NOW), frozen=True, population=0,
                    max_request_bytes=limit)


def assert_not_a_stack_trace(response) -> None:
    text = response.data.decode("utf-8", errors="replace")
    assert "Traceback" not in text and 'File "' not in text
    assert "<html" not in text.lower()
    assert not response.headers["Content-Type"].startswith("text/html")


def dmp_fault(response, status: int = 500) -> dict:
    """Code, subcode and reason of a DMP SOAP 1.2 fault, after checking its HTTP shape and
    its WS-Addressing fault action."""
    assert_not_a_stack_trace(response)
    assert response.status_code == status, response.data[:600]
    assert response.headers["Content-Type"].split(";")[0] == "application/soap+xml"
    root = etree.fromstring(response.data, safe_parser())
    assert root.findtext(f"{{{SOAP}}}Header/{{{WSA}}}Action") == FAULT_ACTION
    fault = root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None, response.data[:600]
    text = fault.find(f"{{{SOAP}}}Reason/{{{SOAP}}}Text")
    assert text.get(f"{{{XML_NS}}}lang") == "en"
    return {"code": fault.findtext(f"{{{SOAP}}}Code/{{{SOAP}}}Value"),
            "subcode": fault.findtext(f"{{{SOAP}}}Code/{{{SOAP}}}Subcode/{{{SOAP}}}Value"),
            "reason": text.text}


def assert_still_serving(client: Client, service: str) -> None:
    reply_action = IN_BAND_REQUESTS[service][2]
    response = client.post(f"{BASE}/{service}", data=valid_request(service),
                           content_type=SOAP_CT)
    assert response.status_code == 200, response.data[:600]
    root = etree.fromstring(response.data, safe_parser())
    assert root.findtext(f"{{{SOAP}}}Header/{{{WSA}}}Action") == reply_action


# --- hostile and unusable bodies ------------------------------------------------------------

def _with_doctype(service: str, doctype: str, reference: str) -> bytes:
    """The valid request behind ``doctype``, ``reference`` used in its wsa:To."""
    raw = valid_request(service).decode("utf-8")
    start = raw.index("<wsa:To>") + len("<wsa:To>")
    return (f'<?xml version="1.0"?>{doctype}' + raw[:start] + reference + raw[start:]).encode()


def _billion_laughs(service: str) -> bytes:
    entities = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{i} "{("&a%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    return _with_doctype(service, f"<!DOCTYPE e [{entities}]>", "&a9;")


def _soap11(service: str) -> bytes:
    return (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
            + IN_BAND_REQUESTS[service][0].encode("utf-8") + b"</e:Body></e:Envelope>")


def _without_message_id(service: str) -> bytes:
    root = etree.fromstring(valid_request(service))
    message_id = root.find(f"{{{SOAP}}}Header/{{{WSA}}}MessageID")
    message_id.getparent().remove(message_id)
    return etree.tostring(root)


def _mtom_root(service: str) -> bytes:
    """The valid request with a header block whose content is an xop:Include of 0.2."""
    raw = valid_request(service)
    return raw.replace(b"</soap:Header>", f'<x:Attachment xmlns:x="urn:example:x">'
                       f'<xop:Include xmlns:xop="{XOP}" href="cid:0.2"/></x:Attachment>'
                       "</soap:Header>".encode())


def _mtom_missing_part(service: str) -> tuple[str, bytes]:
    if service == "repository":  # a real TD2.1 package whose signature part was lost
        content_type, raw, _ = xds.iti41_mtom()
        delimiter = f"--{xds.BOUNDARY}".encode()
        pieces = raw.split(delimiter)
        return content_type, delimiter.join(pieces[:-2] + pieces[-1:])
    return xds.mtom_package(_mtom_root(service), [], action=IN_BAND_REQUESTS[service][1])


def _mtom_unclosed(service: str) -> tuple[str, bytes]:
    content_type, raw = xds.mtom_package(_mtom_root(service), [("0.2", b"%PDF-1.4 part")],
                                         action=IN_BAND_REQUESTS[service][1])
    return content_type, raw[: raw.rindex(f"--{xds.BOUNDARY}--".encode())]


def _soap(build):
    return lambda service: (SOAP_CT, build(service))


HOSTILE = [
    ("malformed", _soap(lambda s: valid_request(s)[:-40]), 500, "XML is not well-formed"),
    ("not-an-envelope", _soap(lambda s: IN_BAND_REQUESTS[s][0].encode()), 500,
     "is not a SOAP 1.2 Envelope"),
    ("no-body", _soap(lambda s: f'<soap:Envelope xmlns:soap="{SOAP}"/>'.encode()), 500,
     "has no Body"),
    ("internal-entity", _soap(lambda s: _with_doctype(
        s, '<!DOCTYPE e [<!ENTITY who "intruder">]>', "&who;")), 500,
     "DOCTYPE declarations are not allowed"),
    ("external-entity", _soap(lambda s: _with_doctype(
        s, '<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;")), 500,
     "DOCTYPE declarations are not allowed"),
    ("soap11", _soap(_soap11), 500, "SOAP 1.1 envelope received: this endpoint speaks SOAP 1.2"),
    ("text-xml", lambda s: ("text/xml; charset=utf-8", valid_request(s)), 415,
     "expects application/soap+xml"),
    ("no-content-type", lambda s: ("", valid_request(s)), 415,
     "Unsupported Content-Type (none)"),
    ("empty", _soap(lambda s: b""), 500, "Empty request body"),
    ("no-message-id", _soap(_without_message_id), 500,
     "A required WS-Addressing header is missing: wsa:MessageID"),
    ("mtom-missing-part", _mtom_missing_part, 500, "which no MIME part carries"),
    ("mtom-no-closing-boundary", _mtom_unclosed, 500,
     f"the closing boundary --{xds.BOUNDARY}-- is missing"),
    ("mtom-no-boundary", lambda s: ('multipart/related; type="application/xop+xml"',
                                    valid_request(s)), 500,
     "the Content-Type has no boundary parameter"),
]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("case, build, status, message", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_unusable_requests_get_a_fault_that_says_why(client, service, case, build, status,
                                                     message):
    content_type, raw = build(service)
    response = client.post(f"{BASE}/{service}", data=raw, content_type=content_type or None)
    fault = dmp_fault(response, status)
    assert fault["code"] == ("soap:VersionMismatch" if case == "soap11" else "soap:Sender"), \
        fault
    assert message in fault["reason"], fault
    assert b"intruder" not in response.data
    assert_still_serving(client, service)


@pytest.mark.parametrize("service", SERVICES)
def test_billion_laughs_is_refused_small_and_fast(client, service):
    response = client.post(f"{BASE}/{service}", data=_billion_laughs(service),
                           content_type=SOAP_CT)
    fault = dmp_fault(response)
    assert fault["code"] == "soap:Sender"
    # libxml2 stops the expansion itself, or the DOCTYPE is refused after parsing.
    assert "entity" in fault["reason"] or "DOCTYPE" in fault["reason"], fault
    assert len(response.data) < 3000 and b"lollol" not in response.data
    assert_still_serving(client, service)


@pytest.mark.parametrize("service", SERVICES)
def test_an_external_entity_is_never_read(client, service):
    raw = _with_doctype(service, '<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
                        "&x;")
    response = client.post(f"{BASE}/{service}", data=raw, content_type=SOAP_CT)
    assert response.status_code == 500
    assert b"/etc/passwd" not in response.data and b"root:" not in response.data
    entry = client.get("/_admin/journal?limit=1").json["entries"][0]
    assert "root:" not in entry["response_body"]


@pytest.mark.parametrize("service", ["habilitations", "repository"])
def test_a_soap11_envelope_gets_the_version_mismatch_code(client, service):
    """SOAP 1.2 Part 1 §5.4.6: Code soap:VersionMismatch, no subcode."""
    fault = dmp_fault(client.post(f"{BASE}/{service}", data=_soap11(service),
                                  content_type=SOAP_CT))
    assert (fault["code"], fault["subcode"]) == ("soap:VersionMismatch", None)


def test_an_mtom_part_referenced_many_times_is_refused(make_app):
    """One part included 1000 times would resolve to ~67 MB from an 85 KB request."""
    client = Client(limited_app(make_app, 100_000))
    includes = '<a><o:Include href="cid:b"/></a>' * 1000
    root = envelope(f'<x:q xmlns:x="urn:example:x" xmlns="urn:example:x" xmlns:o="{XOP}">'
                    f"{includes}</x:q>", action="urn:example:q", service="registry",
                    issue_instant=NOW)
    content_type, raw = xds.mtom_package(root, [("b", os.urandom(50_000))])
    assert len(raw) < 100_000
    fault = dmp_fault(client.post(f"{BASE}/registry", data=raw, content_type=content_type))
    assert "MTOM" in fault["reason"] or "limit" in fault["reason"], fault
    assert_still_serving(client, "registry")


# --- size limit -----------------------------------------------------------------------------

def _oversized(service: str) -> bytes:
    return valid_request(service).replace(b"<soap:Body>",
                                          b"<soap:Body><!--" + b"x" * 10_000 + b"-->")


@pytest.mark.parametrize("service", SERVICES)
def test_a_body_over_the_limit_is_413_with_a_fault(make_app, service):
    client = Client(limited_app(make_app, 8192))
    raw = _oversized(service)
    fault = dmp_fault(client.post(f"{BASE}/{service}", data=raw, content_type=SOAP_CT), 413)
    assert f"Request body of {len(raw)} bytes exceeds the limit of 8192 bytes" in \
        fault["reason"]
    assert_still_serving(client, service)


@pytest.mark.parametrize("service", SERVICES)
def test_a_body_over_the_limit_without_content_length_is_413_too(make_app, service):
    app = limited_app(make_app, 8192)
    environ = EnvironBuilder(path=f"{BASE}/{service}", method="POST",
                             content_type=SOAP_CT).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(_oversized(service))
    body, status, headers = run_wsgi_app(app, environ, buffered=True)
    fault = dmp_fault(Response(b"".join(body), status=status, headers=headers), 413)
    assert "Request body exceeds the limit of 8192 bytes" in fault["reason"]
    assert_still_serving(Client(app), service)


# --- other methods and documents ------------------------------------------------------------

@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_anything_but_post_or_a_document_get_is_405(client, service, method):
    response = client.open(f"{BASE}/{service}", method=method)
    fault = dmp_fault(response, 405)
    assert response.headers["Allow"] == "GET, POST"
    assert "Only POST is accepted for SOAP requests (GET ?wsdl" in fault["reason"]
    assert_still_serving(client, service)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("name", ["nothing.xsd", "../../../../etc/passwd", ""])
def test_an_unknown_xsd_is_404_naming_the_known_ones(client, service, name):
    response = client.get(f"{BASE}/{service}", query_string={"xsd": name})
    assert_not_a_stack_trace(response)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/plain")
    text = response.data.decode("utf-8")
    assert text.startswith(f"No schema {name!r} here; known: ")
    assert "si-dmp-habilitations.xsd" in text and "root:" not in text
    known = text.split("known: ")[1].strip().split(", ")
    for xsd in known:
        assert client.get(f"{BASE}/{service}", query_string={"xsd": xsd}).status_code == 200
    assert_still_serving(client, service)


@pytest.mark.parametrize("path", [
    "/si-dmp-server/", "/si-dmp-server/v2/services/", "/si-dmp-server/v2/services/unknown",
    "/si-dmp-server/v2/services/patients/extra", "/si-dmp-server/v9/services/patients"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_paths_under_si_dmp_server_get_the_json_404(client, path, method):
    response = client.open(path, method=method, data=valid_request("patients"),
                           content_type=SOAP_CT)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json["error"] == f"No service at {path}"
    assert {f"{BASE}/{s}" for s in SERVICES} <= set(response.json["services"])


# --- an unexpected error -------------------------------------------------------------------

def test_an_unexpected_error_is_the_technical_fault_and_is_journalled(app, client,
                                                                      monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(app.simulator.store.dmp, "record", broken)
    message_id = f"urn:uuid:{uuid.uuid4()}"
    response = client.post(f"{BASE}/habilitations",
                           data=valid_request("habilitations", message_id=message_id),
                           content_type=SOAP_CT)
    fault = dmp_fault(response)
    assert (fault["code"], fault["subcode"]) == ("soap:Receiver", None)
    assert fault["reason"] == "Technical error of the DMP platform (see the simulator's log)"
    assert b"disk on fire" not in response.data and b"RuntimeError" not in response.data
    root = etree.fromstring(response.data, safe_parser())
    assert root.findtext(f"{{{SOAP}}}Header/{{{WSA}}}RelatesTo") == message_id
    entry = client.get("/_admin/journal?limit=1").json["entries"][0]
    assert (entry["service"], entry["operation"], entry["outcome"]) == (
        "dmp", "listAuthorizationByPatient", "fault TECHNICAL_ERROR")
    assert entry["request_id"] == response.headers["X-Request-Id"]
    monkeypatch.undo()
    assert_still_serving(client, "habilitations")
