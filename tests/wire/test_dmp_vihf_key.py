"""The key a VIHF's reading is reused by (simulator/services/dmp/vihf_key.py): the
assertion's bytes in the request, with its namespaces in scope and the encoding; lxml's
serialisation whenever those bytes cannot be told apart for sure. Two requests may share
a key only when their assertions read the same."""
from __future__ import annotations

from datetime import timedelta

from simulator.kit import soap as builder
from simulator.services.dmp.vihf import VihfCache, _assertion, read_vihf
from simulator.services.dmp.vihf_key import assertion_key
from simulator.settings import parse_datetime
from simulator.soap.parsing import parse_soap12

NOW = parse_datetime("2024-03-01T10:00:00Z")
CT = "application/soap+xml; charset=utf-8"
VIHF = builder.vihf("2024-03-01T09:58:30Z", signed=False)


def envelope(vihf: str = VIHF, message_id: str = "urn:uuid:1", before: str = "",
             after: str = "", declarations: str = "", declaration: str = "") -> bytes:
    """A SOAP request whose header holds ``vihf`` (its wsse:Security, with ``before``
    and ``after`` beside the assertion)."""
    security = vihf.replace("<saml:Assertion", before + "<saml:Assertion", 1).replace(
        "</wsse:Security>", after + "</wsse:Security>")
    return (f'{declaration}<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"'
            f' xmlns:wsa="http://www.w3.org/2005/08/addressing"{declarations}><soap:Header>'
            f"<wsa:MessageID>{message_id}</wsa:MessageID>{security}"
            "</soap:Header><soap:Body><x/></soap:Body></soap:Envelope>").encode(
                "latin-1" if "ISO-8859-1" in declaration else "utf-8")


def key(raw: bytes):
    request = parse_soap12(raw, CT)
    return assertion_key(_assertion(request.header), {}, request.source)


def test_the_key_is_the_assertions_bytes_whatever_else_the_request_says():
    first, second = key(envelope(message_id="urn:uuid:1")), key(envelope(message_id="urn:uuid:2"))
    assert first[0] == "source" and first == second
    assert first[-1].startswith(b"<saml:Assertion") and first[-1].endswith(b"</saml:Assertion>")


def test_another_assertion_has_another_key():
    other = builder.vihf("2024-03-01T09:58:30Z", signed=False, LPS_Nom="AUTRE-DPI")
    assert key(envelope(other)) != key(envelope())


def test_a_start_tag_written_twice_falls_back_to_the_serialised_assertion():
    # The bytes before a start tag decide whether it is the assertion (here, in a
    # comment, the first one is not): the source bytes are not used then.
    commented = key(envelope(before="<!-- <saml:Assertion -->"))
    assert commented[0] == "tree"
    assert commented == key(envelope(before="<!-- <saml:Assertion other -->"))
    assert key(envelope(before="<![CDATA[<saml:Assertion]]>"))[0] == "tree"


def test_a_later_end_tag_lengthens_the_bytes_never_shortens_them():
    later = key(envelope(after="<!-- a </saml:Assertion> -->"))
    assert later[0] == "source" and later[-1].endswith(b"<!-- a </saml:Assertion>")
    # The bytes after the assertion up to that tag are part of the key (no reuse when
    # they differ), those after it are not.
    assert later != key(envelope(after="<!-- b </saml:Assertion> -->")) != key(envelope())
    assert later == key(envelope(after="<!-- a </saml:Assertion> b -->"))


def test_the_namespaces_in_scope_and_the_encoding_are_part_of_the_key():
    plain = key(envelope())
    assert key(envelope(declarations=' xmlns:ds="urn:other"')) != plain
    latin = key(envelope(declaration="<?xml version='1.0' encoding='ISO-8859-1'?>"))
    assert latin[0] == "source" and latin[1] == "ISO-8859-1" and latin != plain


def test_an_assertion_in_the_default_namespace_has_a_source_key():
    default = VIHF.replace("<saml:", "<").replace("</saml:", "</").replace(
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"',
        'xmlns="urn:oasis:names:tc:SAML:2.0:assertion"')
    found = key(envelope(default))
    assert found[0] == "source" and found[-1].startswith(b"<Assertion ")


def test_readings_reused_by_source_key_are_those_of_a_fresh_reading():
    cache = VihfCache()
    for message_id in ("urn:uuid:1", "urn:uuid:2"):
        request = parse_soap12(envelope(message_id=message_id), CT)
        reused = read_vihf(request.header, NOW, max_skew=timedelta(minutes=10),
                           require_patient=True, require_signature=False,
                           memo=request.memo, cache=cache, source=request.source)
        fresh = read_vihf(request.header, NOW, max_skew=timedelta(minutes=10),
                          require_patient=True, require_signature=False)
        assert reused == fresh
    assert len(cache.checked) == 1
    (only,) = cache.checked
    assert only[0][0] == "source"
