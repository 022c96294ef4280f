"""A bare spyne SOAP 1.2 echo service: the baseline for benchmarks/insi_bench.py.

One operation, ``echo(text) -> text``, Soap12 in and out, no validation, no state,
exposed as the WSGI callable ``application``::

    .venv/bin/gunicorn -w 2 -k gevent --keep-alive 75 benchmarks.echo_service:application

A request body is in :data:`REQUEST_BODY`; the answer contains ``>{ECHO_TEXT}<``.
"""
from __future__ import annotations

import logging

from spyne import Application, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap12
from spyne.server.wsgi import WsgiApplication

TNS = "urn:insi-dmp-sim:bench:echo"
ECHO_TEXT = "bench-echo-0123456789"
REQUEST_BODY = (
    '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">'
    "<soap:Body>"
    f'<e:echo xmlns:e="{TNS}"><e:text>{ECHO_TEXT}</e:text></e:echo>'
    "</soap:Body></soap:Envelope>"
)

logging.getLogger("spyne").setLevel(logging.CRITICAL)


class EchoService(ServiceBase):
    """Returns what it is given."""

    @rpc(Unicode, _returns=Unicode)
    def echo(ctx, text):  # noqa: N805 - spyne passes the method context first
        return text


soap_application = Application([EchoService], tns=TNS, name="EchoService",
                               in_protocol=Soap12(), out_protocol=Soap12())
application = WsgiApplication(soap_application)
