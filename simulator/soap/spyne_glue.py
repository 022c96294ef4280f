"""Where spyne meets the simulator's own SOAP plumbing.

spyne declares the services (``@rpc`` methods, ComplexModels that mirror the official
XSDs), deserialises requests into typed objects and runs the method (simple bodies are
read from the same declarations without spyne's request machinery:
:mod:`simulator.soap.direct`). Three things it
cannot do faithfully are done here instead:

* parsing: the envelope was already parsed by :mod:`simulator.soap.parsing` with a
  hardened parser, and is handed over as is (no second parse);
* dispatch: spyne keys bare methods under the application namespace, while INSi and the
  DMP put their body elements in other namespaces; the binding names the method;
* errors: non-fault exceptions keep their original cause instead of becoming an
  anonymous "Internal Error".
"""
from __future__ import annotations

import logging

from spyne import Application
from spyne.model.fault import Fault
from spyne.protocol.soap import Soap12

# spyne logs every fault with a traceback at ERROR; the endpoint logs what matters.
logging.getLogger("spyne").setLevel(logging.CRITICAL)


class UnexpectedError(Fault):
    """A non-fault exception raised by service code; rendered as a technical error."""

    def __init__(self, cause: BaseException):
        super().__init__(faultcode="Receiver", faultstring=repr(cause))
        self.cause = cause


class PreParsedSoap12(Soap12):
    """spyne's SOAP 1.2 input protocol, fed with an envelope parsed beforehand."""

    def create_in_document(self, ctx, charset=None):
        ctx.in_document = (ctx.udc.request.envelope, {})

    def get_call_handles(self, ctx):
        return self.app.interface.service_method_map.get(ctx.udc.method_key, [])


class SimApplication(Application):
    """A spyne Application that keeps the cause of unexpected exceptions."""

    def call_wrapper(self, ctx):
        try:
            return super().call_wrapper(ctx)
        except Fault:
            raise
        except Exception as exc:  # noqa: BLE001 - rendered as the service's technical fault
            raise UnexpectedError(exc) from exc


def build_application(services, tns: str, name: str) -> SimApplication:
    """A spyne application whose requests come pre-parsed from the simulator."""
    return SimApplication(services, tns=tns, name=name,
                          in_protocol=PreParsedSoap12(validator="soft"),
                          out_protocol=Soap12())


def method_key(application: Application, method_name: str) -> str:
    """The key under which spyne registered ``method_name`` (for dispatch)."""
    return "{%s}%s" % (application.tns, method_name)
