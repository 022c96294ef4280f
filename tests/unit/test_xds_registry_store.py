"""The registry's SQL narrowing of Find queries (TD3.1) on a real SQLite file: it returns
exactly the objects the engine's own rules keep, so answers are those of an unfiltered
registry, and data directories written before the query columns existed are migrated."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from simulator.kit import registry as b
from simulator.kit.registry import MemoryRegistry
from simulator.services.dmp.document_access import is_masked
from simulator.services.dmp.xds.fragments import object_fragment
from simulator.services.dmp.xds.model import (
    DE_CLASS_CODE, DELETED, DEPRECATED, DOCUMENT_ENTRY_TYPE, RegistryObject,
    read_registry_object)
from simulator.services.dmp.xds.query_engine import (
    Narrowing, document_find, in_range, run_query)
from simulator.services.dmp.xds.stored_queries import parse_adhoc_query
from simulator.soap.parsing import safe_parser
from simulator.store.database import Database
from simulator.store.dmp import DmpStore
from simulator.store.xds_registry import DOCUMENT, SUBMISSION_SET

INS = b.ADRUN
CLASS_OID = "1.2.250.1.213.1.1.4.1"
STATUSES = (b.APPROVED, DEPRECATED, DELETED)
CLASSES = ("10", "31", "11")
START = datetime(2024, 1, 1, tzinfo=timezone.utc)

# UTC DTM values of every precision the rules accept (4 to 14 digits), around 2023-2024.
DTM = st.builds(lambda year, rest, digits: (str(year) + rest)[:digits],
                st.integers(2022, 2025), st.from_regex(r"(0[1-9]|1[0-2])[0-2][0-9]{7}",
                                                       fullmatch=True),
                st.sampled_from((4, 6, 8, 10, 12, 14)))
DOCUMENTS = st.lists(st.tuples(st.sampled_from(STATUSES), st.sampled_from(CLASSES),
                               st.one_of(st.none(), DTM)), max_size=12)
NARROWINGS = st.builds(
    lambda statuses, classes, start, end: Narrowing(frozenset(statuses), frozenset(classes),
                                                    start, end),
    st.sets(st.sampled_from(STATUSES), min_size=1), st.sets(st.sampled_from(CLASSES)),
    st.one_of(st.none(), DTM), st.one_of(st.none(), DTM))
PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, database=None)


def xml(text: str) -> etree._Element:
    return etree.fromstring(text.encode("utf-8"), safe_parser())


def document(index: int, status: str, class_code: str, creation: str | None) -> RegistryObject:
    uuid = f"urn:uuid:00000000-0000-4000-8000-{index:012d}"
    obj = read_registry_object(xml(b.document_entry(
        uuid, unique_id=f"1.2.250.1.999.1.{index}", class_code=(class_code, CLASS_OID, "x"),
        creation_time=creation or "")))
    return obj.evolve(status=status, lid=uuid, version="1")


def submission_set(index: int, status: str, submitted: str | None) -> RegistryObject:
    uuid = f"urn:uuid:00000000-0000-4000-9000-{index:012d}"
    element = xml(f"<x {b.NS}>{b.submission_set(uuid, submission_time=submitted or '')}</x>")[0]
    return read_registry_object(element).evolve(status=status, lid=uuid, version="1")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> DmpStore:
    return DmpStore(Database(tmp_path_factory.mktemp("registry") / "state.sqlite3", ""))


def fill(store: DmpStore, objects: list[tuple[str, RegistryObject]]) -> None:
    store.clear()
    with store.registry_transaction() as registry:
        for index, (kind, obj) in enumerate(objects):
            registry.add_object(obj, kind=kind, ins=INS, unique_id=obj.id, author_id="PS",
                                registered_at=START + timedelta(seconds=index))


def kept(obj: RegistryObject, narrowing: Narrowing, time_slot: str) -> bool:
    """The engine's rules for what a narrowing stands for."""
    code = obj.code(DE_CLASS_CODE)
    return (obj.status in narrowing.statuses
            and (not narrowing.class_codes or (code is not None
                                               and code.code in narrowing.class_codes))
            and in_range(obj.slot(time_slot), narrowing.time_from, narrowing.time_to))


@PROPERTY
@given(DOCUMENTS, NARROWINGS)
def test_documents_narrowed_in_sql_are_those_the_rules_keep(store, documents, narrowing):
    objects = [document(i, *spec) for i, spec in enumerate(documents)]
    fill(store, [(DOCUMENT, obj) for obj in objects])
    got = store.view().documents_for_patient(INS, narrowing)
    assert [o.id for o in got] == [o.id for o in objects if kept(o, narrowing, "creationTime")]


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(STATUSES), st.one_of(st.none(), DTM)), max_size=8),
       NARROWINGS)
def test_submission_sets_narrowed_in_sql_are_those_the_rules_keep(store, sets, narrowing):
    narrowing = Narrowing(narrowing.statuses, frozenset(), narrowing.time_from,
                          narrowing.time_to)
    objects = [submission_set(i, *spec) for i, spec in enumerate(sets)]
    fill(store, [(SUBMISSION_SET, obj) for obj in objects])
    got = store.view().submission_sets_for_patient(INS, narrowing)
    assert [o.id for o in got] == [o.id for o in objects
                                   if kept(o, narrowing, "submissionTime")]


class _StoreView:
    """The query engine's view of the SQLite registry (as the registry service builds it)."""

    def __init__(self, store: DmpStore):
        self.view = store.view()

    def documents_for_patient(self, patient_id, narrowing):
        return self.view.documents_for_patient(INS, narrowing)

    def submission_sets_for_patient(self, patient_id, narrowing):
        return self.view.submission_sets_for_patient(INS, narrowing)


@PROPERTY
@given(DOCUMENTS, st.sets(st.sampled_from(STATUSES), min_size=1), st.sets(st.sampled_from(CLASSES)),
       st.one_of(st.none(), DTM), st.one_of(st.none(), DTM))
def test_find_documents_answers_as_an_unfiltered_registry(store, documents, statuses, classes,
                                                          start, end):
    objects = [document(i, *spec) for i, spec in enumerate(documents)]
    fill(store, [(DOCUMENT, obj) for obj in objects])
    filters = {"class_codes": [f"{c}^^{CLASS_OID}" for c in sorted(classes)]} if classes else {}
    filters.update({k: v for k, v in (("creation_from", start), ("creation_to", end)) if v})
    query = parse_adhoc_query(xml(b.find_documents(statuses=sorted(statuses), **filters)))
    expected = run_query(query, MemoryRegistry(objects), visible=lambda o: True)
    got = run_query(query, _StoreView(store), visible=lambda o: True)
    assert [o.id for o in got.objects] == [o.id for o in expected.objects]


# The xds_objects table as data directories written before the query columns hold it.
_BEFORE_QUERY_COLUMNS = """
CREATE TABLE xds_objects (
    entry_uuid TEXT PRIMARY KEY, kind TEXT NOT NULL, ins TEXT NOT NULL,
    unique_id TEXT NOT NULL, lid TEXT NOT NULL, version INTEGER NOT NULL,
    status TEXT NOT NULL, author_id TEXT NOT NULL, registered_at TEXT NOT NULL,
    payload TEXT NOT NULL, UNIQUE (lid, version));
CREATE INDEX xds_objects_ins ON xds_objects (ins, kind);
"""


def test_a_registry_written_before_the_query_columns_is_migrated(tmp_path):
    path = tmp_path / "state.sqlite3"
    old = [(DOCUMENT, document(1, b.APPROVED, "10", "20240110093000")),
           (DOCUMENT, document(2, b.APPROVED, "31", "20230505")),
           (SUBMISSION_SET, submission_set(3, b.APPROVED, "20240115103000"))]
    with sqlite3.connect(path) as conn:
        conn.executescript(_BEFORE_QUERY_COLUMNS)
        for index, (kind, obj) in enumerate(old):
            conn.execute("INSERT INTO xds_objects VALUES (?, ?, ?, ?, ?, 1, ?, 'PS', ?, ?)",
                         (obj.id, kind, INS, obj.id, obj.id, obj.status,
                          (START + timedelta(seconds=index)).isoformat(),
                          json.dumps(obj.to_dict())))
    store = DmpStore(Database(path, ""))
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT query_time, class_code FROM xds_objects ORDER BY "
                            "registered_at").fetchall() == [
            ("20240110093000", "10"), ("20230505", "31"), ("20240115103000", None)]
        indexes = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'xds_objects'")}
    assert "xds_objects_find" in indexes and "xds_objects_ins" not in indexes
    narrowing = Narrowing(frozenset({b.APPROVED}), frozenset({"10"}), "2024", None)
    assert [o.id for o in store.view().documents_for_patient(INS, narrowing)] == [old[0][1].id]
    DmpStore(Database(path, ""))  # a second start finds nothing left to migrate
    assert store.view().count_documents_for_patient(INS) == 2


# --- FindDocuments counted and answered on stored columns (issue 15) ----------------------

ON_DEMAND = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248"
OTHER_SCHEME = "1.2.250.1.999.9"
CALLERS = ("PS", "OTHER")
FOUND = st.lists(st.tuples(
    st.sampled_from(STATUSES), st.sampled_from(CLASSES),
    st.sampled_from((CLASS_OID, OTHER_SCHEME)), st.one_of(st.none(), DTM), st.booleans(),
    st.sampled_from(CALLERS), st.sampled_from((DOCUMENT_ENTRY_TYPE, ON_DEMAND))), max_size=10)
CLASS_VALUES = st.lists(st.tuples(st.sampled_from(CLASSES),
                                  st.sampled_from((CLASS_OID, OTHER_SCHEME, ""))),
                        max_size=3, unique=True)


def stored_document(index, status, class_code, scheme, creation, masked, author, entry_type):
    uuid = f"urn:uuid:00000000-0000-4000-8000-{index:012d}"
    obj = read_registry_object(xml(b.document_entry(
        uuid, unique_id=f"1.2.250.1.999.1.{index}", class_code=(class_code, scheme, "x"),
        creation_time=creation or "", visibility=("MASQUE_PS",) if masked else ())))
    return obj.evolve(status=status, lid=uuid, version="1", object_type=entry_type), author


@PROPERTY
@given(FOUND, st.sets(st.sampled_from(STATUSES), min_size=1), CLASS_VALUES,
       st.sets(st.sampled_from((DOCUMENT_ENTRY_TYPE, ON_DEMAND))), st.one_of(st.none(), DTM),
       st.one_of(st.none(), DTM), st.sampled_from(CALLERS), st.integers(0, 6))
def test_find_documents_on_stored_columns_answers_as_the_engine(
        store, documents, statuses, classes, types, start, end, caller, limit):
    made = [stored_document(i, *spec) for i, spec in enumerate(documents)]
    store.clear()
    with store.registry_transaction() as registry:
        for index, (obj, author) in enumerate(made):
            registry.add_object(obj, kind=DOCUMENT, ins=INS, unique_id=obj.id,
                                author_id=author, registered_at=START + timedelta(seconds=index))
    filters = {"class_codes": [f"{c}^^{s}" if s else c for c, s in classes]} if classes else {}
    if types:
        filters["entry_types"] = sorted(types)
    filters.update({k: v for k, v in (("creation_from", start), ("creation_to", end)) if v})
    query = parse_adhoc_query(xml(b.find_documents(statuses=sorted(statuses), **filters)))
    find = document_find(query)
    assert find is not None
    authors = {obj.id: author for obj, author in made}
    expected = run_query(query, MemoryRegistry([obj for obj, _ in made]), visible=lambda o: (
        not is_masked(o) or authors[o.id] == caller)).objects
    count, found = store.view().find_documents(find, ins=INS, caller=caller, limit=None)
    assert count == len(expected)
    assert found == [(o.id, object_fragment(o)) for o in expected]
    count, found = store.view().find_documents(find, ins=INS, caller=caller, limit=limit)
    if len(expected) > limit:  # counted to one past the limit, nothing read
        assert (count, found) == (limit + 1, [])
    else:
        assert (count, [uuid for uuid, _ in found]) == (len(expected), [o.id for o in expected])


def test_queries_naming_other_parameters_run_on_decoded_entries():
    for filters in ({"type_codes": ["11490-0^^2.16.840.1.113883.6.1"]},
                    {"service_start_from": "2024"}, {"author_persons": ["%DUPONT%"]},
                    {"event_codes": ["E^^x"]}, {"confidentiality_codes": ["N^^x"]}):
        query = parse_adhoc_query(xml(b.find_documents(**filters)))
        assert document_find(query) is None, filters
    assert document_find(parse_adhoc_query(xml(b.find_submission_sets()))) is None


def test_a_status_change_renders_the_stored_fragment_again(store):
    obj, _ = stored_document(1, b.APPROVED, "10", CLASS_OID, "2024", False, "PS",
                             DOCUMENT_ENTRY_TYPE)
    store.clear()
    with store.registry_transaction() as registry:
        registry.add_object(obj, kind=DOCUMENT, ins=INS, unique_id=obj.id, author_id="PS",
                            registered_at=START)
        registry.set_status(obj.id, DEPRECATED)
    assert store.view().fragments([obj.id]) == {
        obj.id: object_fragment(obj.evolve(status=DEPRECATED))}


def test_objects_are_encoded_as_dataclasses_asdict_would():
    # to_dict is written out for speed (issue 15); the stored JSON must not change.
    from dataclasses import asdict
    from simulator.services.dmp.xds.model import Association
    obj, _ = stored_document(7, b.APPROVED, "10", CLASS_OID, "2024", True, "PS", ON_DEMAND)
    assert json.dumps(obj.to_dict()) == json.dumps(asdict(obj))
    association = Association("urn:uuid:a", "t", "urn:uuid:s", "urn:uuid:t", b.APPROVED,
                              {"SubmissionSetStatus": ["Original"]})
    assert json.dumps(association.to_dict()) == json.dumps(asdict(association))
