"""Reading and writing the DMP-specific services' messages (habilitations, patientsSpecific).

Their WSDLs are not public (DMP brief §2.3): element names come from the clients, the
shape (a JAX-WS-style document/literal wrapper whose response is the
``WebServiceResponse`` fields ``status`` and ``context`` plus the payload) is the
simulator's reconstruction, published in ``wsdl/dmp/``. Requests are read by local
name, so qualified and unqualified children are both accepted.
"""
from __future__ import annotations

from lxml import etree

from simulator.services.dmp.operations import DmpAnswer
from simulator.services.dmp.refusals import DmpRefusal

HABILITATIONS = "urn:si-dmp-habilitations"
PATIENTS = "urn:si-dmp-patients"


def child_text(element: etree._Element, local_name: str) -> str | None:
    """Stripped text of the first child with this local name (any namespace)."""
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == local_name:
            text = (child.text or "").strip()
            return text or None
    return None


def web_service_response(qname: str, status: str, context: str) -> etree._Element:
    """A response element holding ``status`` and ``context`` in its namespace."""
    namespace = etree.QName(qname).namespace
    element = etree.Element(qname, nsmap={None: namespace})
    add_text(element, "status", status)
    add_text(element, "context", context)
    return element


def add_text(parent: etree._Element, local_name: str, text: str | None) -> etree._Element:
    """Append a child in the parent's namespace, with text when given."""
    child = etree.SubElement(parent, f"{{{etree.QName(parent).namespace}}}{local_name}")
    if text is not None:
        child.text = text
    return child


def refusal_answer(qname: str, refusal: DmpRefusal) -> DmpAnswer:
    """The answer of a refused DMP-specific call: its code as ``status``."""
    return DmpAnswer(web_service_response(qname, refusal.code, refusal.text),
                     outcome=refusal.code)
