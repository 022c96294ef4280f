"""Property-based tests of the SOAP layer's readers (simulator.soap.parsing and .mtom):
whatever the bytes and the Content-Type, a SoapRequest or a ProtocolError, nothing else;
and every well-formed SOAP 1.2 envelope, plain or as MTOM, is read faithfully."""
from __future__ import annotations

import base64

from hypothesis import assume, given
from hypothesis import strategies as st
from lxml import etree

from hostile_strategies import XML_TEXT, elements, fuzz_settings, qname
from simulator.soap.errors import ProtocolError
from simulator.soap.mtom import XOP, build_related, split_related
from simulator.soap.parsing import SoapRequest, content_type_parts, parse_soap12

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
CONTENT_TYPES = st.one_of(
    st.sampled_from([None, "", "application/soap+xml", "application/soap+xml; charset=utf-8",
                     'application/soap+xml; action="urn:a"', "text/xml",
                     'multipart/related; type="application/xop+xml"',
                     'multipart/related; type="application/xop+xml"; boundary=b',
                     'multipart/related; type="application/xop+xml"; boundary="b"; start="<r>"',
                     'multipart/related; type="application/xop+xml"; boundary=\u00e9\u20ac']),
    st.text(max_size=60))
BOUNDARY = st.from_regex(r"[0-9A-Za-z'()+_,./:=?-]{1,40}", fullmatch=True)


def read_or_refuse(raw: bytes, content_type: str | None) -> SoapRequest | ProtocolError:
    """The parse result, or the ProtocolError; any other exception fails the test."""
    try:
        request = parse_soap12(raw, content_type)
    except ProtocolError as error:
        assert error.http_status in (400, 413, 415, 500) and error.message, error
        return error
    assert isinstance(request, SoapRequest)
    return request


@fuzz_settings(300)
@given(st.binary(max_size=400), CONTENT_TYPES)
def test_any_bytes_give_a_request_or_a_protocol_error(raw, content_type):
    read_or_refuse(raw, content_type)


@st.composite
def mime_soup(draw) -> tuple[bytes, str]:
    """Bytes put together from MIME pieces (delimiters, headers, blank lines, XML)."""
    boundary = draw(BOUNDARY)
    pieces = st.sampled_from([
        f"--{boundary}".encode(), f"--{boundary}--".encode(), b"\r\n", b"\n", b"\r\n\r\n",
        b"Content-ID: <r>", b"Content-ID: <p>", b"Content-Transfer-Encoding: base64",
        b"Content-Type: application/xop+xml", f'<e:Envelope xmlns:e="{SOAP12}">'.encode(),
        b"<e:Body>", b"</e:Body></e:Envelope>", f'<x:Include xmlns:x="{XOP}" '.encode(),
        b'href="cid:p"/>', b'href="cid:%zz"/>', b"AAAA", b"=", b"\xff\xfe"])
    raw = b"".join(draw(st.lists(st.one_of(pieces, st.binary(max_size=8)), max_size=30)))
    start = draw(st.sampled_from(["", '; start="<r>"', '; start="<p>"', "; start=<>"]))
    return raw, f'multipart/related; type="application/xop+xml"; boundary="{boundary}"{start}'


@fuzz_settings(200)
@given(mime_soup())
def test_any_mime_soup_gives_a_request_or_a_protocol_error(soup):
    read_or_refuse(*soup)


@st.composite
def envelopes(draw) -> tuple[etree._Element, str | None, str | None]:
    """A SOAP 1.2 envelope with arbitrary header blocks and body content, and the
    wsa:Action and wsa:MessageID it carries (None when absent)."""
    envelope = etree.Element(f"{{{SOAP12}}}Envelope")
    action = message_id = None
    if draw(st.booleans()):
        header = etree.SubElement(envelope, f"{{{SOAP12}}}Header")
        for block in draw(st.lists(elements(depth=1), max_size=2)):
            header.append(block)
        if draw(st.booleans()):
            action = draw(XML_TEXT)
            etree.SubElement(header, f"{{{WSA}}}Action").text = action
        if draw(st.booleans()):
            message_id = draw(XML_TEXT)
            etree.SubElement(header, f"{{{WSA}}}MessageID").text = message_id
    body = etree.SubElement(envelope, f"{{{SOAP12}}}Body")
    body.text = draw(st.none() | XML_TEXT)
    for child in draw(st.lists(elements(depth=1), max_size=2)):
        if draw(st.booleans()):
            body.append(etree.Comment(draw(st.from_regex(r"[a-z ]{0,10}", fullmatch=True))))
        body.append(child)
    return envelope, action, message_id


def serialised(envelope: etree._Element, encoding: str, declaration: bool) -> bytes:
    return etree.tostring(envelope, encoding=encoding, xml_declaration=declaration)


def assert_read_faithfully(request, envelope, action, message_id, content_type) -> None:
    assert isinstance(request, SoapRequest), request
    children = [c for c in envelope.find(f"{{{SOAP12}}}Body") if isinstance(c.tag, str)]
    assert request.body_qname == (children[0].tag if children else None)
    expected_action = (action or "").strip() or content_type_parts(content_type)[1].get(
        "action", "").strip() or None
    assert request.action == expected_action
    assert request.message_id == ((message_id or "").strip() or None)


@fuzz_settings(40)
@given(envelopes(), st.sampled_from(["UTF-8", "UTF-16"]), st.booleans(),
       st.sampled_from(["application/soap+xml; charset=utf-8",
                        'application/soap+xml; action=" urn:from-content-type "']))
def test_every_well_formed_envelope_is_read_faithfully(generated, encoding, declaration,
                                                      content_type):
    envelope, action, message_id = generated
    raw = serialised(envelope, encoding, declaration or encoding != "UTF-8")
    request = read_or_refuse(raw, content_type)
    assert_read_faithfully(request, envelope, action, message_id, content_type)


@fuzz_settings(30)
@given(envelopes(), st.lists(st.binary(max_size=64), min_size=1, max_size=4), BOUNDARY,
       st.booleans())
def test_every_well_formed_mtom_package_is_read_with_its_parts_inlined(
        generated, parts, boundary, bare_line_feeds):
    envelope, action, message_id = generated
    body = envelope.find(f"{{{SOAP12}}}Body")
    holders = []
    for number in range(len(parts)):
        holder = etree.SubElement(body, f"{{urn:example:a}}part{number}")
        etree.SubElement(holder, f"{{{XOP}}}Include", href=f"cid:part{number}%40example")
        holders.append(holder.tag)
    content_type, raw = build_related(serialised(envelope, "UTF-8", True),
                                      [(f"part{n}@example", p) for n, p in enumerate(parts)])
    built = content_type_parts(content_type)[1]["boundary"]
    content_type = content_type.replace(built, boundary)
    raw = raw.replace(built.encode(), boundary.encode())
    # RFC 2046 §5.1.1: the boundary must not occur in the content.
    assume(raw.count(b"--" + boundary.encode()) == len(parts) + 2)
    if bare_line_feeds:  # some clients end MIME lines with LF only
        assume(not any(b"\r" in part for part in parts))
        raw = raw.replace(b"\r\n", b"\n")
    request = read_or_refuse(raw, content_type)
    assert_read_faithfully(request, envelope, action, message_id, content_type)
    for tag, part in zip(holders, parts):
        assert request.body_element.getparent().find(tag).text == \
            base64.b64encode(part).decode()


@fuzz_settings(200)
@given(st.binary(max_size=300), st.dictionaries(
    st.sampled_from(["boundary", "start", "type"]),
    st.one_of(BOUNDARY, st.text(max_size=12)), max_size=3))
def test_split_related_gives_parts_or_a_protocol_error(raw, params):
    try:
        root, parts = split_related(raw, params)
    except ProtocolError as error:
        assert error.message.startswith("Malformed MTOM package: ")
        return
    assert isinstance(root, bytes)
    assert all(isinstance(cid, str) and isinstance(body, bytes) for cid, body in parts.items())
