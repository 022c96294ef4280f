"""The SOAP 1.2 + WS-Addressing envelope of DMP requests (brief §1.2), around a body
and the VIHF of :mod:`simulator.kit.vihf`.

Example::

    from simulator.kit import hl7, soap
    raw = soap.envelope(hl7.query().decode(), action="urn:hl7-org:v3:PRPA_IN201307UV02",
                        service="patients", issue_instant="2024-03-01T08:30:00Z",
                        host="http://127.0.0.1:8080")
    # POST raw to http://127.0.0.1:8080/si-dmp-server/v2/services/patients
    # with Content-Type soap.SOAP_CT
"""
from __future__ import annotations

import uuid
from xml.sax.saxutils import escape

from simulator.kit.vihf import (  # noqa: F401 - the names tests and vendors import here
    ADRUN, PURPOSE_OF_USE, RESOURCE_ID, ROLE, SUBJECT_ID, TEST_OID, attributes, purpose,
    sign_assertion, vihf)

SOAP_CT = "application/soap+xml; charset=utf-8"
DMP_BASE = "/si-dmp-server/v2/services"
DMP_V1_BASE = "/si-dmp-server/v1/services"


def envelope(body: str, *, action: str, service: str, issue_instant: str,
             message_id: str | None = None, host: str = "http://localhost",
             base_path: str = DMP_BASE, security: str | None = None,
             **vihf_options) -> bytes:
    """A DMP request: WS-Addressing headers (Action mustUnderstand, MessageID, To), the
    VIHF, and ``body``. ``security`` replaces the wsse:Security block ('' drops it);
    ``vihf_options`` go to :func:`simulator.kit.vihf.vihf`."""
    message_id = message_id or f"urn:uuid:{uuid.uuid4()}"
    security = vihf(issue_instant, **vihf_options) if security is None else security
    return (
        '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://www.w3.org/2005/08/addressing"><soap:Header>'
        f'<wsa:Action soap:mustUnderstand="true">{action}</wsa:Action>'
        f'<wsa:MessageID>{message_id}</wsa:MessageID>'
        f'<wsa:To>{escape(host + base_path)}/{service}</wsa:To>{security}</soap:Header>'
        f'<soap:Body>{body}</soap:Body></soap:Envelope>').encode("utf-8")
