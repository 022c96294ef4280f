"""Hostile shapes and encodings on every SOAP endpoint: deep nesting, huge and many
attributes, many namespaces, invalid UTF-8, UTF-16. Each answer is small and fast: the
parser's own limits refuse what is too deep or too long (a Sender fault naming the
limit), what stays within them and is harmless is answered as usual, and the endpoint
keeps answering valid requests."""
from __future__ import annotations

import pytest

from hostile_wire import ENDPOINTS, assert_normal_answer, assert_sender_fault, in_body

HOSTILE = b'xmlns:h="urn:example:hostile"'


def in_header(raw: bytes, block: bytes) -> bytes:
    """``raw`` with ``block`` as its first SOAP header block (an unknown block without
    mustUnderstand, which SOAP 1.2 receivers ignore)."""
    assert b"<soap:Header>" in raw
    return raw.replace(b"<soap:Header>", b"<soap:Header>" + block, 1)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_100000_levels_of_nesting_are_refused_at_the_parsers_depth_limit(wire, path):
    raw = in_body(wire.valid(path), b"<a>" * 100_000 + b"</a>" * 100_000)
    assert_sender_fault(wire.post(path, raw), path, "Excessive depth in document: 256")
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_nesting_just_within_the_limit_is_answered_as_usual(wire, path):
    block = b"<h:deep " + HOSTILE + b">" + b"<h:a>" * 240 + b"</h:a>" * 240 + b"</h:deep>"
    assert_normal_answer(wire.post(path, in_header(wire.valid(path), block)))


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_9_mb_attribute_on_an_ignored_header_block_is_answered_as_usual(wire, path):
    """Bodies over the request limit are refused with 413 (tests/wire/*_bad_input.py)."""
    block = b"<h:big " + HOSTILE + b' value="' + b"v" * 9_000_000 + b'"/>'
    assert_normal_answer(wire.post(path, in_header(wire.valid(path), block)))
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_100000_attributes_on_one_element_are_answered_as_usual(wire, path):
    attributes = b"".join(b' h:a%d="%d"' % (i, i) for i in range(100_000))
    block = b"<h:wide " + HOSTILE + attributes + b"/>"
    assert_normal_answer(wire.post(path, in_header(wire.valid(path), block)))


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_repeated_attribute_is_refused(wire, path):
    attributes = b' h:a="1"' * 50_000
    raw = in_header(wire.valid(path), b"<h:twice " + HOSTILE + attributes + b"/>")
    assert_sender_fault(wire.post(path, raw), path, "Attribute h:a redefined")
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_50000_namespace_declarations_are_answered_as_usual(wire, path):
    declarations = b"".join(b' xmlns:n%d="urn:n:%d"' % (i, i) for i in range(50_000))
    block = b"<h:namespaces " + HOSTILE + declarations + b"/>"
    assert_normal_answer(wire.post(path, in_header(wire.valid(path), block)))


INVALID_UTF8 = [
    ("lone-continuation-byte", b"\x80"),
    ("ff-byte", b"\xff\xfe"),
    ("truncated-sequence", b"\xc3("),
    ("overlong-slash", b"\xc0\xaf"),
    ("utf8-encoded-surrogate", b"\xed\xa0\x80"),
    ("beyond-u10ffff", b"\xf4\x90\x80\x80"),
]


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("case, garbage", INVALID_UTF8, ids=[c[0] for c in INVALID_UTF8])
def test_invalid_utf8_is_refused_naming_the_byte(wire, path, case, garbage):
    raw = wire.valid(path)
    raw = in_body(raw, b"<h:t " + HOSTILE + b">" + garbage + b"</h:t>")
    offset = raw.index(garbage)
    fault = assert_sender_fault(wire.post(path, raw), path, "the body is not UTF-8 (byte ")
    assert f"at offset {offset})" in fault.message, fault
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_nul_byte_is_refused(wire, path):
    raw = in_body(wire.valid(path), b"<h:t " + HOSTILE + b">\x00</h:t>")
    assert_sender_fault(wire.post(path, raw), path, "XML is not well-formed")
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_utf16_with_a_byte_order_mark_is_read_as_utf16(wire, path):
    """Labelled charset=utf-8, but the byte order mark names the encoding (RFC 7303
    §3.2): the request is read, and answered like its UTF-8 twin."""
    raw = wire.valid(path).decode("utf-8").encode("utf-16")
    assert raw.startswith(b"\xff\xfe")
    assert_normal_answer(wire.post(path, raw))


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_refused_saying_so(wire, path, codec):
    """Without a byte order mark or an XML declaration, nothing names the encoding."""
    raw = wire.valid(path).decode("utf-8").encode(codec)
    assert_sender_fault(wire.post(path, raw), path,
                        "the body looks like UTF-16 or UTF-32 without a byte order mark: "
                        "send it in UTF-8")
    wire.assert_still_serving(path)
