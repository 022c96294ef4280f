"""Broken MTOM packages (multipart/related, XOP) on every SOAP endpoint: each gets a small,
fast Sender fault naming the defect, nothing is fetched for an xop:Include, and the
endpoint keeps answering valid requests.

tests/wire/test_dmp_bad_input.py already covers, on the DMP v2 services, an xop:Include
of a missing cid:, a missing closing boundary, a Content-Type without boundary, and one
part included many times."""
from __future__ import annotations

import pytest

from simulator.kit.xds import BOUNDARY, mtom_package
from hostile_payloads import package
from hostile_wire import ENDPOINTS, assert_normal_answer, assert_sender_fault


def cut_headers_of_part(body: bytes, number: int) -> bytes:
    """``body`` with part ``number`` (1 = root) reduced to header lines, no empty line."""
    delimiter = f"--{BOUNDARY}".encode()
    pieces = body.split(delimiter)
    head = pieces[number].split(b"\r\n\r\n", 1)[0]
    pieces[number] = head + b"\r\n"
    return delimiter.join(pieces)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_well_formed_package_is_answered_as_usual(wire, path):
    """The control for every case below."""
    content_type, body = package(wire.valid(path))
    assert_normal_answer(wire.post(path, body, content_type))


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_part_truncated_in_its_headers_is_refused(wire, path):
    content_type, body = package(wire.valid(path))
    body = cut_headers_of_part(body, 2)
    assert_sender_fault(wire.post(path, body, content_type), path,
                        "Malformed MTOM package: MIME part 2 has no empty line after its "
                        "headers")
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_root_part_truncated_in_its_xml_is_refused(wire, path):
    content_type, body = package(wire.valid(path))
    end = body.index(b"</soap:Envelope>")
    body = body[:end - 200] + body[end + len(b"</soap:Envelope>"):]
    assert_sender_fault(wire.post(path, body, content_type), path, "XML is not well-formed")
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("declared, message", [
    ("OtherBoundary", "boundary 'OtherBoundary' not found at least twice in the body"),
    (BOUNDARY[:-3], f"the closing boundary --{BOUNDARY[:-3]}-- is missing"),
    (BOUNDARY + "X", f"boundary '{BOUNDARY}X' not found at least twice in the body"),
], ids=["other", "prefix-of-the-real-one", "longer-than-the-real-one"])
def test_a_boundary_that_is_not_the_bodys_is_refused(wire, path, declared, message):
    content_type, body = package(wire.valid(path))
    content_type = content_type.replace(f'boundary="{BOUNDARY}"', f'boundary="{declared}"')
    assert_sender_fault(wire.post(path, body, content_type), path, message)
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_non_ascii_boundary_is_refused(wire, path):
    """RFC 2046 §5.1.1: boundaries are ASCII (a WSGI header arrives as latin-1)."""
    content_type, body = package(wire.valid(path))
    declared = "Bound\u00e9"
    content_type = content_type.replace(f'boundary="{BOUNDARY}"', f'boundary="{declared}"')
    body = body.replace(BOUNDARY.encode(), declared.encode("latin-1"))
    assert_sender_fault(wire.post(path, body, content_type), path,
                        "the boundary 'Bound\u00e9' is not ASCII")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_attachment_without_headers_cannot_be_included(wire, path):
    """A part without headers has no Content-ID: nothing can reference it."""
    content_type, body = package(wire.valid(path))
    head, _, rest = body.partition(b"Content-ID: <0.2>\r\n\r\n")
    part_start = head.rindex(f"--{BOUNDARY}".encode()) + len(BOUNDARY) + 2
    body = head[:part_start] + b"\r\n\r\n" + rest
    assert_sender_fault(wire.post(path, body, content_type), path,
                        "xop:Include references 'cid:0.2', which no MIME part carries "
                        "(parts: none)")
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_root_part_without_headers_is_the_first_part(wire, path):
    """Without a start parameter the root is the first part (RFC 2387 §3.2), headers or
    not."""
    content_type, body = package(wire.valid(path))
    content_type = content_type.replace('start="<0.1>"; ', "")
    delimiter = f"--{BOUNDARY}\r\n".encode()
    first = body.index(delimiter) + len(delimiter)
    body = body[:first] + b"\r\n" + body[body.index(b"\r\n\r\n", first) + 4:]
    assert_normal_answer(wire.post(path, body, content_type))


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_start_naming_no_part_is_refused(wire, path):
    content_type, body = package(wire.valid(path))
    content_type = content_type.replace('start="<0.1>"', 'start="<nowhere>"')
    assert_sender_fault(wire.post(path, body, content_type), path,
                        "no part has the Content-ID <nowhere> named by the start parameter")


def _hrefs(url: str) -> list[tuple[str, str]]:
    return [("http", f"{url}/part"), ("file", "file:///etc/passwd"), ("missing", ""),
            ("percent-encoded-missing", "cid:0%2E3"), ("relative", "0.2")]


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("case", [h[0] for h in _hrefs("http://x")])
def test_an_include_of_anything_but_a_carried_part_is_refused_unfetched(wire, listener, path,
                                                                         case):
    href = dict(_hrefs(listener.url))[case]
    content_type, body = package(wire.valid(path), href=href)
    answer = wire.post(path, body, content_type)
    assert not listener.connected(), "the simulator fetched the xop:Include"
    assert_sender_fault(answer, path, f"xop:Include references {href!r}, which no MIME "
                        "part carries (parts: 0.2)")
    assert b"root:" not in answer.response.data
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_root_part_that_is_itself_a_package_is_refused(wire, path):
    inner_type, inner = package(wire.valid(path))
    content_type, body = mtom_package(b"", [("0.2", b"%PDF-1.4 part")])
    body = body.replace(b'<?xml version="1.0" encoding="UTF-8"?>', inner.replace(
        BOUNDARY.encode(), b"Inner_Boundary"), 1)
    assert_sender_fault(wire.post(path, body, content_type), path, "XML is not well-formed")
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_nested_package_as_an_attachment_is_opaque_bytes(wire, path):
    """An attachment is bytes: a multipart package inside one is not unpacked."""
    inner_type, inner = package(wire.valid(path))
    nested = inner.replace(BOUNDARY.encode(), b"Inner_Boundary")
    content_type, body = package(wire.valid(path), parts=[("0.2", nested)])
    assert_normal_answer(wire.post(path, body, content_type))


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_missing_part_among_50000_is_named_in_a_bounded_message(wire, path):
    parts = [(f"p{i}", b"x") for i in range(50_000)]
    content_type, body = package(wire.valid(path), href="cid:absent", parts=parts)
    fault = assert_sender_fault(wire.post(path, body, content_type), path,
                                "xop:Include references 'cid:absent', which no MIME part "
                                "carries (parts: p0, p1, ")
    assert "characters left out" in fault.message and len(fault.message) < 1000, fault
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_control_character_in_a_content_id_is_escaped_in_the_fault(wire, path):
    """XML cannot carry U+0001: quoted as is, the fault could not be written at all."""
    content_type, body = package(wire.valid(path), href="cid:absent",
                                 parts=[("a\x01b", b"x")])
    assert_sender_fault(wire.post(path, body, content_type), path,
                        "which no MIME part carries (parts: a\\x01b)")
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_part_declared_base64_that_does_not_decode_is_refused(wire, path):
    content_type, body = package(wire.valid(path), parts=[("0.2", b"abc")])
    body = body.replace(b"Content-Transfer-Encoding: binary\r\nContent-ID: <0.2>",
                        b"Content-Transfer-Encoding: base64\r\nContent-ID: <0.2>")
    assert_sender_fault(wire.post(path, body, content_type), path,
                        "MIME part 2 is declared base64 but does not decode")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_package_of_50000_empty_parts_is_answered_as_usual(wire, path):
    """Empty parts without a Content-ID are carried and ignored (2 MB of them)."""
    content_type, body = package(wire.valid(path))
    filler = (f"--{BOUNDARY}\r\n\r\n\r\n" * 50_000).encode()
    body = body.replace(f"--{BOUNDARY}--".encode(), filler + f"--{BOUNDARY}--".encode())
    assert_normal_answer(wire.post(path, body, content_type))
    wire.assert_still_serving(path)
