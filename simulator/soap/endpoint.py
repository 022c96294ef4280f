"""One SOAP 1.2 endpoint as a WSGI application.

The endpoint reads the request (bounded), parses it safely, lets the service binding
choose the operation, runs it through spyne, and asks the binding to render either
the result or the error in the service's own dialect. Every exchange goes to the
journal. Nothing here knows INSi or the DMP.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

from spyne import MethodContext
from spyne.server import ServerBase

from simulator.soap.errors import ProtocolError
from simulator.soap.parsing import SoapRequest, parse_soap12
from simulator.soap.spyne_glue import UnexpectedError

LOG = logging.getLogger(__name__)


@dataclass
class Reply:
    """What goes back on the wire."""

    status: int
    body: bytes
    content_type: str = 'application/soap+xml; charset=utf-8'
    outcome: str = "ok"  # short label for the journal, e.g. "CR 00" or "fault siram_40/insi_102"


@dataclass
class Exchange:
    """Per-request context handed to the service (spyne's ``ctx.udc``)."""

    request_id: str
    request: SoapRequest
    operation: str
    method_key: str
    environ: dict
    service: object  # the binding's domain context (registry, settings, clock...)


class ServiceBinding(Protocol):
    """What a service provides to be served by a :class:`SoapEndpoint`."""

    name: str
    application: object  # the spyne Application
    context: object  # handed to service methods as ``ctx.udc.service``

    def resolve_operation(self, request: SoapRequest) -> tuple[str, str]:
        """(operation name, spyne method key); raise ProtocolError('unknown-operation')."""

    def render_result(self, exchange: Exchange, result) -> Reply:
        """Serialise a successful result."""

    def render_error(self, error: BaseException, request: SoapRequest | None,
                     request_id: str) -> Reply:
        """Serialise a ProtocolError, ServiceFault or any other error as a fault."""

    def serve_document(self, environ) -> tuple[int, str, bytes] | None:
        """Answer a GET (WSDL/XSD), or None for 'not a document request'."""


class SoapEndpoint(ServerBase):
    """WSGI application serving one SOAP 1.2 service."""

    transport = "http://schemas.xmlsoap.org/soap/http"

    def __init__(self, binding: ServiceBinding, journal, clock, max_request_bytes: int):
        super().__init__(binding.application)
        self.binding = binding
        self.journal = journal
        self.clock = clock
        self.max_request_bytes = max_request_bytes

    def __call__(self, environ, start_response):
        started = self.clock.monotonic()
        request_id = uuid.uuid4().hex[:16]
        raw, request, operation = b"", None, None
        try:
            if environ.get("REQUEST_METHOD") == "GET":
                document = self.binding.serve_document(environ)
                if document is not None:
                    status, content_type, body = document
                    start_response(_status_line(status), [("Content-Type", content_type),
                                                          ("Content-Length", str(len(body)))])
                    return [body]
            if environ.get("REQUEST_METHOD") != "POST":
                raise ProtocolError("method", "Only POST is accepted for SOAP requests "
                                    "(GET ?wsdl for the service description)", 405)
            raw = _read_body(environ, self.max_request_bytes)
            request = parse_soap12(raw, environ.get("CONTENT_TYPE"))
            operation, key = self.binding.resolve_operation(request)
            exchange = Exchange(request_id, request, operation, key, environ,
                                self.binding.context)
            reply = self.binding.render_result(exchange, self._invoke(exchange))
        except Exception as error:  # noqa: BLE001 - every error becomes the service's fault
            if isinstance(error, UnexpectedError) or not _is_typed(error):
                cause = getattr(error, "cause", error)
                LOG.error("request %s: unexpected %r", request_id, cause,
                          exc_info=(type(cause), cause, cause.__traceback__))
            reply = self.binding.render_error(error, request, request_id)
        headers = [("Content-Type", reply.content_type),
                   ("Content-Length", str(len(reply.body))),
                   ("X-Request-Id", request_id)]
        if reply.status == 405:
            headers.append(("Allow", "GET, POST"))
        start_response(_status_line(reply.status), headers)
        self.journal.record(request_id=request_id, service=self.binding.name,
                            operation=operation, environ=environ, status=reply.status,
                            outcome=reply.outcome, started=started,
                            request_body=raw, response_body=reply.body)
        return [reply.body]

    def _invoke(self, exchange: Exchange):
        """Run the operation through spyne; return its result or raise its fault."""
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


def _is_typed(error: BaseException) -> bool:
    from spyne.model.fault import Fault
    return isinstance(error, (ProtocolError, Fault))


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


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            413: "Payload Too Large", 415: "Unsupported Media Type",
            500: "Internal Server Error", 503: "Service Unavailable"}


def _status_line(status: int) -> str:
    return f"{status} {_REASONS.get(status, 'Status')}"
