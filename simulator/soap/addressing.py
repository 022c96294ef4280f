"""SOAP 1.2 envelopes with WS-Addressing 1.0 headers, for services that use them (DMP).

A response carries ``wsa:Action`` (the reply action), ``wsa:MessageID``,
``wsa:RelatesTo`` (the request's MessageID) and ``wsa:To`` anonymous, as WS-Addressing
1.0 SOAP binding §3 and the IHE ITI TF-2x V.3.2 ask of responders. Faults use the
WS-Addressing fault action.
"""
from __future__ import annotations

import os
import re

from lxml import etree

from simulator.soap.namespaces import SOAP12_ENV, WSA

ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
FAULT_ACTION = "http://www.w3.org/2005/08/addressing/soap/fault"
XML_NS = "http://www.w3.org/XML/1998/namespace"


def random_uuid_hex() -> str:
    """A random (version 4) UUID in 32 hex digits, as ``uuid.uuid4().hex`` gives it: the
    same bits (RFC 9562 §5.4) without building a UUID object, which cost a DMP answer
    about 10 µs for each of its ids (issue 15)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # variant RFC 4122
    return raw.hex()


def random_uuid() -> str:
    """A random (version 4) UUID as text, as ``str(uuid.uuid4())`` gives it."""
    text = random_uuid_hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _envelope(action: str, message_id: str, relates_to: str | None,
              extra_ns: dict[str, str] | None = None) -> tuple[etree._Element, etree._Element]:
    nsmap = {"soap": SOAP12_ENV, "wsa": WSA, **(extra_ns or {})}
    envelope = etree.Element(f"{{{SOAP12_ENV}}}Envelope", nsmap=nsmap)
    header = etree.SubElement(envelope, f"{{{SOAP12_ENV}}}Header")
    etree.SubElement(header, f"{{{WSA}}}Action",
                     {f"{{{SOAP12_ENV}}}mustUnderstand": "true"}).text = action
    etree.SubElement(header, f"{{{WSA}}}MessageID").text = message_id
    if relates_to:
        etree.SubElement(header, f"{{{WSA}}}RelatesTo").text = relates_to
    etree.SubElement(header, f"{{{WSA}}}To").text = ANONYMOUS
    return envelope, etree.SubElement(envelope, f"{{{SOAP12_ENV}}}Body")


def response_envelope(body: etree._Element, *, action: str, message_id: str,
                      relates_to: str | None) -> bytes:
    """A SOAP 1.2 response carrying ``body``, serialised with an XML declaration.

    Written around the body's own serialisation, as lxml writes the whole tree (issue
    15: the header's elements, and moving the body into the envelope's document, cost
    more than serialising it). Where the two could differ, lxml writes the whole tree: a
    body lxml would change when moving it (below), one that is not a tree of its own,
    header text lxml would escape (tests/unit/test_response_envelope.py compares both)."""
    written = None
    if body.getparent() is None and body.tail is None and _PLAIN.match(action) \
            and _PLAIN.match(message_id) and (not relates_to or _PLAIN.match(relates_to)):
        written = etree.tostring(body, encoding="UTF-8", xml_declaration=False)
        # lxml drops, when it moves the body into the envelope, each namespace
        # declaration whose URI is already declared above it (proxy.pxi,
        # moveNodeToDocument): with every URI declared once in the body (text that
        # looks like a declaration counts too) and none the envelope's, it drops none.
        uris = _DECLARED.findall(written)
        if len(set(uris)) != len(uris) or not _ENVELOPE_URIS.isdisjoint(uris):
            written = None
    if written is None:
        return _tree_envelope(body, action=action, message_id=message_id,
                              relates_to=relates_to)
    related = f"<wsa:RelatesTo>{relates_to}</wsa:RelatesTo>" if relates_to else ""
    return b"".join((
        _HEAD, f'<wsa:Action soap:mustUnderstand="true">{action}</wsa:Action><wsa:MessageID>'
        f"{message_id}</wsa:MessageID>{related}".encode(), _TO_BODY, written, _TAIL))


def _tree_envelope(body: etree._Element, *, action: str, message_id: str,
                   relates_to: str | None) -> bytes:
    """:func:`response_envelope` written by lxml from the whole tree."""
    envelope, soap_body = _envelope(action, message_id, relates_to)
    soap_body.append(body)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


# What lxml writes around the body of a response (_tree_envelope), in three pieces;
# header text of these characters is written as it is (no &, <, > or control character).
_HEAD = ("<?xml version='1.0' encoding='UTF-8'?>\n"
         f'<soap:Envelope xmlns:soap="{SOAP12_ENV}" xmlns:wsa="{WSA}"><soap:Header>').encode()
_TO_BODY = f"<wsa:To>{ANONYMOUS}</wsa:To></soap:Header><soap:Body>".encode()
_TAIL = b"</soap:Body></soap:Envelope>"
_PLAIN = re.compile(r"[ !#-%'-;=?-~]*\Z")
_DECLARED = re.compile(rb'xmlns(?::[^=\s"]*)?\s*=\s*"([^"]*)"')
_ENVELOPE_URIS = frozenset({SOAP12_ENV.encode(), WSA.encode()})


def fault_envelope(*, code: str, subcode: tuple[str, str] | None, reason: str,
                   message_id: str, relates_to: str | None) -> bytes:
    """A SOAP 1.2 Fault: ``code`` is Sender or Receiver, ``subcode`` a (namespace,
    local name) pair such as WS-Addressing's or WS-Security's."""
    extra = {"wsse": subcode[0]} if subcode and subcode[0] != WSA else None
    envelope, soap_body = _envelope(FAULT_ACTION, message_id, relates_to, extra)
    fault = etree.SubElement(soap_body, f"{{{SOAP12_ENV}}}Fault")
    code_element = etree.SubElement(fault, f"{{{SOAP12_ENV}}}Code")
    etree.SubElement(code_element, f"{{{SOAP12_ENV}}}Value").text = f"soap:{code}"
    if subcode is not None:
        prefix = "wsa" if subcode[0] == WSA else "wsse"
        sub = etree.SubElement(code_element, f"{{{SOAP12_ENV}}}Subcode")
        etree.SubElement(sub, f"{{{SOAP12_ENV}}}Value").text = f"{prefix}:{subcode[1]}"
    reason_element = etree.SubElement(fault, f"{{{SOAP12_ENV}}}Reason")
    etree.SubElement(reason_element, f"{{{SOAP12_ENV}}}Text",
                     {f"{{{XML_NS}}}lang": "en"}).text = reason
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
