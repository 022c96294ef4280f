"""The binding of one DMP service to a :class:`~simulator.soap.endpoint.SoapEndpoint`:
dispatch on the body element, WS-Addressing replies (MTOM when the answer carries
documents), and the one place where errors become DMP SOAP faults."""
from __future__ import annotations

from lxml import etree
from spyne import AnyXml, rpc
from spyne.model.fault import Fault

from simulator.chaos.scenario import RequestFacts
from simulator.services.dmp.call import DmpContext
from simulator.services.dmp.faults import DmpFault
from simulator.services.dmp.operations import DmpAnswer, DmpOperation
from simulator.services.dmp.vihf import LPS_NAME_ATTRIBUTE, peek_vihf
from simulator.soap.addressing import fault_envelope, random_uuid, response_envelope
from simulator.resources import data_folder
from simulator.soap.documents import WsdlDocuments
from simulator.soap.endpoint import Exchange
from simulator.soap.errors import STORAGE_FULL, ProtocolError, ServiceFault, capped
from simulator.soap.mtom import build_related
from simulator.soap.parsing import SoapRequest
from simulator.soap.reply import Reply
from simulator.soap.spyne_glue import UnexpectedError, build_application, method_key
from simulator.ports.errors import StorageFull

WSDL_DIR = data_folder("wsdl") / "dmp"

# spyne knows a DMP method by its body element; the body reaches the handler already
# parsed (``ctx.udc.request.body_element``), so spyne's own typing of it is unused.
def dmp_rpc(body_qname: str):
    """Declare a spyne method answering the body element ``body_qname``."""
    return rpc(AnyXml, _body_style="bare", _returns=AnyXml, _in_message_name=body_qname)


def _new_message_id() -> str:
    return f"urn:uuid:{random_uuid()}"


class DmpBinding:
    """Serves one DMP service (``patients``, ``registry``...) of one API version."""

    def __init__(self, service: str, spyne_service, operations: list[DmpOperation],
                 context: DmpContext, wsdl_file: str | None):
        self.service = service
        self.name = "dmp"
        self.context = context
        self.usage = context.usage  # flushed by the reports, written before a reset
        self.operations = {op.name: op for op in operations}
        self._by_body = {op.body: op for op in operations}
        self.application = build_application([spyne_service], tns=f"urn:insi-dmp-sim:{service}",
                                             name=service)
        self.documents = WsdlDocuments(WSDL_DIR, wsdl_file) if wsdl_file else None

    def resolve_operation(self, request: SoapRequest) -> tuple[str, str]:
        """The operation named by the body element."""
        operation = self._by_body.get(request.body_qname)
        if operation is None:
            offered = ", ".join(sorted(self._by_body))
            raise ProtocolError("unknown-operation",
                                f"body element {request.body_qname or '(none)'}; the "
                                f"{self.service} service accepts {offered}")
        return operation.name, method_key(self.application,
                                          etree.QName(operation.body).localname)

    def request_facts(self, request: SoapRequest, operation: str) -> RequestFacts:
        """Caller and patient as chaos rules see them (best effort: never raises)."""
        peek = peek_vihf(request.header, request.memo, self.context.vihf_cache,
                         request.source)
        return RequestFacts(service=self.name, operation=operation,
                            version=self.context.version,
                            lps_name=peek.get(LPS_NAME_ATTRIBUTE), ins=peek.get("ins"),
                            structure=peek.get("structure"),
                            professional=peek.get("professional"))

    def fault(self, name: str) -> ServiceFault:
        """The catalogue fault a scenario rule names."""
        return ServiceFault(DmpFault[name.upper()], detail=" (scenario)")

    def render_result(self, exchange: Exchange, answer: DmpAnswer) -> Reply:
        """The answer in a WS-Addressing envelope; MTOM when it has attachments."""
        action = answer.reply_action or self.operations[exchange.operation].reply_action
        envelope = _envelope(answer.body, action=action, message_id=_new_message_id(),
                             relates_to=exchange.request.message_id)
        headers = tuple(exchange.reply_headers)
        outcome = answer.outcome + (" (deprecated)" if headers else "")
        if answer.attachments:
            content_type, body = build_related(envelope, answer.attachments, action)
            return Reply(200, body, content_type, outcome=outcome, headers=headers,
                         rule=answer.rule, at=exchange.at)
        return Reply(200, envelope, outcome=outcome, headers=headers, rule=answer.rule,
                     at=exchange.at)

    def render_error(self, error: BaseException, request: SoapRequest | None) -> Reply:
        """Any error as a DMP SOAP fault."""
        fault, detail, status = _fault_of(error)
        spec = fault.spec
        body = fault_envelope(code=spec.code, subcode=spec.subcode,
                              reason=capped(fault.text(detail)),
                              message_id=_new_message_id(),
                              relates_to=request.message_id if request is not None else None)
        rule = error.details.get("rule") if isinstance(error, ServiceFault) else None
        return Reply(status, body, outcome=f"fault {fault.name}", rule=rule)

    def serve_document(self, environ):
        """``GET <service>?wsdl`` and the XSDs it imports."""
        return self.documents.serve(environ) if self.documents else None


# Stands for a body given as bytes: the envelope is written around it, then the marker's
# bytes (it is alone in its namespace, so they never vary) are replaced by the body's.
_SPLICE = etree.QName("urn:insi-dmp-sim:splice", "body")
_SPLICE_BYTES = etree.tostring(etree.Element(_SPLICE))


def _envelope(body: etree._Element | bytes, **addressing) -> bytes:
    """The response envelope of a body element, or of a body already serialised (a
    TD3.1 answer assembled from stored fragments): the same bytes either way."""
    if not isinstance(body, bytes):
        return response_envelope(body, **addressing)
    envelope = response_envelope(etree.Element(_SPLICE), **addressing)
    at = envelope.index(_SPLICE_BYTES)
    return b"".join((envelope[:at], body, envelope[at + len(_SPLICE_BYTES):]))


def _fault_of(error: BaseException) -> tuple[DmpFault, str, int]:
    if isinstance(error, ServiceFault):
        entry = error.entry
        return entry, error.details.get("detail", ""), entry.spec.http_status
    if isinstance(error, ProtocolError):
        entry = {"unknown-operation": DmpFault.ACTION_NOT_SUPPORTED,
                 "version-mismatch": DmpFault.VERSION_MISMATCH}.get(error.kind,
                                                                    DmpFault.INVALID_REQUEST)
        return entry, error.message, error.http_status
    if isinstance(getattr(error, "cause", error), StorageFull):
        return DmpFault.TECHNICAL_ERROR, STORAGE_FULL, 500
    if isinstance(error, UnexpectedError) or not isinstance(error, Fault):
        return DmpFault.TECHNICAL_ERROR, " (see the simulator's log)", 500
    return DmpFault.INVALID_REQUEST, error.faultstring, 500
