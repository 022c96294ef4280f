"""End to end through the WSGI app: any request to any SOAP endpoint gets a well-formed
SOAP 1.2 answer (HTTP 200, or 500 with a Fault) or a 4xx with a Fault, never a 500
without one, never a traceback or HTML, and never an unexpected exception inside (the
endpoint logs those before answering with the technical fault)."""
from __future__ import annotations

import logging

from hypothesis import event, given
from hypothesis import strategies as st
from lxml import etree

from simulator.kit.soap import SOAP_CT
from hostile_payloads import package
from hostile_strategies import fuzz_settings, mutated
from hostile_wire import ENDPOINTS, SOAP, assert_not_a_crash
from simulator.soap.mtom import split_related
from simulator.soap.parsing import content_type_parts, safe_parser

CONTENT_TYPES = st.one_of(st.just(SOAP_CT), st.sampled_from([
    None, "text/xml", "application/soap+xml", 'multipart/related; type="application/xop+xml"',
    'multipart/related; boundary="MIMEBoundary_Bound"; type="application/xop+xml"']),
    # what a WSGI server hands over: latin-1 text, no line breaks
    st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=40))


class Unexpected(logging.Handler):
    """Collects the endpoint's 'unexpected' and 'could not be rendered' log records."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record):
        self.records.append(record.getMessage())


def assert_protocol_correct(response) -> str:
    """The invariant; returns a label of the answer for the statistics."""
    assert_not_a_crash(response)
    status = response.status_code
    assert status == 200 or 400 <= status < 500 or status == 500, status
    media_type, params = content_type_parts(response.headers.get("Content-Type"))
    raw = response.data
    if media_type == "multipart/related":
        assert status == 200
        raw = split_related(raw, params)[0]
    else:
        assert media_type == "application/soap+xml", (status, media_type, raw[:300])
    root = etree.fromstring(raw, safe_parser())
    assert root.tag == f"{{{SOAP}}}Envelope"
    fault = root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert (fault is not None) == (status != 200), (status, raw[:300])
    if fault is None:
        return "200"
    code = fault.findtext(f"{{{SOAP}}}Code/{{{SOAP}}}Value").split(":")[-1]
    return f"{status} {code}"


def send(wire, path, body, content_type, headers=None) -> str:
    logger = logging.getLogger("simulator.soap.endpoint")
    handler = Unexpected()
    logger.addHandler(handler)
    try:
        response = wire.http.post(path, data=body, content_type=content_type,
                                  headers=headers or {})
    finally:
        logger.removeHandler(handler)
    assert not handler.records, handler.records
    return assert_protocol_correct(response)


@fuzz_settings(150)
@given(st.sampled_from(ENDPOINTS), st.binary(max_size=300), CONTENT_TYPES)
def test_any_bytes_get_a_soap_answer_or_a_4xx(wire, path, body, content_type):
    event(send(wire, path, body, content_type))


@st.composite
def byte_mutations(draw, raw: bytes) -> bytes:
    """``raw`` with a few slices deleted, replaced or duplicated."""
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(raw)))
        end = draw(st.integers(start, min(len(raw), start + 40)))
        kind = draw(st.sampled_from(["delete", "replace", "duplicate"]))
        middle = {"delete": b"", "duplicate": raw[start:end] * 2,
                  "replace": draw(st.binary(max_size=12))}[kind]
        raw = raw[:start] + middle + raw[end:]
    return raw


@fuzz_settings(150)
@given(st.sampled_from(ENDPOINTS), st.data())
def test_byte_mutations_of_valid_requests_get_a_soap_answer_or_a_4xx(wire, path, data):
    body = data.draw(byte_mutations(wire.valid(path)))
    event(send(wire, path, body, SOAP_CT))


@fuzz_settings(60)
@given(st.sampled_from(ENDPOINTS), st.data(), st.booleans())
def test_tree_mutations_of_valid_requests_get_a_soap_answer_or_a_4xx(wire, path, data, mtom):
    tree = etree.fromstring(wire.valid(path), safe_parser())
    body = etree.tostring(data.draw(mutated(tree, max_mutations=5)))
    content_type = SOAP_CT
    if mtom:
        content_type, body = package(body)
    event(send(wire, path, body, content_type))


@fuzz_settings(60)
@given(st.sampled_from(ENDPOINTS), st.sampled_from(["GET", "PUT", "DELETE", "PATCH"]),
       st.sampled_from(["", "wsdl", "xsd=x.xsd", "xsd=../../etc/passwd", "WSDL&xsd"]))
def test_other_methods_get_a_document_or_a_4xx_with_a_fault(wire, path, method, query):
    response = wire.http.open(path, method=method, query_string=query)
    assert_not_a_crash(response)
    if method == "GET" and response.status_code in (200, 404):
        assert response.headers["Content-Type"].startswith(("text/xml", "text/plain"))
        event(f"{method} {response.status_code}")
    else:
        event(assert_protocol_correct(response))
