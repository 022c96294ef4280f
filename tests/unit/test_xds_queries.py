"""ITI-18 stored queries (TD3.1): parameter parsing and errors, and every FindDocuments
filter on a small in-memory registry."""
from __future__ import annotations

import pytest
from lxml import etree

from simulator.kit import registry as b
from simulator.kit.registry import MemoryRegistry
from simulator.services.dmp.xds import errors
from simulator.services.dmp.xds.errors import XdsFailure
from simulator.services.dmp.xds.model import (
    DELETED, DEPRECATED, HAS_MEMBER, RPLC, Association, read_registry_object)
from simulator.services.dmp.xds.query_engine import in_range, patient_key, run_query
from simulator.services.dmp.xds.stored_queries import parse_adhoc_query, parse_value
from simulator.soap.parsing import safe_parser

DE = "$XDSDocumentEntry"
VISIBILITY = "1.2.250.1.213.1.1.4.13"
CLASS_OID = "1.2.250.1.213.1.1.4.1"
ON_DEMAND = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248"


def xml(text: str) -> etree._Element:
    return etree.fromstring(text.encode("utf-8"), safe_parser())


def parse(text: str):
    return parse_adhoc_query(xml(text))


def failure(text: str) -> errors.XdsError:
    with pytest.raises(XdsFailure) as raised:
        parse(text)
    assert len(raised.value.errors) == 1
    return raised.value.errors[0]


# --- parsing ----------------------------------------------------------------------------

def test_find_documents_parameters_are_read_with_their_groups():
    query = parse(b.find_documents(class_codes=["10^^" + CLASS_OID, "31^^" + CLASS_OID],
                                   event_codes=[["E1^^s1", "E2^^s2"], ["E3^^s3"]],
                                   creation_from="20240101", return_type="ObjectRef"))
    assert (query.name, query.return_type) == ("FindDocuments", "ObjectRef")
    assert query.one(f"{DE}PatientId") == b.cx()
    assert query.values(f"{DE}ClassCode") == ["10^^" + CLASS_OID, "31^^" + CLASS_OID]
    assert query.and_groups(f"{DE}EventCodeList") == [["E1^^s1", "E2^^s2"], ["E3^^s3"]]
    assert query.and_groups(f"{DE}ClassCode") == [["10^^" + CLASS_OID, "31^^" + CLASS_OID]]
    assert query.one(f"{DE}CreationTimeFrom") == "20240101"


def test_several_value_elements_of_one_slot_are_one_or():
    query = parse(b.adhoc_query(b.FIND_DOCUMENTS, [
        (f"{DE}PatientId", [b.quoted(b.cx())]),
        (f"{DE}Status", [b.listed([b.APPROVED]), b.quoted(DEPRECATED)])]))
    assert query.values(f"{DE}Status") == [b.APPROVED, DEPRECATED]


def test_unknown_parameters_are_ignored_and_reported():
    query = parse(b.adhoc_query(b.GET_ASSOCIATIONS, [("$uuid", ["('urn:uuid:1')"]),
                                                     ("$Typo", ["'x'"])]))
    assert query.ignored == ("$Typo",) and "$Typo" not in query.params


@pytest.mark.parametrize("text, values", [
    ("'a'", ["a"]), ("  'a b'  ", ["a b"]), ("'O''Brien'", ["O'Brien"]), ("20240101", ["20240101"]),
    ("('a','b')", ["a", "b"]), ("( 'a' , 20 )", ["a", "20"]), ("('it''s')", ["it's"]),
])
def test_value_syntax(text, values):
    assert parse_value(text, "$p") == values


@pytest.mark.parametrize("text", ["Approved", "'open", "('a' 'b')", "('a'", "'a' 'b'", "",
                                  "('a',)"])
def test_bad_value_syntax_is_a_registry_error_naming_the_parameter(text):
    with pytest.raises(XdsFailure) as raised:
        parse_value(text, "$XDSDocumentEntryStatus")
    error = raised.value.errors[0]
    assert error.code == errors.REGISTRY_ERROR and "$XDSDocumentEntryStatus" in error.message


def test_unknown_stored_query():
    error = failure(b.adhoc_query("urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3", []))
    assert error.code == errors.UNKNOWN_STORED_QUERY
    assert "urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3" in error.message


@pytest.mark.parametrize("slots, missing", [
    ([(f"{DE}Status", ["('x')"])], f"{DE}PatientId"),
    ([(f"{DE}PatientId", ["'p'"])], f"{DE}Status"),
    ([(f"{DE}PatientId", ["'p'"]), (f"{DE}Status", [])], f"{DE}Status"),
])
def test_missing_required_parameter(slots, missing):
    error = failure(b.adhoc_query(b.FIND_DOCUMENTS, slots))
    assert error.code == errors.STORED_QUERY_MISSING_PARAM
    assert missing in error.message and error.location == missing


def test_reference_id_list_is_required_by_find_documents_by_reference_id():
    text = b.find_documents().replace(b.FIND_DOCUMENTS, b.FIND_DOCUMENTS_BY_REFERENCE_ID)
    assert failure(text).code == errors.STORED_QUERY_MISSING_PARAM


@pytest.mark.parametrize("patient_values", [["('a','b')"], ["'a'", "'b'"]])
def test_single_valued_parameter_given_several_values(patient_values):
    error = failure(b.adhoc_query(b.FIND_DOCUMENTS, [(f"{DE}PatientId", patient_values),
                                                     (f"{DE}Status", ["('s')"])]))
    assert error.code == errors.STORED_QUERY_PARAM_NUMBER and f"{DE}PatientId" in error.message


def test_single_valued_parameter_in_two_slots():
    error = failure(b.adhoc_query(b.FIND_DOCUMENTS, [
        (f"{DE}PatientId", ["'a'"]), (f"{DE}PatientId", ["'a'"]), (f"{DE}Status", ["('s')"])]))
    assert error.code == errors.STORED_QUERY_PARAM_NUMBER


def test_get_documents_needs_exactly_one_of_entry_uuid_and_unique_id():
    assert failure(b.get_documents()).code == errors.STORED_QUERY_MISSING_PARAM
    both = failure(b.get_documents(["urn:uuid:1"], ["1.2.3"]))
    assert both.code == errors.STORED_QUERY_PARAM_NUMBER
    assert f"{DE}EntryUUID" in both.message and f"{DE}UniqueId" in both.message


@pytest.mark.parametrize("value", ["'2024-01-01'", "2024010", "202401011200000", "'yesterday'"])
def test_time_parameters_must_be_dtm(value):
    error = failure(b.adhoc_query(b.FIND_DOCUMENTS, [
        (f"{DE}PatientId", ["'p'"]), (f"{DE}Status", ["('s')"]), (f"{DE}CreationTimeTo", [value])]))
    assert error.code == errors.REGISTRY_ERROR and f"{DE}CreationTimeTo" in error.message


def test_quoted_time_values_are_accepted():
    query = parse(b.find_documents(creation_from="'20240101'"))
    assert query.one(f"{DE}CreationTimeFrom") == "20240101"


@pytest.mark.parametrize("return_type", ["RegistryObject", "LeafClassWithRepositoryItem"])
def test_only_leaf_class_and_object_ref_are_served(return_type):
    error = failure(b.find_documents(return_type=return_type))
    assert error.code == errors.REGISTRY_ERROR and return_type in error.message


def test_a_body_that_is_no_adhoc_query_request():
    with pytest.raises(XdsFailure) as raised:
        parse_adhoc_query(xml(b.submit_objects()))
    assert raised.value.errors[0].code == errors.REGISTRY_ERROR


# --- engine -----------------------------------------------------------------------------

def entry(uuid: str, status: str = b.APPROVED, object_type: str | None = None, **options):
    obj = read_registry_object(xml(b.document_entry(uuid, **options)))
    return obj.evolve(status=status, lid=uuid, version="1",
                      object_type=object_type or obj.object_type)


def package(uuid: str, status: str = b.APPROVED, **options):
    element = xml(f"<x {b.NS}>{b.submission_set(uuid, **options)}</x>")[0]
    return read_registry_object(element).evolve(status=status)


IMAGING = ("31", CLASS_OID, "Imagerie")
ACCESSION = "ACC-1^^^&1.2.250.1.999.7&ISO^urn:ihe:iti:xds:2013:accession"
D1 = entry("urn:uuid:d1", event_codes=[("E1", "s1"), ("E2", "s2")], unique_id="1.1")
D2 = entry("urn:uuid:d2", class_code=IMAGING, type_code=("18748-4", "2.16.840.1.113883.6.1"),
           visibility=("MASQUE_PS",), event_codes=[("E1", "s1")], reference_ids=[ACCESSION],
           author="10B0007712^MARTIN^ALICE^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS",
           creation_time="20230505", service_stop=None, unique_id="1.2",
           format_code=("urn:ihe:iti:xds-sd:text:2008", "1.3.6.1.4.1.19376.1.2.3"),
           facility_code=("SA07", "1.2.250.1.71.4.2.4"),
           practice_code=("AMBULATOIRE", "1.2.250.1.213.1.1.4.9"))
D3 = entry("urn:uuid:d3", status=DELETED, unique_id="1.3")
D4 = entry("urn:uuid:d4", status=DEPRECATED, unique_id="1.1")  # earlier version of D1
D5 = entry("urn:uuid:d5", patient=b.cx("180032B01234567"), unique_id="1.5")
D6 = entry("urn:uuid:d6", object_type=ON_DEMAND, unique_id="1.6")
D7 = entry("urn:uuid:d7", status=DEPRECATED, unique_id="1.7")  # replaced through RPLC
S1 = package("urn:uuid:s1", submission_time="20240115103000")
S2 = package("urn:uuid:s2", submission_time="20220301", source_id="1.2.250.1.999.2",
             content_type=("01", "1.2.250.1.213.2.2"),
             author="10B0007712^MARTIN^ALICE^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS")
S3 = package("urn:uuid:s3", status=DEPRECATED)
A1 = Association("urn:uuid:a1", HAS_MEMBER, S1.id, D1.id, b.APPROVED)
A2 = Association("urn:uuid:a2", HAS_MEMBER, S1.id, D2.id, b.APPROVED)
A3 = Association("urn:uuid:a3", RPLC, D1.id, D3.id, b.APPROVED)
A4 = Association("urn:uuid:a4", RPLC, D2.id, D1.id, b.APPROVED)
REGISTRY = MemoryRegistry([D1, D2, D3, D4, D5, D6, D7, S1, S2, S3], [A1, A2, A3, A4])


def everyone(obj) -> bool:
    return True


def not_masked(obj) -> bool:
    return not any(c.code == "MASQUE_PS" for c in obj.codes(
        "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"))


def found(text: str, visible=everyone, registry=REGISTRY) -> list[str]:
    result = run_query(parse(text), registry, visible=visible)
    return [o.id.rsplit(":", 1)[1] for o in result.objects] + \
        [a.id.rsplit(":", 1)[1] for a in result.associations]


def test_patient_and_status():
    assert found(b.find_documents()) == ["d1", "d2"]
    assert found(b.find_documents(b.cx() + "^^20100907")) == ["d1", "d2"]
    assert found(b.find_documents(b.cx("180032B01234567"))) == ["d5"]
    assert found(b.find_documents(statuses=(DEPRECATED,))) == ["d4", "d7"]


def test_deleted_documents_only_when_that_status_is_asked_for():
    assert "d3" not in found(b.find_documents(statuses=(b.APPROVED, DEPRECATED, b.ARCHIVED)))
    assert found(b.find_documents(statuses=(DELETED,))) == ["d3"]


def test_document_entry_type_defaults_to_stable():
    assert "d6" not in found(b.find_documents())
    assert found(b.find_documents(entry_types=[ON_DEMAND])) == ["d6"]


@pytest.mark.parametrize("codes, expected", [
    (["31^^" + CLASS_OID], ["d2"]),
    (["31^^2.16.840.1.113883.6.1"], []),  # right code, wrong scheme
    (["31"], ["d2"]),  # no scheme: any scheme
    (["10^^" + CLASS_OID, "31^^" + CLASS_OID], ["d1", "d2"]),
])
def test_class_code_with_scheme(codes, expected):
    assert found(b.find_documents(class_codes=codes)) == expected


@pytest.mark.parametrize("keyword, code, expected", [
    ("type_codes", "18748-4^^2.16.840.1.113883.6.1", ["d2"]),
    ("type_codes", "11490-0^^2.16.840.1.113883.6.1", ["d1"]),
    ("practice_setting_codes", "AMBULATOIRE^^1.2.250.1.213.1.1.4.9", ["d2"]),
    ("facility_type_codes", "SA01^^1.2.250.1.71.4.2.4", ["d1"]),
    ("format_codes", "urn:ihe:iti:xds-sd:text:2008^^1.3.6.1.4.1.19376.1.2.3", ["d2"]),
    ("format_codes", "urn:ihe:iti:xds-sd:pdf:2008^^1.3.6.1.4.1.19376.1.2.3", ["d1"]),
])
def test_other_code_filters(keyword, code, expected):
    assert found(b.find_documents(**{keyword: [code]})) == expected


@pytest.mark.parametrize("groups, expected", [
    ([["E1^^s1"]], ["d1", "d2"]),
    ([["E2^^s2"]], ["d1"]),
    ([["E1^^s1"], ["E2^^s2"]], ["d1"]),  # two slots: AND
    ([["E2^^s2", "E9^^s9"]], ["d1"]),  # one slot: OR
    ([["E1^^s1"], ["E9^^s9"]], []),
])
def test_event_code_list_and_or(groups, expected):
    assert found(b.find_documents(event_codes=groups)) == expected


def test_confidentiality_codes_and_or():
    normal, masked = "N^^2.16.840.1.113883.5.25", f"MASQUE_PS^^{VISIBILITY}"
    assert found(b.find_documents(confidentiality_codes=[[normal], [masked]])) == ["d2"]
    assert found(b.find_documents(confidentiality_codes=[[normal]])) == ["d1", "d2"]


@pytest.mark.parametrize("filters, expected", [
    ({"creation_from": "20240110093000"}, ["d1"]),  # From is inclusive
    ({"creation_to": "20240110093000"}, ["d2"]),  # To is exclusive
    ({"creation_from": "2024"}, ["d1"]),  # year precision
    ({"creation_to": "2024"}, ["d2"]),
    ({"creation_from": "202301", "creation_to": "202306"}, ["d2"]),
    ({"creation_to": "20240110"}, ["d2"]),  # d1 is on 20240110: not before it
    ({"creation_from": "202401100930"}, ["d1"]),
    # d2's creationTime 20230505 (day precision) is "at" 20230505120000: passes From, fails To.
    ({"creation_from": "20230505120000"}, ["d1", "d2"]),
    ({"creation_to": "20230505120000"}, []),
    ({"service_start_from": "20240108", "service_start_to": "20240109"}, ["d1", "d2"]),
    ({"service_stop_from": "2000"}, ["d1"]),  # d2 has no serviceStopTime
    ({"service_stop_to": "20240110090001"}, ["d1"]),
    ({"service_stop_to": "20240110090000"}, []),
])
def test_time_ranges(filters, expected):
    assert found(b.find_documents(**filters)) == expected


@pytest.mark.parametrize("value, start, end, expected", [
    ("20240110093000", "20240110093000", None, True),
    ("20240110093000", None, "20240110093000", False),
    ("20240110093000", None, "20240110093001", True),
    ("20240110093000", "2024", "2025", True),
    ("20241231235959", None, "2025", True),
    ("2025", None, "2025", False),
    ("2024", "20240601", None, True),
    ("2024", None, "20240601", False),
    ("20240110", "20240109235959", "20240110000001", False),
    (None, "2000", None, False),
    (None, None, None, True),
])
def test_in_range(value, start, end, expected):
    assert in_range(value, start, end) is expected


@pytest.mark.parametrize("pattern, expected", [
    ("%^DUPONT^%", ["d1"]),
    ("DUPONT", []),  # no wildcard: the whole XCN must match
    ("80123456789_^%", ["d1"]),
    ("%dupont%", []),  # case-sensitive
    ("%^MARTIN^ALICE^%", ["d2"]),
    ("%", ["d1", "d2"]),
])
def test_author_person_wildcards(pattern, expected):
    assert found(b.find_documents(author_persons=[pattern])) == expected


def test_several_author_persons_are_an_or():
    assert found(b.find_documents(author_persons=["%DUPONT%", "%MARTIN%"])) == ["d1", "d2"]


def test_visible_hides_masked_documents():
    assert found(b.find_documents(), visible=not_masked) == ["d1"]


def test_find_documents_by_reference_id():
    assert found(b.find_documents_by_reference_id([ACCESSION])) == ["d2"]
    order = "OTHER^^^&1.2&ISO^urn:ihe:iti:xds:2013:order"
    assert found(b.find_documents_by_reference_id([order])) == []
    assert found(b.find_documents_by_reference_id([ACCESSION], class_codes=["10"])) == []


@pytest.mark.parametrize("options, expected", [
    ({}, ["s1", "s2"]),
    ({"statuses": (DEPRECATED,)}, ["s3"]),
    ({"submission_from": "2024"}, ["s1"]),
    ({"submission_to": "2024"}, ["s2"]),
    ({"source_ids": ["1.2.250.1.999.2"]}, ["s2"]),
    ({"content_types": ["04^^1.2.250.1.213.2.2"]}, ["s1"]),
    ({"author": "%MARTIN%"}, ["s2"]),
])
def test_find_submission_sets(options, expected):
    assert found(b.find_submission_sets(**options)) == expected


def test_find_submission_sets_of_another_patient():
    assert found(b.find_submission_sets(b.cx("180032B01234567"))) == []


def test_get_documents_by_entry_uuid_hides_deleted_and_invisible_ones():
    assert found(b.get_documents(["urn:uuid:d1", "urn:uuid:d3", "urn:uuid:nowhere"])) == ["d1"]
    assert found(b.get_documents(["urn:uuid:d2"]), visible=not_masked) == []
    assert found(b.get_documents(["urn:uuid:s1"])) == []  # not a document


def test_get_documents_by_unique_id_returns_the_current_version():
    assert found(b.get_documents(unique_ids=["1.1"])) == ["d1"]  # not its Deprecated d4
    assert found(b.get_documents(unique_ids=["1.7"])) == ["d7"]  # only version: replaced
    assert found(b.get_documents(unique_ids=["1.3"])) == []  # deleted


def test_get_documents_and_associations():
    assert found(b.get_documents_and_associations(["urn:uuid:d1"])) == ["d1", "a1", "a4"]
    # a3 points at a deleted document; a4 comes from a masked one
    assert found(b.get_documents_and_associations(["urn:uuid:d1"]), visible=not_masked) == \
        ["d1", "a1"]


def test_get_associations():
    assert found(b.get_associations(["urn:uuid:s1"])) == ["a1", "a2"]
    assert found(b.get_associations(["urn:uuid:s1"]), visible=not_masked) == ["a1"]
    assert found(b.get_associations(["urn:uuid:d3"])) == []


def test_patient_key():
    assert patient_key("X^^^&1.2.3&ISO^NH") == patient_key("X^^^&1.2.3&ISO^NH^^20100907")
    assert patient_key("X^^^&1.2.3&ISO^NH") != patient_key("X^^^&1.2.4&ISO^NH")
    assert patient_key("X^^^&1.2.3&ISO^NH") != patient_key("Y^^^&1.2.3&ISO^NH")
