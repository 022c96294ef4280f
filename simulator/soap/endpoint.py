"""One SOAP 1.2 endpoint as a WSGI application.

The endpoint reads the request (bounded in size, and never decompressed: a
Content-Encoding is refused with 415), parses it safely, lets the service binding
choose the operation, asks the chaos engine whether a rule fires, runs the operation
(its body read directly when :mod:`simulator.soap.direct` can, else by spyne), and asks
the binding to render either the result or the error in the service's own dialect. Every exchange goes to the journal and the metrics. Nothing
here knows INSi or the DMP.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from spyne import MethodContext
from spyne.model.fault import Fault
from spyne.server import ServerBase

from simulator.chaos import effects
from simulator.chaos.scenario import RequestFacts
from simulator.soap.direct import DECLINED, direct_methods
from simulator.soap.errors import ProtocolError, ServiceFault
from simulator.soap.parsing import SoapRequest, parse_soap12
from simulator.soap.reply import Reply, status_line
from simulator.soap.spyne_glue import UnexpectedError
from simulator.ports.errors import StorageFull

LOG = logging.getLogger(__name__)


@dataclass
class Exchange:
    """Per-request context handed to the service (spyne's ``ctx.udc``)."""

    request_id: str
    request: SoapRequest
    operation: str
    method_key: str
    environ: dict
    service: object  # the binding's domain context (registry, settings, clock...)
    reply_headers: list = field(default_factory=list)  # extra HTTP headers for the answer
    # The simulated instant the service read the clock at, if it did: the binding puts
    # it on the Reply, so that the journal does not read the clock again (issue 15).
    at: datetime | None = None

    @property
    def client_certificate(self) -> dict | None:
        """The connection's verified TLS client certificate, or None."""
        return peer_certificate(self.environ)


def peer_certificate(environ) -> dict | None:
    """The verified client certificate of the request's connection, as
    ``ssl.SSLSocket.getpeercert()`` gives it (``subject`` as RDN tuples); None on plain
    HTTP, without client authentication, or outside gunicorn."""
    getpeercert = getattr(environ.get("gunicorn.socket"), "getpeercert", None)
    if getpeercert is None:
        return None
    try:
        certificate = getpeercert()
    except (ValueError, OSError):  # no handshake (yet), or the connection is gone
        return None
    return certificate or None  # {} when the certificate was not verified


class ServiceBinding(Protocol):
    """What a service provides to be served by a :class:`SoapEndpoint`."""

    name: str
    application: object  # the spyne Application
    context: object  # handed to service methods as ``ctx.udc.service``

    def resolve_operation(self, request: SoapRequest) -> tuple[str, str]:
        """(operation name, spyne method key); raise ProtocolError('unknown-operation')."""

    def request_facts(self, request: SoapRequest, operation: str) -> RequestFacts:
        """What chaos rules can match on (caller, patient...), best effort."""

    def fault(self, name: str) -> ServiceFault:
        """The catalogue fault a chaos rule names."""

    def render_result(self, exchange: Exchange, result) -> Reply:
        """Serialise a successful result."""

    def render_error(self, error: BaseException, request: SoapRequest | None) -> Reply:
        """Serialise a ProtocolError, ServiceFault or any other error as a fault."""

    def serve_document(self, environ) -> tuple[int, str, bytes] | None:
        """Answer a GET (WSDL/XSD), or None for 'not a document request'."""


class SoapEndpoint(ServerBase):
    """WSGI application serving one SOAP 1.2 service."""

    transport = "http://schemas.xmlsoap.org/soap/http"

    def __init__(self, binding: ServiceBinding, recorder, chaos, clock,
                 max_request_bytes: int):
        super().__init__(binding.application)
        self.binding = binding
        self.recorder = recorder
        self.chaos = chaos
        self.clock = clock
        self.max_request_bytes = max_request_bytes
        self.direct = direct_methods(binding.application)  # by spyne method key

    def __call__(self, environ, start_response):
        started = self.clock.monotonic()
        request_id = os.urandom(8).hex()  # 16 hex digits, as uuid4().hex[:16] gave
        raw, request, operation, decision, facts = b"", None, None, None, None
        headers = [("X-Request-Id", request_id)]
        try:
            if environ.get("REQUEST_METHOD") == "GET":
                document = self.binding.serve_document(environ)
                if document is not None:
                    return _send(start_response, Reply(document[0], document[2], document[1]),
                                 [])
            if environ.get("REQUEST_METHOD") != "POST":
                raise ProtocolError("method", "Only POST is accepted for SOAP requests "
                                    "(GET ?wsdl for the service description)", 405)
            coding = _content_coding(environ)
            if coding:
                # RFC 9110 §8.4 and RFC 7694 §3: refuse the coding, say which one is
                # accepted. The body is never read, so a gzip bomb is never inflated.
                headers.append(("Accept-Encoding", "identity"))
                raise ProtocolError("media-type", f"Content-Encoding {coding!r} is not "
                                    "accepted: send the SOAP message uncompressed (no "
                                    "Content-Encoding header, or identity)", 415)
            raw = _read_body(environ, self.max_request_bytes)
            request = parse_soap12(raw, environ.get("CONTENT_TYPE"))
            operation, key = self.binding.resolve_operation(request)
            # Extracted once: chaos rules match on them, the journal is queried by them.
            facts = self._facts(request, operation, request_id)
            decision = self.chaos.decide(lambda: facts)
            reply = self._answer(decision, Exchange(request_id, request, operation, key,
                                                    environ, self.binding.context))
        except Exception as error:  # noqa: BLE001 - every error becomes the service's fault
            if isinstance(error, UnexpectedError) or not isinstance(error, (ProtocolError,
                                                                            Fault)):
                cause = getattr(error, "cause", error)
                if isinstance(cause, StorageFull):  # not a bug: said in the fault
                    LOG.warning("request %s: %s", request_id, cause)
                else:
                    LOG.error("request %s: unexpected %r", request_id, cause,
                              exc_info=(type(cause), cause, cause.__traceback__))
            reply = self._render_error(error, request, request_id)
        self.recorder.record(request_id=request_id, service=self.binding.name,
                             operation=operation, environ=environ, reply=reply,
                             started=started, request_body=raw, decision=decision,
                             facts=facts)
        if decision is not None and decision.action.kind in effects.TRANSPORT_ACTIONS:
            return effects.deliver(decision, reply, _headers(reply, headers), environ,
                                   start_response, self.clock)
        return _send(start_response, reply, headers)

    def _facts(self, request: SoapRequest, operation: str, request_id: str) -> RequestFacts:
        """The binding's facts of a request; bare ones if it fails, so that extracting
        them for the journal never turns an answer into a fault."""
        try:
            return self.binding.request_facts(request, operation)
        except Exception:  # noqa: BLE001 - best effort by contract
            LOG.warning("request %s: no caller facts", request_id, exc_info=True)
            return RequestFacts(service=self.binding.name, operation=operation)

    def _render_error(self, error: BaseException, request: SoapRequest | None,
                      request_id: str) -> Reply:
        """The service's fault for ``error``; its technical fault when that fault cannot
        be written (e.g. its message quotes a control character, which XML cannot carry),
        so that no error ever leaves the endpoint as a bare HTTP 500."""
        try:
            return self.binding.render_error(error, request)
        except Exception as failure:  # noqa: BLE001 - the last resort is the technical fault
            LOG.error("request %s: the fault for %r could not be rendered: %r", request_id,
                      error, failure, exc_info=(type(failure), failure, failure.__traceback__))
            return self.binding.render_error(RuntimeError("unrenderable fault"), request)

    def _answer(self, decision, exchange: Exchange) -> Reply:
        """The service's answer, after the rule's delay, unless the rule replaces it."""
        if decision is not None:
            if decision.delay:
                self.clock.delay(decision.delay)
            if decision.action.kind == "fault":
                raise self.binding.fault(decision.action.fault)
            if decision.action.kind == "http_status":
                return effects.http_status_reply(decision.action.status)
        return self.binding.render_result(exchange, self._invoke(exchange))

    def _invoke(self, exchange: Exchange):
        """Run the operation; return its result or raise its fault. A body that
        :mod:`simulator.soap.direct` can read goes straight to the method; spyne reads
        any other, with its own faults."""
        direct = self.direct.get(exchange.method_key)
        if direct is not None:
            argument = direct.read(exchange.request.body_element)
            if argument is not DECLINED:
                return direct.call(exchange, argument)
        ctx = MethodContext(self, MethodContext.SERVER)
        ctx.udc = exchange
        ctx.in_string = []
        p_ctx = self.generate_contexts(ctx)[0]
        if p_ctx.in_error is None:
            self.get_in_object(p_ctx)
        if p_ctx.in_error is not None:
            raise p_ctx.in_error
        self.get_out_object(p_ctx)
        if p_ctx.out_error is not None:
            raise p_ctx.out_error
        return p_ctx.out_object[0]


def _headers(reply: Reply, extra: list) -> list:
    headers = [("Content-Type", reply.content_type), ("Content-Length", str(len(reply.body))),
               *reply.headers]
    if reply.status == 405:
        headers.append(("Allow", "GET, POST"))
    return headers + extra


def _send(start_response, reply: Reply, extra: list):
    start_response(status_line(reply.status), _headers(reply, extra))
    return [reply.body]


def _content_coding(environ) -> str:
    """The request's Content-Encoding when it is not ``identity`` (lower case), else ''."""
    codings = [c.strip().lower() for c in environ.get("HTTP_CONTENT_ENCODING", "").split(",")]
    return ", ".join(c for c in codings if c and c != "identity")


def _read_body(environ, limit: int) -> bytes:
    length = environ.get("CONTENT_LENGTH") or ""
    if length.strip():
        try:
            declared = int(length)
        except ValueError:
            raise ProtocolError("malformed", f"Invalid Content-Length {length!r}", 400) from None
        if declared > limit:
            raise ProtocolError("too-large", f"Request body of {declared} bytes exceeds the "
                                f"limit of {limit} bytes", 413)
    stream = environ["wsgi.input"]
    body = stream.read(limit + 1) if not length.strip() else stream.read(int(length))
    if len(body) > limit:
        raise ProtocolError("too-large", f"Request body exceeds the limit of {limit} bytes", 413)
    return body
