"""ITI-18 responses (TD3.1): requests as clients send them, parsed, run and rendered, then
compared byte for byte with hand-written golden messages in the DMP's serialisation
(prefixes, declarations, attribute order: docs/dmp.md), read by a client that only splits
strings as the ANS's DRIMbox does, and validated against the ebRS query.xsd when
../shared is present."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from simulator.kit import registry as b
from simulator.kit.registry import MemoryRegistry
from string_split_client import SplitReadError, read_query_answer
from simulator.services.dmp.xds import errors
from simulator.services.dmp.xds.errors import XdsError, XdsFailure
from simulator.services.dmp.xds.model import (
    HAS_MEMBER, SUBMISSION_SET_NODE, Association, Classification, read_registry_object)
from simulator.services.dmp.xds.query_engine import QueryResult, run_query
from simulator.services.dmp.xds.fragments import association_fragment, object_fragment
from simulator.services.dmp.xds.query_response import query_response_bytes, render_query_response
from simulator.services.dmp.xds.stored_queries import parse_adhoc_query
from simulator.services.dmp.xds.wire_profile import parse_prefixes
from simulator.soap.parsing import safe_parser

GOLDEN = Path(__file__).parent / "golden" / "dmp"
QUERY_XSD = Path(__file__).resolve().parents[2].parent / "shared" / "contracts" / "ihe-xds" / \
    "ebRS" / "query.xsd"
DOC = "urn:uuid:7b1a6e4c-3f52-4d8e-9a61-2c0f5e9d8a01"
SET = "urn:uuid:5c2d8f10-6a3b-4e7c-b1d9-0e4f7a2b3c02"
HAS_MEMBER_ID = "urn:uuid:9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a503"


def xml(text: str) -> etree._Element:
    return etree.fromstring(text.encode("utf-8"), safe_parser())


def c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True)


def golden(name: str) -> etree._Element:
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.parse(str(GOLDEN / name), parser).getroot()


def wire(element: etree._Element) -> bytes:
    """The element as it goes on the wire: prefixes, declarations and attribute order
    kept (C14N would sort attributes and move declarations)."""
    return etree.tostring(element, encoding="UTF-8")


def assert_golden(element: etree._Element, name: str) -> None:
    assert wire(element).decode() == wire(golden(name)).decode()


def registered(obj, first: int):
    """``obj`` with registry ids on its classifications and external identifiers."""
    ids = (f"urn:uuid:00000000-0000-4000-8000-{n:012d}" for n in range(first, first + 50))
    return obj.evolve(
        classifications=[replace(c, id=next(ids), classified_object=obj.id)
                         for c in obj.classifications],
        external_ids=[replace(x, id=next(ids), registry_object=obj.id) for x in obj.external_ids])


def document():
    obj = read_registry_object(xml(b.document_entry(DOC)))
    return registered(obj.evolve(lid=DOC, version="1", status=b.APPROVED), 1)


def submission_set():
    obj = read_registry_object(xml(f"<x {b.NS}>{b.submission_set(SET)}</x>")[0])
    marker = Classification(scheme="", node="", classified_object=SET,
                            classification_node=SUBMISSION_SET_NODE)
    obj = obj.evolve(status=b.APPROVED, classifications=obj.classifications + [marker])
    return registered(obj, 10)


HAS_MEMBER_ASSOCIATION = Association(HAS_MEMBER_ID, HAS_MEMBER, SET, DOC, b.APPROVED,
                                     {"SubmissionSetStatus": ["Original"]})


def everyone(obj) -> bool:
    return True


@pytest.fixture(scope="module")
def query_schema():
    if not QUERY_XSD.is_file():
        pytest.skip("../shared (official ebRS schemas) is not present")
    import xmlschema
    return xmlschema.XMLSchema(str(QUERY_XSD))


@pytest.fixture(scope="module")
def lcm_schema(query_schema):
    import xmlschema
    return xmlschema.XMLSchema(str(QUERY_XSD.with_name("lcm.xsd")))


def test_leaf_class_response(query_schema):
    response = render_query_response(QueryResult([document(), submission_set()],
                                                 [HAS_MEMBER_ASSOCIATION]), "LeafClass")
    assert_golden(response, "iti18-leafclass.xml")
    query_schema.validate(response)
    read = read_query_answer(wire(response).decode())
    assert (read.status, read.total) == ("Success", 3)
    assert read.entries == {"ExtrinsicObject": 1, "RegistryPackage": 1, "Association": 1,
                            "ObjectRef": 0}
    [doc] = read.documents
    assert (doc.unique_id, doc.id_after_patient_id, doc.mime_type, doc.title,
            doc.creation_time) == ("1.2.250.1.999.1.1.7001", "1.2.250.1.999.1.1.7001",
                                   "application/pdf", "CR de sortie", "20240110093000")
    assert read.repository_id == "1.2.250.1.213.4.1.1.1.2"


def test_object_ref_response_of_get_documents_and_associations(query_schema):
    registry = MemoryRegistry([document(), submission_set()], [HAS_MEMBER_ASSOCIATION])
    query = parse_adhoc_query(xml(b.get_documents_and_associations([DOC], return_type="ObjectRef")))
    response = render_query_response(run_query(query, registry, visible=everyone),
                                     query.return_type)
    assert_golden(response, "iti18-objectref.xml")
    query_schema.validate(response)
    read = read_query_answer(wire(response).decode())
    assert (read.total, read.object_refs, read.documents) == (2, [DOC, HAS_MEMBER_ID], [])


def test_error_response_of_a_query_without_patient(query_schema):
    text = b.find_documents().replace("$XDSDocumentEntryPatientId", "$XDSDocumentEntryPatient")
    with pytest.raises(XdsFailure) as raised:
        parse_adhoc_query(xml(text))
    response = render_query_response(None, "LeafClass", raised.value.errors)
    assert_golden(response, "iti18-error-missing-param.xml")
    query_schema.validate(response)
    read = read_query_answer(wire(response).decode())
    assert (read.status, read.total) == ("Failure", 0)


def test_leaf_class_above_the_limit_fails_with_too_many_results(query_schema):
    result = QueryResult([document(), submission_set()], [HAS_MEMBER_ASSOCIATION])
    response = render_query_response(result, "LeafClass", limit=2)
    assert response.get("status") == errors.FAILURE
    [error] = response.findall(f"{{{errors.RS}}}RegistryErrorList/{{{errors.RS}}}RegistryError")
    assert error.get("errorCode") == errors.TOO_MANY_RESULTS and "3" in error.get("codeContext")
    assert len(response.find(f"{{{b.RIM}}}RegistryObjectList")) == 0
    query_schema.validate(response)
    assert render_query_response(result, "LeafClass", limit=3).get("status") == errors.SUCCESS
    assert render_query_response(result, "ObjectRef", limit=2).get("status") == errors.SUCCESS


def test_warnings_keep_success_and_the_objects():
    warning = XdsError(errors.REGISTRY_ERROR, "note", severity=errors.WARNING)
    response = render_query_response(QueryResult([document()]), "ObjectRef", [warning])
    assert response.get("status") == errors.SUCCESS
    assert [r.get("id") for r in response.iter(f"{{{b.RIM}}}ObjectRef")] == [DOC]
    error_list = response.find(f"{{{errors.RS}}}RegistryErrorList")
    assert error_list.get("highestSeverity") == errors.WARNING


def test_an_empty_result_still_carries_the_object_list(query_schema):
    for return_type in ("LeafClass", "ObjectRef"):
        response = render_query_response(QueryResult(), return_type)
        assert_golden(response, "iti18-empty.xml")
        query_schema.validate(response)
        read = read_query_answer(wire(response).decode())
        assert (read.status, read.total, read.documents) == ("Success", 0, [])


def test_the_ihe_prefixes_give_the_same_infoset_and_defeat_the_string_client(query_schema):
    """SIM_DMP_XDS_PREFIXES=ihe: the same answer for a namespace-aware reader, but not the
    platform's text (the string client finds no ns4: and fails, as DRIMbox would)."""
    result = QueryResult([document(), submission_set()], [HAS_MEMBER_ASSOCIATION])
    ihe = render_query_response(result, "LeafClass", profile=parse_prefixes("ihe"))
    jaxb = render_query_response(result, "LeafClass")
    assert wire(ihe).startswith(b'<query:AdhocQueryResponse xmlns:rs="')
    assert c14n(strip_prefixes(ihe)) == c14n(strip_prefixes(jaxb))
    query_schema.validate(ihe)
    with pytest.raises(SplitReadError):
        read_query_answer(wire(ihe).decode())


def strip_prefixes(element: etree._Element) -> etree._Element:
    """A copy with the same names and values under one fixed prefix map."""
    copy = etree.fromstring(wire(element))
    fixed = {"a": b.QUERY, "b": b.RIM, "c": errors.RS}
    out = etree.Element(copy.tag, dict(copy.attrib), nsmap=fixed)
    out.extend(copy)
    etree.cleanup_namespaces(out)
    return out


@pytest.mark.parametrize("body", [
    b.find_documents(class_codes=["10^^1.2.250.1.213.1.1.4.1"], event_codes=[["a^^b"], ["c^^d"]],
                     creation_from="20240101", author_persons=["%DUPONT%"]),
    b.find_documents_by_reference_id(["ACC-1^^^&1.2.3&ISO^urn:ihe:iti:xds:2013:accession"]),
    b.find_submission_sets(submission_from="2022"),
    b.get_documents(unique_ids=["1.2.3"]),
    b.get_associations([DOC]),
    b.get_documents_and_associations([DOC]),
])
def test_query_builders_write_schema_valid_requests(query_schema, body):
    query_schema.validate(xml(body))


@pytest.mark.parametrize("body", [
    b.mask(DOC, "1"), b.set_visibility(DOC, "1"), b.delete(DOC), b.archive(DOC), b.unarchive(DOC),
])
def test_update_builders_write_schema_valid_requests(lcm_schema, body):
    lcm_schema.validate(xml(body))


def _fragments(result: QueryResult) -> list[tuple[str, bytes]]:
    return [(o.id, object_fragment(o)) for o in result.objects] + \
        [(a.id, association_fragment(a)) for a in result.associations]


@pytest.mark.parametrize("prefixes", ["jaxb", "ihe", "jaxb,rim=rim3,rs=r", "query=q,rim=ns2,rs=ns4"])
@pytest.mark.parametrize("return_type", ["LeafClass", "ObjectRef"])
def test_answers_assembled_from_stored_fragments_are_the_bytes_of_the_tree(prefixes,
                                                                          return_type):
    """Issue 15: TD3.1 answers are assembled from each entry's stored bytes; under every
    prefix profile they are byte for byte what the tree renderer writes."""
    profile = parse_prefixes(prefixes)
    warning = XdsError(errors.REGISTRY_ERROR, "note <&>", severity=errors.WARNING)
    full = QueryResult([document(), submission_set()], [HAS_MEMBER_ASSOCIATION])
    cases = [(full, (), None), (full, (warning,), None), (QueryResult(), (), None),
             (full, (), 2), (full, (), 3)]
    for result, found_errors, limit in cases:
        count = len(result.objects) + len(result.associations)
        expected = etree.tostring(render_query_response(
            result, return_type, found_errors, limit=limit, profile=profile), encoding="UTF-8")
        assert query_response_bytes(count, _fragments(result), return_type, found_errors,
                                    limit=limit, profile=profile) == expected


def test_a_count_stopped_past_the_limit_says_more_than_the_limit(query_schema):
    answer = etree.fromstring(query_response_bytes(3, [], "LeafClass", limit=2,
                                                   counted_to_limit=True))
    [error] = answer.findall(f"{{{errors.RS}}}RegistryErrorList/{{{errors.RS}}}RegistryError")
    assert error.get("errorCode") == errors.TOO_MANY_RESULTS
    assert "matches more than 2 objects" in error.get("codeContext")
    assert (answer.get("status"), answer.get("totalResultCount")) == (errors.FAILURE, "0")
    query_schema.validate(answer)
