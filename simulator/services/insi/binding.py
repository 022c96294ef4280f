"""The INSi endpoint's binding: dispatch, rendering of results and of every error."""
from __future__ import annotations


from spyne.model.fault import Fault

from simulator.chaos.scenario import RequestFacts
from simulator.services.insi.contract import (
    LPS_IDAM, LPS_NAME, NS_RECSANS, NS_RECVIT, OP_TRAITS, OPERATIONS_BY_BODY, TNS)
from simulator.services.insi.contexts import contexts_of, text_of
from simulator.services.insi.errors import InsiError, insi_fault
from simulator.services.insi.matching import SearchOutcome
from simulator.services.insi.rendering import render_fault, render_result
from simulator.services.insi.service import InsiContext, InsiService
from simulator.services.insi.usage import InsiUsage, caller_of
from simulator.resources import data_folder
from simulator.soap.documents import WsdlDocuments
from simulator.soap.endpoint import Exchange
from simulator.soap.reply import Reply
from simulator.soap.errors import ProtocolError, ServiceFault, capped
from simulator.soap.parsing import SoapRequest, child_text
from simulator.soap.spyne_glue import UnexpectedError, build_application, method_key

WSDL_DIR = data_folder("wsdl") / "insi"


class InsiBinding:
    """Serves INSi at ``/lps`` through a :class:`~simulator.soap.endpoint.SoapEndpoint`."""

    name = "insi"

    def __init__(self, context: InsiContext):
        self.context = context
        self.application = build_application([InsiService], tns=TNS, name="ICIRService")
        self.documents = WsdlDocuments(WSDL_DIR, "insi.wsdl")
        self.usage = InsiUsage(context.store.timeline)  # for the timeline reports

    def resolve_operation(self, request: SoapRequest) -> tuple[str, str]:
        """The operation named by the body element (the action is checked later)."""
        operation = OPERATIONS_BY_BODY.get(request.body_qname)
        if operation is None:
            raise ProtocolError(
                "unknown-operation",
                f"Unknown operation: body element {request.body_qname or '(none)'}; this "
                "service accepts {http://www.cnamts.fr/INSiRecSans}RECSANSVITALE and "
                "{http://www.cnamts.fr/INSiRecVit}RECVITALE")
        local_name = request.body_qname.split("}", 1)[1]
        return operation, method_key(self.application, local_name)

    def request_facts(self, request: SoapRequest, operation: str) -> RequestFacts:
        """Caller and patient as chaos rules see them (best effort: never raises)."""
        contexts = contexts_of(request)
        body = request.body_element

        def text(value):
            return value.strip() if value and value.strip() else None
        ns = NS_RECSANS if operation == OP_TRAITS else NS_RECVIT
        number = text(child_text(body, f"{{{NS_RECVIT}}}MatriculeIndividu",
                                 f"{{{NS_RECVIT}}}NumIdentifiant"))
        name = text(child_text(body, f"{{{ns}}}NomNaissance"))
        return RequestFacts(
            service=self.name, operation=operation,
            idam=text(text_of(contexts.software_element(LPS_IDAM[1]))),
            lps_name=text(text_of(contexts.software_element(LPS_NAME[1]))),
            ins=number.upper()[:13] if number else None,
            birth_name=name.upper() if name else None,
            structure=caller_of(request)[1] or None)

    def fault(self, name: str) -> ServiceFault:
        """The catalogue fault a scenario rule names (checked when the scenario loaded)."""
        return ServiceFault(insi_fault(name))

    def render_result(self, exchange: Exchange, result: SearchOutcome) -> Reply:
        """RESULTAT in the generation of the simulated date; the call is counted."""
        now = self.context.clock.now()
        self.usage.record(exchange.request, exchange.operation, result, now)
        generation = self.context.calendar.insi_response_format(now.date())
        return Reply(200, render_result(result, generation), outcome=f"CR {result.code}",
                     at=now)

    def render_error(self, error: BaseException, request: SoapRequest | None) -> Reply:
        """Any error as an INSi fault, in the generation of the simulated date."""
        entry, detail, status = _catalogue_entry(error)
        now = self.context.clock.now()
        generation = self.context.calendar.insi_fault_format(now.date())
        body = render_fault(entry.spec, generation,
                            request.message_id if request is not None else None,
                            capped(detail) if detail else detail)
        return Reply(status, body,
                     outcome=f"fault {entry.spec.subcode or entry.spec.code_value}/"
                             f"{entry.spec.erreur_code}", at=now)

    def serve_document(self, environ):
        """``GET /lps?wsdl`` and the XSDs it imports."""
        return self.documents.serve(environ)


def _catalogue_entry(error: BaseException) -> tuple[InsiError, str | None, int]:
    """(catalogue entry, diagnostic, HTTP status) for any error."""
    if isinstance(error, ServiceFault):
        return error.entry, error.details.get("detail"), error.entry.spec.http_status
    if isinstance(error, ProtocolError):
        entry = InsiError.VERSION_MISMATCH if error.kind == "version-mismatch" \
            else InsiError.INVALID_REQUEST
        return entry, error.message, error.http_status
    if isinstance(error, UnexpectedError) or not isinstance(error, Fault):
        return InsiError.TECHNICAL_ERROR, None, 500
    # spyne's own faults (e.g. a non-integer RangNaissance) are request errors.
    return InsiError.INVALID_REQUEST, f"{error.faultstring}", 500
