"""The DMP's response envelope written around the body's own bytes (issue 15) is the
envelope lxml writes from the whole tree, byte for byte, or lxml writes it."""
from __future__ import annotations

import copy

import pytest
from lxml import etree

from simulator.soap.addressing import _tree_envelope, response_envelope
from simulator.soap.namespaces import SOAP12_ENV, WSA

XDSB = "urn:ihe:iti:xds-b:2007"
XOP = "http://www.w3.org/2004/08/xop/include"


def retrieve_like(documents: int) -> etree._Element:
    root = etree.Element(f"{{{XDSB}}}RetrieveDocumentSetResponse",
                         nsmap={"ns2": "urn:rs", "ns6": XDSB})
    etree.SubElement(root, "{urn:rs}RegistryResponse", status="Succès & <ok>")
    for index in range(documents):
        document = etree.SubElement(etree.SubElement(root, f"{{{XDSB}}}DocumentResponse"),
                                    f"{{{XDSB}}}Document")
        etree.SubElement(document, f"{{{XOP}}}Include", href=f"cid:d{index}",
                         nsmap={"xop": XOP})
    return root


def redeclaring() -> etree._Element:
    """A child declaring its parent's namespace under another prefix: lxml drops that
    declaration when it moves the body into the envelope."""
    root = etree.Element("{urn:a}root", nsmap={"a": "urn:a"})
    etree.SubElement(root, "{urn:a}child", nsmap={"b": "urn:a"}).text = "é"
    return root


def declaring(uri: str) -> etree._Element:
    return etree.Element(f"{{{uri}}}x", nsmap={"s": uri})


def parsed(text: str) -> etree._Element:
    return etree.fromstring(text)


BODIES = {
    "one document": lambda: retrieve_like(1),
    "two documents (xop declared twice, in siblings)": lambda: retrieve_like(2),
    "a child redeclaring its parent's namespace": redeclaring,
    "the envelope's namespace under another prefix": lambda: declaring(SOAP12_ENV),
    "WS-Addressing's namespace": lambda: declaring(WSA),
    "the envelope's namespace by default": lambda: etree.Element(
        f"{{{SOAP12_ENV}}}x", nsmap={None: SOAP12_ENV}),
    "text that looks like a declaration": lambda: parsed(
        '<a xmlns="urn:a">xmlns="urn:a" xmlns:x="' + SOAP12_ENV + '"</a>'),
    "no namespace, accents and a comment": lambda: parsed(
        "<a><!-- c --><b attr='&quot;é&lt;'>Lettre de liaison à la sortie</b></a>"),
    "an xml:lang attribute": lambda: parsed(
        '<a xml:lang="fr"><b xmlns="urn:b" xmlns:c="urn:c"><c:d/></b></a>'),
}
HEADERS = [("urn:ihe:iti:2007:RetrieveDocumentSetResponse", "urn:uuid:1", "urn:uuid:2"),
           ("urn:action", "urn:uuid:1", None), ("urn:action", "urn:uuid:1", ""),
           ("urn:action", "urn:uuid:1", "a&b <c> \"d\" 'e'"),
           ("urn:action", "urn:uuid:1", "répondre\r\n\tà"), ("a b", "m", "r")]


@pytest.mark.parametrize("name", sorted(BODIES))
@pytest.mark.parametrize("action, message_id, relates_to", HEADERS)
def test_the_envelope_is_the_one_lxml_writes_from_the_whole_tree(name, action, message_id,
                                                                  relates_to):
    body = BODIES[name]()
    expected = _tree_envelope(copy.deepcopy(body), action=action, message_id=message_id,
                              relates_to=relates_to)
    assert response_envelope(body, action=action, message_id=message_id,
                             relates_to=relates_to) == expected


def test_a_body_inside_another_tree_is_written_by_lxml():
    parent = retrieve_like(1)
    body = parent[0]
    expected = _tree_envelope(copy.deepcopy(body), action="a", message_id="m",
                              relates_to="r")
    assert response_envelope(body, action="a", message_id="m", relates_to="r") == expected
