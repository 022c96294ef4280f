"""MTOM/XOP packages in and out (the DMP feeds and retrieves documents this way)."""
from __future__ import annotations

import base64

import pytest

from envelopes import SOAP_CT, traits_request
from simulator.soap.errors import ProtocolError
from simulator.soap.mtom import build_related, split_related
from simulator.soap.parsing import parse_soap12

ALL_BYTES = bytes(range(256)) * 4
BOUNDARY = "MIMEBoundary_urn_uuid_4D3A"
XOP_CT = (f'multipart/related; boundary="{BOUNDARY}"; type="application/xop+xml"; '
          'start="<0.urn:uuid:root@apache.org>"; start-info="application/soap+xml"; '
          'action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"')
DOCUMENT_ENVELOPE = (
    b"<?xml version='1.0' encoding='UTF-8'?>"
    b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>'
    b'<x:Documents xmlns:x="urn:test" xmlns:xop="http://www.w3.org/2004/08/xop/include">'
    b'<x:Document id="d1"><xop:Include href="cid:1.urn%3Auuid%3Adoc1%40apache.org"/></x:Document>'
    b'<x:Document id="d2"><xop:Include href="cid:doc2@example.org"/></x:Document>'
    b"</x:Documents></soap:Body></soap:Envelope>")


def package(root: bytes, parts, newline=b"\r\n", close=True) -> bytes:
    """An Axis2/CXF-style package: root part with an XML declaration, then binary parts."""
    lines = [f"--{BOUNDARY}".encode(),
             b'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"',
             b"Content-Transfer-Encoding: binary", b"Content-ID: <0.urn:uuid:root@apache.org>",
             b"", root]
    for cid, data in parts:
        lines += [f"--{BOUNDARY}".encode(), b"Content-Type: application/octet-stream",
                  b"Content-Transfer-Encoding: binary", f"Content-ID: <{cid}>".encode(), b"", data]
    body = newline.join(lines) + newline
    return body + (f"--{BOUNDARY}--".encode() + newline if close else b"")


@pytest.mark.parametrize("newline", [b"\r\n", b"\n"])
def test_includes_are_resolved_with_every_byte_intact(newline):
    raw = package(DOCUMENT_ENVELOPE, [("1.urn:uuid:doc1@apache.org", ALL_BYTES),
                                      ("doc2@example.org", b"<ClinicalDocument/>\r\n")], newline)
    request = parse_soap12(raw, XOP_CT)
    documents = request.body_element.findall("{urn:test}Document")
    assert base64.b64decode(documents[0].text) == ALL_BYTES  # percent-encoded cid (RFC 2392)
    assert base64.b64decode(documents[1].text) == b"<ClinicalDocument/>\r\n"
    assert request.action == "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"


def test_an_insi_search_sent_as_mtom_is_answered(client):
    root = traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26")
    response = client.post("/lps", data=package(root, []), content_type=XOP_CT)
    assert response.status_code == 200 and b"<CodeCR>00</CodeCR>" in response.data


@pytest.mark.parametrize("raw, content_type, message", [
    (package(DOCUMENT_ENVELOPE, []), XOP_CT.replace(f'boundary="{BOUNDARY}"; ', ""),
     "has no boundary parameter"),
    (package(DOCUMENT_ENVELOPE, [("doc2@example.org", b"x")], close=False), XOP_CT,
     f"closing boundary --{BOUNDARY}-- is missing"),
    (package(DOCUMENT_ENVELOPE, []).replace(BOUNDARY.encode(), b"OTHER"), XOP_CT,
     "not found at least twice"),
    (package(DOCUMENT_ENVELOPE, [("doc2@example.org", b"x")]),
     XOP_CT.replace("0.urn:uuid:root@apache.org", "nowhere"), "no part has the Content-ID <nowhere>"),
    (package(DOCUMENT_ENVELOPE, [("doc2@example.org", b"x")]), XOP_CT,
     "references 'cid:1.urn%3Auuid%3Adoc1%40apache.org', which no MIME part carries"),
])
def test_broken_packages_are_refused_with_the_reason(raw, content_type, message):
    with pytest.raises(ProtocolError) as error:
        parse_soap12(raw, content_type)
    assert error.value.kind == "malformed" and message in error.value.message


def test_broken_package_gets_an_insi_fault_over_http(client):
    raw = package(traits_request("ADRUN", "ZOE", "F", "1975-12-31"), [], close=False)
    response = client.post("/lps", data=raw, content_type=XOP_CT)
    assert response.status_code == 500 and b"Malformed MTOM package" in response.data


def test_multipart_without_xop_type_is_415(client):
    response = client.post("/lps", data=package(b"<x/>", []),
                           content_type=f'multipart/related; boundary="{BOUNDARY}"')
    assert response.status_code == 415


def test_built_packages_read_back():
    envelope = DOCUMENT_ENVELOPE.replace(b"1.urn%3Auuid%3Adoc1%40apache.org", b"doc1@sim")
    content_type, body = build_related(envelope, [("doc1@sim", ALL_BYTES),
                                                  ("doc2@example.org", b"")],
                                       action="urn:ihe:iti:2007:RetrieveDocumentSetResponse")
    from simulator.soap.parsing import content_type_parts
    media_type, params = content_type_parts(content_type)
    assert media_type == "multipart/related" and params["type"] == "application/xop+xml"
    assert params["action"] == "urn:ihe:iti:2007:RetrieveDocumentSetResponse"
    root, parts = split_related(body, params)
    assert root == envelope and parts == {"doc1@sim": ALL_BYTES, "doc2@example.org": b""}


def test_a_base64_part_is_decoded_to_its_bytes():
    raw = package(DOCUMENT_ENVELOPE, [("1.urn:uuid:doc1@apache.org", b"plain"),
                                      ("doc2@example.org", b"ignored")])
    encoded = base64.b64encode(ALL_BYTES)
    raw = raw.replace(b"Content-Transfer-Encoding: binary\r\nContent-ID: <doc2@example.org>"
                      b"\r\n\r\nignored",
                      b"Content-Transfer-Encoding: BASE64\r\nContent-ID: <doc2@example.org>"
                      b"\r\n\r\n" + encoded)
    _, parts = split_related(raw, {"boundary": BOUNDARY, "start": "0.urn:uuid:root@apache.org"})
    assert parts["doc2@example.org"] == ALL_BYTES
    assert parts["1.urn:uuid:doc1@apache.org"] == b"plain"
