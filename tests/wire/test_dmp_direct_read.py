"""The DMP's direct path (simulator/soap/direct.py, the AnyXml body handed straight to
the handler) answers exactly as spyne's own request path, byte for byte, faults
included (issue 15).

The README's walk-through requests (docs/examples/dmp) and odd variants of them go
through each DMP endpoint twice, with the direct path and with spyne's path only. The
answers' random parts (message ids, the MTOM boundary) are drawn from one seeded
sequence, restarted before each send, so that both answers must be identical bytes.
"""
from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest
from werkzeug.test import Client

from simulator.settings import parse_datetime
from simulator.soap.direct import DECLINED
from simulator.soap.parsing import parse_soap12

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "dmp"
SOAP_CT = "application/soap+xml; charset=utf-8"
BASE = "/si-dmp-server/v2/services"
SOAP_BODY = b"<soap:Body>"
XSI = b'xmlns:sx="http://www.w3.org/2001/XMLSchema-instance"'  # a prefix no file uses


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def with_body(data: bytes, change) -> bytes:
    """``data`` with its soap:Body content rewritten by ``change(content) -> bytes``."""
    start = data.index(SOAP_BODY) + len(SOAP_BODY)
    end = data.rindex(b"</soap:Body>")
    return data[:start] + change(data[start:end]) + data[end:]


def first_tag_end(content: bytes) -> int:
    return content.index(b">")


def comment_inside(content: bytes) -> bytes:
    at = first_tag_end(content) + 1
    return content[:at] + b"<!-- c -->" + content[at:]


def xsi_nil(content: bytes) -> bytes:
    at = first_tag_end(content)
    return content[:at] + b" " + XSI + b' sx:nil="true"' + content[at:]


def xsi_type(content: bytes) -> bytes:
    at = first_tag_end(content)
    return content[:at] + b" " + XSI + b' sx:type="sx:string"' + content[at:]


# (service, request file, what the direct reader should do), each read both ways.
PLAIN = {
    "td0.2": ("patients", "01-test-existence.xml"),
    "td0.3": ("habilitations", "03-authorise.xml"),
    "td3.1": ("registry", "05-find-documents.xml"),
    "td3.2": ("repository", "06-retrieve.xml"),
}
ODD = {  # name: (service, file, change, read directly?)
    "comment-before-body-element": (lambda c: b"<!-- first -->" + c, False),
    "comment-first-in-body-element": (comment_inside, True),
    "whitespace-around-body-element": (lambda c: b"\n  " + c + b"\n", True),
    "xsi-nil-body-element": (xsi_nil, False),
    "xsi-type-body-element": (xsi_type, False),
    "empty-body-element": (lambda c: c[:first_tag_end(c)] + b"/>", True),
    "two-body-elements": (lambda c: c + c, True),
    "body-element-emptied-of-children": (
        lambda c: c[:first_tag_end(c) + 1] + c[c.rindex(b"</"):], True),
}
CASES = {f"{name}:{op}": (service, file, change, direct)
         for name, (change, direct) in ODD.items()
         for op, (service, file) in PLAIN.items()}
CASES.update({op: (service, file, None, True) for op, (service, file) in PLAIN.items()})


@pytest.fixture(scope="module")
def dmp(tmp_path_factory):
    """A simulator at the walk-through's date with its DMP made (created, authorised,
    one document fed): the state the requests above answer from."""
    from simulator.app import create_app
    from simulator.settings import Settings
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("dmp-direct"), population=100,
                              date=parse_datetime("2025-01-15T10:00:00Z"), frozen=True))
    client = Client(app)
    for service, name in (("patients", "02-create.xml"), ("habilitations", "03-authorise.xml")):
        assert client.post(f"{BASE}/{service}", data=example(name),
                           content_type=SOAP_CT).status_code == 200
    feed_type = (EXAMPLES / "04-feed.content-type").read_text().strip()
    assert client.post(f"{BASE}/repository", data=example("04-feed.mtom"),
                       content_type=feed_type).status_code == 200
    return app


@pytest.fixture
def seeded(monkeypatch):
    """Restart the answers' random draws (UUIDs of the message ids, the MTOM boundary)."""
    state = {}

    def restart():
        state["random"] = random.Random(15)
    restart()

    def fake_urandom(size: int) -> bytes:
        return state["random"].randbytes(size)
    monkeypatch.setattr("simulator.soap.addressing.os.urandom", fake_urandom)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(bytes=fake_urandom(16), version=4))
    return restart


def answer(dmp, service: str, data: bytes, direct: bool, restart):
    """(status, content type, body) of one request, the direct path on or off."""
    endpoint = dmp.simulator.endpoints[f"{BASE}/{service}"]
    saved = endpoint.direct
    if not direct:
        endpoint.direct = {}
    restart()
    try:
        response = Client(dmp).post(f"{BASE}/{service}", data=data, content_type=SOAP_CT)
    finally:
        endpoint.direct = saved
    return response.status_code, response.headers["Content-Type"], response.data


def read_directly(dmp, service: str, data: bytes) -> bool:
    """Whether the direct reader takes this body (else spyne reads it)."""
    endpoint = dmp.simulator.endpoints[f"{BASE}/{service}"]
    request = parse_soap12(data, SOAP_CT)
    _, key = endpoint.binding.resolve_operation(request)
    return endpoint.direct[key].read(request.body_element) is not DECLINED


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_direct_path_answers_the_same_bytes_as_spyne(dmp, seeded, case):
    service, file, change, direct = CASES[case]
    data = example(file) if change is None else with_body(example(file), change)
    assert read_directly(dmp, service, data) is direct
    fast = answer(dmp, service, data, True, seeded)
    assert fast == answer(dmp, service, data, False, seeded)
    if change is None:  # the plain requests are answered, not refused
        assert fast[0] == 200 and b"Fault" not in fast[2]


def test_the_seeded_draws_make_the_answers_repeat(dmp, seeded):
    """The comparison can fail: without the restart, two answers differ by their ids."""
    data = example("01-test-existence.xml")
    first = answer(dmp, "patients", data, True, seeded)
    assert answer(dmp, "patients", data, True, seeded) == first
    assert answer(dmp, "patients", data, True, lambda: None) != first
