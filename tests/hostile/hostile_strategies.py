"""Hypothesis strategies and settings shared by the property-based tests: XML text and
names, arbitrary well-formed element trees, and mutations of a valid document."""
from __future__ import annotations

import copy
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from lxml import etree


def fuzz_settings(examples: int) -> settings:
    """Small, reproducible runs for CI: the same examples every time, no example
    database written, no deadline (the machine is shared). ``HOSTILE_FUZZ_FACTOR=20``
    multiplies the examples for a longer local run."""
    factor = int(os.environ.get("HOSTILE_FUZZ_FACTOR", "1"))
    return settings(max_examples=examples * factor, deadline=None, derandomize=True,
                    database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# XML 1.0 Char minus the C0/C1 controls lxml refuses in text (tab, CR and LF kept).
XML_TEXT = st.text(st.one_of(
    st.characters(exclude_categories=("Cs", "Cc", "Co"), exclude_characters="\ufffe\uffff"),
    st.sampled_from("\t\n\r")), max_size=40)
NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,11}", fullmatch=True)
NAMESPACES = ["", "urn:example:a", "http://www.w3.org/2003/05/soap-envelope",
              "http://www.w3.org/2005/08/addressing", "http://www.w3.org/2004/08/xop/include",
              "urn:oasis:names:tc:SAML:2.0:assertion", "urn:hl7-org:v3",
              "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0", "urn:ihe:iti:xds-b:2007"]


def qname(namespaces=NAMESPACES, names=NAME):
    """``{namespace}local`` (or ``local``) names."""
    return st.builds(lambda ns, local: f"{{{ns}}}{local}" if ns else local,
                     st.sampled_from(namespaces), names)


@st.composite
def elements(draw, tags=qname(), depth: int = 3, max_children: int = 3) -> etree._Element:
    """An arbitrary element with attributes, text, tail text and children."""
    element = etree.Element(draw(tags))
    for name, value in draw(st.dictionaries(qname(names=NAME), XML_TEXT, max_size=3)).items():
        element.set(name, value)
    element.text = draw(st.none() | XML_TEXT)
    if depth > 0:
        for _ in range(draw(st.integers(0, max_children))):
            child = draw(elements(tags, depth - 1, max_children))
            child.tail = draw(st.none() | XML_TEXT)
            element.append(child)
    return element


MUTATIONS = ("delete", "attribute", "text", "duplicate", "rename", "insert")


@st.composite
def mutated(draw, document: etree._Element, tags=qname(), values=XML_TEXT,
            attribute_names=qname(names=NAME), max_mutations: int = 4) -> etree._Element:
    """A copy of ``document`` with a few random mutations: elements deleted, duplicated,
    renamed or inserted, attributes and texts replaced."""
    tree = copy.deepcopy(document)
    for _ in range(draw(st.integers(0, max_mutations))):
        nodes = [e for e in tree.iter() if isinstance(e.tag, str)]
        node = nodes[draw(st.integers(0, len(nodes) - 1))]
        kind = draw(st.sampled_from(MUTATIONS))
        parent = node.getparent()
        if kind == "delete" and parent is not None:
            parent.remove(node)
        elif kind == "attribute":
            names = list(node.attrib) + [draw(attribute_names)]
            node.set(draw(st.sampled_from(names)), draw(values))
        elif kind == "text":
            node.text = draw(values)
        elif kind == "duplicate" and parent is not None:
            parent.insert(parent.index(node), copy.deepcopy(node))
        elif kind == "rename":
            node.tag = draw(tags)
        elif kind == "insert":
            node.insert(draw(st.integers(0, len(node))), draw(elements(tags, depth=1)))
    return tree
