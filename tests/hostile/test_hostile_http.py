"""HTTP framing on every SOAP endpoint: media types a SOAP 1.2 endpoint does not take
get 415, and compressed bodies get 415 without being read, so a gzip bomb is never
inflated (RFC 9110 §8.4: a server may refuse a content coding; RFC 7694 §3: it then
says, in Accept-Encoding, what it takes).

tests/wire/test_*_bad_input.py already cover text/xml and (for the DMP) no
Content-Type at all."""
from __future__ import annotations

import gzip
import io
import time

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wrappers import Response

from hostile_payloads import gzip_bomb
from hostile_wire import ENDPOINTS, Timed, assert_normal_answer, assert_sender_fault

WRONG_TYPES = [
    ("none", None, "Unsupported Content-Type (none)"),
    ("json", "application/json", "Unsupported Content-Type application/json"),
    ("form", "application/x-www-form-urlencoded",
     "Unsupported Content-Type application/x-www-form-urlencoded"),
    ("multipart-form", "multipart/form-data; boundary=x",
     "Unsupported Content-Type multipart/form-data"),
    ("multipart-related-without-xop", 'multipart/related; boundary=x; type="text/xml"',
     "Unsupported Content-Type multipart/related"),
    ("bare-xop", "application/xop+xml", "Unsupported Content-Type application/xop+xml"),
    ("soap11", "text/xml; charset=utf-8", "Unsupported Content-Type text/xml"),
    ("garbage", ";;;==;", "Unsupported Content-Type (none)"),
    ("wildcard", "*/*", "Unsupported Content-Type */*"),
]


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("case, content_type, message", WRONG_TYPES,
                         ids=[c[0] for c in WRONG_TYPES])
def test_a_media_type_that_is_not_soap12_is_415(wire, path, case, content_type, message):
    answer = wire.post(path, wire.valid(path), content_type=content_type)
    fault = assert_sender_fault(answer, path, message, status=415)
    assert "expects application/soap+xml" in fault.message
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_the_media_type_is_case_insensitive(wire, path):
    """RFC 9110 §8.3.1: type, subtype and parameter names are case-insensitive."""
    answer = wire.post(path, wire.valid(path), "Application/SOAP+XML; Charset=UTF-8")
    assert_normal_answer(answer)


class UnreadableBody(io.RawIOBase):
    """A request body that fails the test if anyone reads it."""

    def readable(self):
        return True

    def read(self, size=-1):
        raise AssertionError("the body of a refused Content-Encoding was read")

    readinto = read


def post_unread(app, path: str, coding: str, length: int) -> Timed:
    """POST with ``Content-Encoding: coding`` a body that must not be read."""
    environ = EnvironBuilder(path=path, method="POST", content_type="application/soap+xml",
                             headers={"Content-Encoding": coding}).get_environ()
    environ["CONTENT_LENGTH"] = str(length)
    environ["wsgi.input"] = UnreadableBody()
    started = time.perf_counter()
    body, status, headers = run_wsgi_app(app, environ, buffered=True)
    return Timed(Response(b"".join(body), status=status, headers=headers),
                 time.perf_counter() - started)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_gzip_bomb_is_refused_without_being_read(hostile_app, wire, path):
    bomb = gzip_bomb()
    assert len(bomb) < 100_000
    answer = post_unread(hostile_app, path, "gzip", len(bomb))
    fault = assert_sender_fault(answer, path, "Content-Encoding 'gzip' is not accepted: send "
                                "the SOAP message uncompressed", status=415)
    assert answer.response.headers["Accept-Encoding"] == "identity", fault
    timed = wire.post(path, bomb, headers={"Content-Encoding": "gzip"})  # and on the wire
    assert_sender_fault(timed, path, "Content-Encoding 'gzip' is not accepted", status=415)
    wire.assert_still_serving(path)


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("coding", ["deflate", "br", "x-gzip", "GZIP", "identity, gzip",
                                    "compress"])
def test_every_content_coding_is_refused(wire, path, coding):
    body = gzip.compress(wire.valid(path))
    answer = wire.post(path, body, headers={"Content-Encoding": coding})
    expected = ", ".join(c.strip().lower() for c in coding.split(",") if c.strip() != "identity")
    assert_sender_fault(answer, path, f"Content-Encoding {expected!r} is not accepted",
                        status=415)
    assert answer.response.headers["Accept-Encoding"] == "identity"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_gzip_body_without_content_encoding_is_just_not_xml(wire, path):
    """Nothing guesses a compression the client did not declare."""
    answer = wire.post(path, gzip.compress(wire.valid(path)))
    assert_sender_fault(answer, path, "XML is not well-formed")


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("coding", ["identity", " Identity ", ""])
def test_the_identity_coding_is_accepted(wire, path, coding):
    answer = wire.post(path, wire.valid(path), headers={"Content-Encoding": coding})
    assert_normal_answer(answer)
    assert "Accept-Encoding" not in answer.response.headers


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_control_character_in_the_media_type_is_escaped_in_the_fault(wire, path):
    """XML cannot carry U+001B: quoted as is, the fault could not be written (found by
    the property tests)."""
    answer = wire.post(path, wire.valid(path), content_type="text/\x1bplain")
    assert_sender_fault(answer, path, "Unsupported Content-Type text/\\x1bplain", status=415)
