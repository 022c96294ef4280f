"""The lookups that replaced lxml's ``find``/``findtext`` on the hot path give what
``find``/``findtext`` give, duplicates, comments and empty elements included."""
from __future__ import annotations

import pytest
from lxml import etree

from simulator.services.insi.contexts import contexts_of, text_of
from simulator.soap.parsing import child_text, descendant, first_child, parse_soap12

L = "urn:siram:lps:ctxlps"
DOCS = [
    "<r><a>1</a><a>2</a></r>",
    "<r><!-- c --><b/><a/></r>",
    "<r><a><x>1</x></a><a><y>2</y></a></r>",          # the first a has no y
    "<r><a/><a><y/><y>3</y></a></r>",
    "<r><b><a>no</a></b></r>",                          # not a child: not found
    "<r/>",
]
PATHS = [("a",), ("y",), ("a", "y"), ("a", "x"), ("b", "a"), ("a", "y", "z")]


@pytest.mark.parametrize("xml", DOCS)
def test_lookups_match_find_and_findtext(xml):
    root = etree.fromstring(xml)
    for path in PATHS:
        assert descendant(root, *path) is root.find("/".join(path)), path
        assert child_text(root, *path) == root.findtext("/".join(path)), path
    assert first_child(root, "a") is root.find("a")
    assert descendant(None, "a") is None and child_text(None, "a") is None


def test_contexts_read_the_software_as_elementpath_does():
    """LPS/Nom: the first Nom of the first LPS holding one; children by first of a tag."""
    header = (f'<c:ContexteLPS xmlns:c="{L}"><c:Id>1</c:Id><c:Id>2</c:Id>'
              "<c:LPS><c:IDAM>A</c:IDAM></c:LPS><c:LPS><c:Nom>N</c:Nom><c:Nom>M</c:Nom>"
              "<c:IDAM>B</c:IDAM></c:LPS><!-- c --><c:Emetteur/></c:ContexteLPS>")
    request = parse_soap12(
        ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>'
         f"{header}</s:Header><s:Body><b/></s:Body></s:Envelope>").encode(),
        "application/soap+xml")
    contexts = contexts_of(request)
    lps = request.header_element(f"{{{L}}}ContexteLPS")
    assert contexts.lps is lps and contexts.bam is None and contexts.bam_children == {}
    for path in (("Nom",), ("IDAM",), ("Version",)):
        tag = f"{{{L}}}{path[0]}"
        assert contexts.software_element(tag) is lps.find(f"{{{L}}}LPS/{tag}")
    for tag in ("Id", "Emetteur", "Temps"):
        element = contexts.lps_element(f"{{{L}}}{tag}")
        assert element is lps.find(f"{{{L}}}{tag}")
        assert text_of(element) == lps.findtext(f"{{{L}}}{tag}")
    assert contexts_of(request) is contexts  # read once per request
