"""Coverage-guided fuzzing of the simulator's request readers with atheris (libFuzzer).

    python fuzz/fuzz_soap.py [--target=NAME] [--strict] [libFuzzer options] [corpus dirs]

Targets (``--target``, default ``all``, which picks one per input by its first byte):

* ``envelope``: simulator.soap.parsing.parse_soap12, plain and MTOM (the MIME split);
* ``vihf``: simulator.services.dmp.vihf.read_vihf and peek_vihf on a soap:Header;
* ``xds``: simulator.services.dmp.xds.submission.parse_provide_and_register and the
  ebRIM readers of xds.model;
* ``wsgi``: the whole simulator app in-process (werkzeug test client), on the eleven
  SOAP endpoints.

The invariant is the hostile test suite's: a reader returns its result or raises its own
refusal (ProtocolError, VihfError, XdsFailure); the app answers a well-formed SOAP 1.2
envelope (HTTP 200, or a Fault with 500 or a 4xx), never a traceback or HTML, and never
logs an unexpected exception. Anything else raises, and libFuzzer saves the input as
``crash-<sha1>`` (in the current directory, or ``-artifact_prefix=``). Bugs reported
and not fixed yet (``KNOWN``) are let through unless ``--strict`` is given.

Without a corpus directory, the seeds (the tests' valid requests for every endpoint, a
VIHF, a TD2.1 submission, an MTOM package) are written to a temporary one. See
fuzz/README.md for installing atheris and the measured runs.
"""
from __future__ import annotations

import logging
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "hostile")]

with atheris.instrument_imports(include=["simulator"]):
    from lxml import etree

    from simulator.app import create_app
    from simulator.services.dmp.vihf import Vihf, VihfError, peek_vihf, read_vihf
    from simulator.services.dmp.xds.errors import XdsFailure
    from simulator.services.dmp.xds.model import (
        RIM, read_association, read_classification, read_registry_object)
    from simulator.services.dmp.xds.submission import Submission, parse_provide_and_register
    from simulator.settings import Settings, parse_datetime
    from simulator.soap.errors import ProtocolError
    from simulator.soap.mtom import split_related
    from simulator.soap.parsing import SoapRequest, content_type_parts, parse_soap12, safe_parser

from simulator.kit import xds  # noqa: E402 - after the instrumented imports
from simulator.kit.soap import vihf  # noqa: E402
from hostile_payloads import package  # noqa: E402
from hostile_wire import ENDPOINTS, NOW, Wire  # noqa: E402

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP_CT = "application/soap+xml; charset=utf-8"
MTOM_CT = xds.mtom_package(b"", [])[0]  # the tests' MTOM packages
CONTENT_TYPES = [
    SOAP_CT, MTOM_CT, "application/soap+xml", 'application/soap+xml; action="urn:a"', "text/xml", "",
    f'multipart/related; boundary="{xds.BOUNDARY}"; type="application/xop+xml"; '
    'start="<0.1>"',
    f'multipart/related; boundary="{xds.BOUNDARY}"; type="application/xop+xml"',
    'multipart/related; boundary="x"; type="application/xop+xml"',
    'multipart/related; type="application/xop+xml"']
VIHF_NOW = datetime(2024, 3, 1, 8, 30, tzinfo=timezone.utc)


class Finding(AssertionError):
    """The invariant does not hold for this input."""


# Bugs reported but not fixed yet, by a piece of their exception's message: skipped, so
# that a run looks for new ones, unless --strict is given. Empty: the findings so far
# (non-ASCII base64 in an xdsb:Document, a Unicode-digit RangNaissance) are fixed and
# tested in tests/hostile/test_hostile_findings.py.
KNOWN: dict[str, str] = {}
STRICT = False


def known(message: str) -> bool:
    """The message is that of a bug already reported (and --strict is not given)."""
    return not STRICT and any(piece in message for piece in KNOWN)


# --- targets ----------------------------------------------------------------------------------

def fuzz_envelope(data: bytes) -> None:
    """parse_soap12: a SoapRequest or a ProtocolError."""
    if not data:
        return
    content_type = CONTENT_TYPES[data[0] % len(CONTENT_TYPES)]
    try:
        request = parse_soap12(data[1:], content_type)
    except ProtocolError as error:
        if not error.message or error.http_status not in (400, 413, 415, 500):
            raise Finding(f"ProtocolError without a message or status: {error!r}") from error
        return
    if not isinstance(request, SoapRequest):
        raise Finding(f"parse_soap12 returned {request!r}")


def _xml(data: bytes):
    try:
        return etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError:
        return None


def fuzz_vihf(data: bytes) -> None:
    """read_vihf: a Vihf or a VihfError; peek_vihf: a dict."""
    if not data:
        return
    header = _xml(data[1:])
    if header is None:
        return
    flags = data[0]
    try:
        found = read_vihf(header, VIHF_NOW, max_skew=timedelta(minutes=5),
                          require_patient=bool(flags & 1), require_signature=bool(flags & 2))
    except VihfError as error:
        if not str(error):
            raise Finding("VihfError without a message") from error
    else:
        if not isinstance(found, Vihf):
            raise Finding(f"read_vihf returned {found!r}")
    if not isinstance(peek_vihf(header), dict):
        raise Finding("peek_vihf did not return a dict")


def fuzz_xds(data: bytes) -> None:
    """parse_provide_and_register: a Submission or an XdsFailure; the ebRIM readers: a
    result for any element."""
    body = _xml(data)
    if body is None:
        return
    try:
        submission = parse_provide_and_register(body)
    except XdsFailure as failure:
        if not failure.errors:
            raise Finding("XdsFailure without errors") from failure
    except ValueError as error:
        if not known(str(error)):
            raise
    else:
        if not isinstance(submission, Submission):
            raise Finding(f"parse_provide_and_register returned {submission!r}")
    for element in body.iter(f"{{{RIM}}}ExtrinsicObject", f"{{{RIM}}}RegistryPackage"):
        read_registry_object(element)
    for element in body.iter(f"{{{RIM}}}Association"):
        read_association(element)
    for element in body.iter(f"{{{RIM}}}Classification"):
        read_classification(element)


class _Errors(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


_WIRE: Wire | None = None
_ERRORS = _Errors()


def wire() -> Wire:
    """One in-process simulator for the whole run (as the hostile tests use)."""
    global _WIRE
    if _WIRE is None:
        data_dir = Path(tempfile.mkdtemp(prefix="fuzz-soap-"))
        _WIRE = Wire(create_app(Settings(data_dir=data_dir, population=0,
                                         date=parse_datetime(NOW), frozen=True)))
        logging.getLogger("simulator.soap.endpoint").addHandler(_ERRORS)
        logging.getLogger("simulator.soap.endpoint").propagate = False
    return _WIRE


def fuzz_wsgi(data: bytes) -> None:
    """The app: a SOAP 1.2 answer (200, or a Fault with 500 or a 4xx), nothing else."""
    if len(data) < 2:
        return
    path = ENDPOINTS[data[0] % len(ENDPOINTS)]
    content_type = CONTENT_TYPES[data[1] % len(CONTENT_TYPES)]
    _ERRORS.messages.clear()
    response = wire().http.post(path, data=data[2:], content_type=content_type)
    if not all(known(message) for message in _ERRORS.messages):
        raise Finding(f"unexpected error logged: {_ERRORS.messages}")
    check_answer(response)


def check_answer(response) -> None:
    """The wire invariant of tests/hostile/test_properties_wsgi.py."""
    text = response.data.decode("utf-8", errors="replace")
    if "Traceback" in text or "<html" in text.lower():
        raise Finding(f"traceback or HTML in the answer: {text[:300]}")
    status = response.status_code
    if not (status in (200, 500) or 400 <= status < 500):
        raise Finding(f"HTTP {status}")
    media_type, params = content_type_parts(response.headers.get("Content-Type"))
    raw = response.data
    if media_type == "multipart/related" and status == 200:
        raw = split_related(raw, params)[0]
    elif media_type != "application/soap+xml":
        raise Finding(f"HTTP {status} answered as {media_type!r}: {text[:300]}")
    try:
        root = etree.fromstring(raw, safe_parser())
    except etree.XMLSyntaxError as error:
        raise Finding(f"the answer is not well-formed XML ({error}): {text[:300]}") from None
    fault = root.find(f"{{{SOAP12}}}Body/{{{SOAP12}}}Fault")
    if root.tag != f"{{{SOAP12}}}Envelope" or (fault is None) != (status == 200):
        raise Finding(f"HTTP {status} with {'no ' if fault is None else ''}fault: {text[:300]}")


TARGETS = {"envelope": fuzz_envelope, "vihf": fuzz_vihf, "xds": fuzz_xds, "wsgi": fuzz_wsgi}


def fuzz_all(data: bytes) -> None:
    """One target per input, chosen by its first byte."""
    if data:
        list(TARGETS.values())[data[0] % len(TARGETS)](data[1:])


# --- seeds ------------------------------------------------------------------------------------

def seeds(target: str) -> list[bytes]:
    """Valid inputs of ``target``, in its input format."""
    requests = [wire().valid(path) for path in ENDPOINTS]
    mtom_type, mtom = package(requests[1])
    mtom_index = CONTENT_TYPES.index(mtom_type)
    header = ('<soap:Header xmlns:soap="http://www.w3.org/2003/05/soap-envelope">'
              + vihf("2024-03-01T08:30:00Z") + "</soap:Header>").encode()
    submission = xds.provide_and_register().body.encode()
    found = {
        "envelope": [b"\0" + r for r in requests] + [bytes([mtom_index]) + mtom],
        "vihf": [b"\3" + header, b"\0" + header],
        "xds": [submission],
        "wsgi": [bytes([n, 0]) + r for n, r in enumerate(requests)]
        + [bytes([1, mtom_index]) + mtom],
    }
    if target != "all":
        return found[target]
    return [bytes([list(TARGETS).index(name)]) + seed
            for name, inputs in found.items() for seed in inputs]


def main(argv: list[str]) -> None:
    global STRICT
    target = "all"
    for argument in list(argv[1:]):
        if argument.startswith("--target="):
            target = argument.split("=", 1)[1]
            argv.remove(argument)
        elif argument == "--strict":
            STRICT = True
            argv.remove(argument)
    if target not in (*TARGETS, "all"):
        sys.exit(f"unknown target {target!r}: one of {', '.join(TARGETS)} or all")
    if not any(not a.startswith("-") for a in argv[1:]):  # no corpus directory given
        corpus = Path(tempfile.mkdtemp(prefix=f"fuzz-soap-{target}-"))
        for number, seed in enumerate(seeds(target)):
            (corpus / f"seed-{number}").write_bytes(seed)
        argv.append(str(corpus))
    if not any(a.startswith("-max_len=") for a in argv):
        argv.append("-max_len=65536")
    atheris.Setup(argv, TARGETS.get(target, fuzz_all))
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
