"""What the hostile-input work found outside the SOAP layer (each test names what was
wrong; all fixed: fault messages are capped, the XDS reader is linear and reports at
most 50 errors, non-ASCII base64 and superscript digits are request errors), and the
endpoint's last resort when a fault cannot be written.

Answers must not grow with the request: a fault quotes at most a few hundred characters
of what the client sent (simulator.soap.mtom.quoted does it for the SOAP layer)."""
from __future__ import annotations

import logging
import time

import pytest
from lxml import etree

from simulator.kit import xds
from envelopes import vitale_request
from hostile_wire import (ENDPOINTS, INSI, MAX_ANSWER_BYTES, V1, V2, assert_sender_fault,
                          fault_of)
from simulator.services.dmp.xds.errors import XdsFailure
from simulator.services.dmp.xds.submission import parse_provide_and_register
from simulator.soap.errors import ProtocolError
from simulator.soap.parsing import safe_parser

DMP_ENDPOINTS = [p for p in ENDPOINTS if p != INSI]
BIG = 1_000_000  # a 1 MB value: the fault quoting it is ~60 times the answer bound


@pytest.mark.parametrize("path", DMP_ENDPOINTS)
def test_a_huge_vihf_value_is_not_echoed_whole(wire, path):
    raw = wire.valid(path).replace(b'Version="2.0"', b'Version="' + b"9" * BIG + b'"', 1)
    fault_of(wire.post(path, raw), path)


@pytest.mark.parametrize("path", DMP_ENDPOINTS)
def test_a_huge_wsa_action_is_not_echoed_whole(wire, path):
    raw = wire.valid(path).replace(b'mustUnderstand="true">',
                                   b'mustUnderstand="true">' + b"9" * BIG, 1)
    fault_of(wire.post(path, raw), path)


def test_a_huge_insi_temps_is_not_echoed_whole(wire):
    raw = wire.valid(INSI).replace(b"<ctxlps:Temps>", b"<ctxlps:Temps>" + b"9" * BIG, 1)
    fault_of(wire.post(INSI, raw), INSI)


@pytest.mark.parametrize("path", [INSI, f"{V2}/registry", f"{V1}/patients"])
def test_a_huge_unknown_body_element_is_not_echoed_whole(wire, path):
    fault_of(wire.post(path, with_body(wire.valid(path),
                                       b'<x:a xmlns:x="urn:' + b"a" * BIG + b'"/>')), path)


def with_body(raw: bytes, content: bytes) -> bytes:
    """``raw`` with ``content`` as the whole content of soap:Body."""
    start = raw.index(b"<soap:Body>") + len(b"<soap:Body>")
    return raw[:start] + content + raw[raw.index(b"</soap:Body>"):]


def _submission(count: int) -> etree._Element:
    """An ITI-41 body of ``count`` ExtrinsicObjects and ``count`` xdsb:Documents, none
    matching the other (each one is an error)."""
    documents = "".join(f'<x:Document id="d{i}">AA==</x:Document>' for i in range(count))
    entries = "".join(f'<r:ExtrinsicObject id="e{i}"/>' for i in range(count))
    return etree.fromstring(
        '<x:ProvideAndRegisterDocumentSetRequest xmlns:x="urn:ihe:iti:xds-b:2007" '
        'xmlns:l="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" '
        'xmlns:r="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><l:SubmitObjectsRequest>'
        f"<r:RegistryObjectList>{entries}</r:RegistryObjectList></l:SubmitObjectsRequest>"
        f"{documents}</x:ProvideAndRegisterDocumentSetRequest>", safe_parser())


def test_the_xds_parser_reads_8000_documents_in_linear_time():
    # Compared with 1,000 documents in the same run (the best of three each), so a busy
    # machine slows both sides: linear reading costs ~8 times more, the quadratic reader
    # this replaced cost ~64 times more.
    small, large = _submission(1000), _submission(8000)
    assert _parse_errors(large) == 16_001  # and "exactly one submission set"
    ratio = _best_parse_time(large) / _best_parse_time(small)
    assert ratio < 24, f"8,000 documents cost {ratio:.1f} times 1,000"


def _parse_errors(body: etree._Element) -> int:
    with pytest.raises(XdsFailure) as failure:
        parse_provide_and_register(body)
    return len(failure.value.errors)


def _best_parse_time(body: etree._Element) -> float:
    timings = []
    for _ in range(3):
        started = time.thread_time()  # CPU time: other jobs' load does not count
        _parse_errors(body)
        timings.append(time.thread_time() - started)
    return min(timings)


@pytest.mark.parametrize("path", [f"{V2}/repository", f"{V1}/repository"])
def test_a_submission_full_of_errors_gets_an_answer_no_bigger_than_itself(wire, path):
    raw = with_body(wire.valid(path), etree.tostring(_submission(2000)))
    raw = raw.replace(xds.RETRIEVE_ACTION.encode(), xds.PNR_ACTION.encode(), 1)
    answer = wire.post(path, raw)
    assert answer.response.status_code == 200, answer.response.data[:600]
    assert b"XDSMissingDocument" in answer.response.data
    assert len(answer.response.data) <= max(len(raw), MAX_ANSWER_BYTES), \
        len(answer.response.data)


def _td21_with_document_text(text: str) -> str:
    body = xds.provide_and_register().body
    start = body.index(">", body.index("<ns4:Document ")) + 1
    return body[:start] + text + body[start:]


def test_a_non_ascii_document_is_not_valid_base64():
    body = etree.fromstring(_td21_with_document_text("\u00e9"), safe_parser())
    with pytest.raises(XdsFailure) as failure:
        parse_provide_and_register(body)
    assert "is not valid base64" in str(failure.value)


@pytest.mark.parametrize("path", [f"{V2}/repository", f"{V1}/repository"])
def test_a_non_ascii_document_gets_a_repository_error_on_the_wire(wire, path):
    raw = with_body(wire.valid(path), _td21_with_document_text("\u00e9").encode())
    raw = raw.replace(xds.RETRIEVE_ACTION.encode(), xds.PNR_ACTION.encode(), 1)
    answer = wire.post(path, raw)
    assert answer.response.status_code == 200, answer.response.data[-400:]
    assert b"XDSRepositoryError" in answer.response.data


@pytest.mark.parametrize("rank", ["\u00b2", "1\u00b9"])
def test_a_superscript_birth_rank_is_an_invalid_request(wire, rank):
    raw = vitale_request("1975-12-31", od="2751263220749").replace(
        b"</v:DateNaissance>",
        f"</v:DateNaissance><v:RangNaissance>{rank}</v:RangNaissance>".encode())
    assert_sender_fault(wire.post(INSI, raw), INSI, "RangNaissance")


# --- the endpoint's last resort ---------------------------------------------------------------

@pytest.mark.parametrize("path", [INSI, f"{V2}/registry", f"{V1}/repository"])
def test_a_fault_that_cannot_be_written_becomes_the_technical_fault(
        hostile_app, wire, monkeypatch, caplog, path):
    """If rendering the service's fault fails (say its message holds a control character,
    which XML cannot carry), the answer is the technical fault, not a bare HTTP 500."""
    binding = hostile_app.simulator.endpoints[path].binding
    original = binding.render_error

    def fragile(error, request):
        if isinstance(error, ProtocolError):
            raise ValueError("All strings must be XML compatible")
        return original(error, request)
    monkeypatch.setattr(binding, "render_error", fragile)
    with caplog.at_level(logging.ERROR, logger="simulator.soap.endpoint"):
        fault = fault_of(wire.post(path, b"<not-xml"), path)
    assert fault.code.split(":")[-1] == "Receiver", fault
    assert "could not be rendered" in caplog.text
    monkeypatch.undo()
    wire.assert_still_serving(path)
