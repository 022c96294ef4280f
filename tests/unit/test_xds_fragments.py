"""The registry's answer fragments written as text are the bytes lxml writes for the
tree of ``write_registry_object`` (the reference), whatever the object holds: the wire
goldens compare whole answers, these compare every shape and character class."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from simulator.kit import registry as b
from simulator.services.dmp.xds.fragments import lxml_object_fragment, object_fragment
from simulator.services.dmp.xds.model import (
    SUBMISSION_SET_NODE, Classification, ExternalId, RegistryObject, read_registry_object)
from simulator.soap.parsing import safe_parser

# Every character XML 1.0 allows, weighted towards those libxml2 escapes.
XML_CHAR = st.one_of(
    st.sampled_from('&<>"\'\t\n\r ]é€𝄞'),
    st.characters(blacklist_categories=("Cs",), min_codepoint=0x20, max_codepoint=0xFFFD)
    .filter(lambda c: c not in "\ufffe\uffff"),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF))
TEXT = st.text(XML_CHAR, max_size=12)
SLOTS = st.dictionaries(TEXT, st.lists(TEXT, max_size=3), max_size=3)
CLASSIFICATION = st.builds(Classification, scheme=TEXT, node=TEXT, id=TEXT,
                           classified_object=TEXT,
                           classification_node=st.sampled_from(["", SUBMISSION_SET_NODE]),
                           name=TEXT, slots=SLOTS)
EXTERNAL_ID = st.builds(ExternalId, scheme=TEXT, value=TEXT, id=TEXT, registry_object=TEXT,
                        name=TEXT)
OBJECT = st.builds(
    RegistryObject, kind=st.sampled_from(["ExtrinsicObject", "RegistryPackage"]), id=TEXT,
    object_type=TEXT, mime_type=TEXT, status=TEXT, lid=TEXT, version=TEXT, home=TEXT,
    name=TEXT, description=TEXT, slots=SLOTS,
    classifications=st.lists(CLASSIFICATION, max_size=3),
    external_ids=st.lists(EXTERNAL_ID, max_size=2))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(OBJECT)
def test_a_fragment_written_as_text_is_what_lxml_writes(obj):
    assert object_fragment(obj) == lxml_object_fragment(obj)


def test_the_kit_s_document_entry_and_submission_set_fragments_are_lxml_s():
    wrapped = f"<x {b.NS}>{b.document_entry('Doc01')}{b.submission_set()}</x>"
    for element in etree.fromstring(wrapped.encode(), safe_parser()):
        obj = read_registry_object(element).evolve(status=b.APPROVED, version="1")
        assert object_fragment(obj) == lxml_object_fragment(obj)
