"""The registry's issue-15 methods on every backend (simulator.ports.dmp.RegistryAccess):
objects stored from rows prepared before the transaction (``add_prepared``), FindDocuments
counted on stored columns up to one past the result limit (``find_documents``), stored
answer fragments (``fragments``), and a feed's keys reserved in one lock order
(``reserve``): the answers are those of the query engine on decoded entries."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from simulator.kit import registry as b
from simulator.kit.registry import MemoryRegistry
from simulator.kit.xds import Doc, provide_and_register
from simulator.ports.dmp import DOCUMENT, SUBMISSION_SET
from simulator.services.dmp.document_access import is_masked
from simulator.services.dmp.xds.errors import DUPLICATE_UNIQUE_ID, XdsFailure
from simulator.services.dmp.xds.fragments import object_fragment
from simulator.services.dmp.xds.model import (
    DELETED, DEPRECATED, DOCUMENT_ENTRY_TYPE, read_registry_object)
from simulator.services.dmp.xds.query_engine import document_find, run_query
from simulator.services.dmp.xds.registration import plan_registration
from simulator.services.dmp.xds.stored_queries import parse_adhoc_query
from simulator.services.dmp.xds.stored_rows import prepare_object
from simulator.services.dmp.xds.store_registration import (
    prepare_registration, register_checked)
from simulator.services.dmp.xds.submission import parse_provide_and_register
from simulator.soap.parsing import safe_parser

INS = b.ADRUN
START = datetime(2024, 1, 1, tzinfo=timezone.utc)
CLASS_OID = "1.2.250.1.213.1.1.4.1"
OTHER_SCHEME = "1.2.250.1.999.9"
ON_DEMAND = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248"
STATUSES = (b.APPROVED, DEPRECATED, DELETED)
CLASSES = ("10", "31", "11")
CALLERS = ("PS", "OTHER")
DTM = st.builds(lambda year, rest, digits: (str(year) + rest)[:digits],
                st.integers(2022, 2025), st.from_regex(r"(0[1-9]|1[0-2])[0-2][0-9]{7}",
                                                       fullmatch=True),
                st.sampled_from((4, 6, 8, 10, 12, 14)))
FOUND = st.lists(st.tuples(
    st.sampled_from(STATUSES), st.sampled_from(CLASSES),
    st.sampled_from((CLASS_OID, OTHER_SCHEME)), st.one_of(st.none(), DTM), st.booleans(),
    st.sampled_from(CALLERS), st.sampled_from((DOCUMENT_ENTRY_TYPE, ON_DEMAND))), max_size=8)
CLASS_VALUES = st.lists(st.tuples(st.sampled_from(CLASSES),
                                  st.sampled_from((CLASS_OID, OTHER_SCHEME, ""))),
                        max_size=3, unique=True)
# Fewer examples than tests/unit/test_xds_registry_store.py (150, SQLite only): each one
# clears and fills a PostgreSQL database. The store fixture is cleared by each example.
PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def xml(text: str) -> etree._Element:
    return etree.fromstring(text.encode("utf-8"), safe_parser())


def stored_document(index, status=b.APPROVED, class_code="10", scheme=CLASS_OID,
                    creation="2024", masked=False, author="PS",
                    entry_type=DOCUMENT_ENTRY_TYPE):
    uuid = f"urn:uuid:00000000-0000-4000-8000-{index:012d}"
    obj = read_registry_object(xml(b.document_entry(
        uuid, unique_id=f"1.2.250.1.999.1.{index}", class_code=(class_code, scheme, "x"),
        creation_time=creation or "", visibility=("MASQUE_PS",) if masked else ())))
    return obj.evolve(status=status, lid=uuid, version="1", object_type=entry_type), author


def submission_set(index: int):
    uuid = f"urn:uuid:00000000-0000-4000-9000-{index:012d}"
    element = xml(f"<x {b.NS}>{b.submission_set(uuid)}</x>")[0]
    return read_registry_object(element).evolve(lid=uuid, version="1")


def fill(store, made) -> None:
    """Store ``made`` [(object, author)] as a feed does: rows prepared, then written."""
    store.dmp.clear()
    with store.dmp.registry_transaction() as registry:
        for index, (obj, author) in enumerate(made):
            registry.add_prepared(prepare_object(
                obj, kind=DOCUMENT, ins=INS, unique_id=obj.id, author_id=author,
                registered_at=START + timedelta(seconds=index)))


def find_query(statuses, classes, types, start, end):
    filters = {"class_codes": [f"{c}^^{s}" if s else c for c, s in classes]} if classes else {}
    if types:
        filters["entry_types"] = sorted(types)
    filters.update({k: v for k, v in (("creation_from", start), ("creation_to", end)) if v})
    return parse_adhoc_query(xml(b.find_documents(statuses=sorted(statuses), **filters)))


@PROPERTY
@given(FOUND, st.sets(st.sampled_from(STATUSES), min_size=1), CLASS_VALUES,
       st.sets(st.sampled_from((DOCUMENT_ENTRY_TYPE, ON_DEMAND))), st.one_of(st.none(), DTM),
       st.one_of(st.none(), DTM), st.sampled_from(CALLERS), st.integers(0, 5))
def test_find_documents_answers_as_the_engine_on_decoded_entries(
        store, documents, statuses, classes, types, start, end, caller, limit):
    made = [stored_document(i, *spec) for i, spec in enumerate(documents)]
    fill(store, made)
    query = find_query(statuses, classes, types, start, end)
    find = document_find(query)
    assert find is not None
    authors = {obj.id: author for obj, author in made}
    expected = run_query(query, MemoryRegistry([obj for obj, _ in made]), visible=lambda o: (
        not is_masked(o) or authors[o.id] == caller)).objects
    view = store.dmp.view()
    assert view.find_documents(find, ins=INS, caller=caller, limit=None) == (
        len(expected), [(o.id, object_fragment(o)) for o in expected])
    count, found = view.find_documents(find, ins=INS, caller=caller, limit=limit,
                                       with_fragments=False)
    if len(expected) > limit:  # counted to one past the limit, nothing read
        assert (count, found) == (limit + 1, [])
    else:
        assert (count, found) == (len(expected), [(o.id, None) for o in expected])


def test_find_documents_is_scoped_to_the_patient_and_its_patient_id(store):
    obj, _ = stored_document(1)
    fill(store, [(obj, "PS")])
    find = document_find(find_query({b.APPROVED}, [], set(), None, None))
    view = store.dmp.view()
    assert view.find_documents(find, ins=INS, caller="PS", limit=10)[0] == 1
    assert view.find_documents(find, ins="000000000000000", caller="PS", limit=10) == (0, [])
    other = document_find(parse_adhoc_query(xml(b.find_documents(b.cx("180032B01234567")))))
    assert view.find_documents(other, ins=INS, caller="PS", limit=10) == (0, [])


def test_a_prepared_row_is_stored_as_add_object_stores_the_object(store):
    (first, _), (second, _) = stored_document(1), stored_document(2, masked=True)
    with store.dmp.registry_transaction() as registry:
        registry.add_prepared(prepare_object(
            submission_set(1), kind=SUBMISSION_SET, ins=INS, unique_id="1.2.250.1.999.2.1",
            author_id="PS", registered_at=START))
        registry.add_prepared(prepare_object(first, kind=DOCUMENT, ins=INS, unique_id="u1",
                                             author_id="PS", registered_at=START))
        registry.add_object(second, kind=DOCUMENT, ins=INS, unique_id="u2", author_id="PS",
                            registered_at=START + timedelta(seconds=1))
    view = store.dmp.view()
    assert view.entry(first.id) == first and view.entry(second.id) == second
    assert view.unique_id_exists("u1") and view.unique_id_exists("1.2.250.1.999.2.1")
    assert view.documents_for_patient(INS) == [first, second]
    assert view.author_of(first.id) == "PS"
    assert view.fragments([first.id, second.id, submission_set(1).id]) == {
        first.id: object_fragment(first), second.id: object_fragment(second),
        submission_set(1).id: object_fragment(submission_set(1))}


def test_fragments_of_the_stored_objects_only(store):
    made = [stored_document(i) for i in range(3)]
    fill(store, made)
    view = store.dmp.view()
    assert view.fragments([]) == {}
    assert view.fragments(["urn:uuid:none", made[2][0].id]) == {
        made[2][0].id: object_fragment(made[2][0])}
    many = [f"urn:uuid:{i}" for i in range(40_000)] + [made[0][0].id]  # over any bound
    assert view.fragments(many) == {made[0][0].id: object_fragment(made[0][0])}


def test_a_status_change_renders_the_stored_fragment_again(store):
    obj, _ = stored_document(1)
    fill(store, [(obj, "PS")])
    with store.dmp.registry_transaction() as registry:
        registry.set_status(obj.id, DEPRECATED)
    changed = obj.evolve(status=DEPRECATED)
    assert store.dmp.view().fragments([obj.id]) == {obj.id: object_fragment(changed)}
    find = document_find(find_query({DEPRECATED}, [], set(), None, None))
    assert store.dmp.view().find_documents(find, ins=INS, caller="PS", limit=5) == (
        1, [(obj.id, object_fragment(changed))])


def test_clear_forgets_the_fragments(store):
    obj, _ = stored_document(1)
    fill(store, [(obj, "PS")])
    store.dmp.clear()
    assert store.dmp.view().fragments([obj.id]) == {}
    fill(store, [(obj, "PS")])  # the same entryUUID can be stored again
    assert store.dmp.view().fragments([obj.id]) == {obj.id: object_fragment(obj)}


# --- two feeds reusing two uniqueIds in opposite orders -----------------------------------

SHARED = ("1.2.250.1.999.1.77.1", "1.2.250.1.999.1.77.2")


def _prepared_feed(store, name: str, ins: str, unique_ids):
    request = provide_and_register(
        tuple(Doc(entry_id=f"Doc{name}{n}", unique_id=uid) for n, uid in enumerate(unique_ids)),
        set_unique_id=f"1.2.250.1.999.1.78.{len(name)}{ord(name[0])}", signed=False)
    submission = parse_provide_and_register(xml(request.body))
    counter = iter(range(1, 1000))
    registration = plan_registration(
        submission, now=START, repository_unique_id="1.2.250.1.213.4.1.1.1.2",
        new_uuid=lambda: f"00000000-0000-4000-a{ord(name[0]):03d}-{next(counter):012d}",
        lookup=store.dmp.view())
    return submission, prepare_registration(registration, ins=ins, feeder="PS", now=START)


class _PausingRegistry:
    """The registry of one feed's transaction, stopping (at most ``wait`` seconds) once
    it has checked its first shared uniqueId, until the other feed has checked one:
    the interleaving that deadlocked when each check took its lock as it came."""

    def __init__(self, registry, barrier: threading.Barrier, wait: float):
        self.registry, self.barrier, self.wait, self.paused = registry, barrier, wait, False

    def __getattr__(self, name):
        return getattr(self.registry, name)

    def unique_id_exists(self, unique_id: str) -> bool:
        found = self.registry.unique_id_exists(unique_id)
        if unique_id in SHARED and not self.paused:
            self.paused = True
            try:
                self.barrier.wait(self.wait)
            except threading.BrokenBarrierError:  # the other feed waits for our locks
                pass
        return found


def test_two_feeds_reusing_two_unique_ids_in_opposite_orders_do_not_deadlock(open_store):
    stores = open_store(), open_store()  # as two worker processes
    feeds = [_prepared_feed(stores[0], "A", INS, SHARED),
             _prepared_feed(stores[1], "B", "180032B01234567", SHARED[::-1])]
    barrier, outcomes = threading.Barrier(2), {}

    def feed(index: int) -> None:
        submission, prepared = feeds[index]
        try:
            with stores[index].dmp.registry_transaction() as registry:
                register_checked(_PausingRegistry(registry, barrier, 3.0), submission,
                                 prepared, ins=prepared.objects[0][2],
                                 check_rights=lambda: None)
            outcomes[index] = "stored"
        except XdsFailure as failure:
            outcomes[index] = sorted({error.code for error in failure.errors})
        except Exception as error:  # a deadlock is a technical fault
            outcomes[index] = repr(error)

    threads = [threading.Thread(target=feed, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(map(str, outcomes.values())) == sorted(
        ["stored", str([DUPLICATE_UNIQUE_ID])]), outcomes
    assert stores[0].dmp.count_documents() == 2


def test_a_postgresql_registry_written_before_the_stored_columns_is_migrated(
        backend, open_store):
    if backend != "postgresql":
        pytest.skip("SQLite's migration: tests/unit/test_xds_registry_store.py")
    old = open_store()
    old.db.execute("DROP TABLE xds_fragments")
    old.db.execute("ALTER TABLE xds_objects DROP COLUMN patient_key, DROP COLUMN object_type,"
                   " DROP COLUMN masked, DROP COLUMN class_keys")
    (obj, _), (masked, _) = stored_document(1), stored_document(2, masked=True)
    for index, entry in enumerate((obj, masked)):
        row = prepare_object(entry, kind=DOCUMENT, ins=INS, unique_id=entry.id,
                             author_id="PS", registered_at=START + timedelta(seconds=index))
        old.db.execute("INSERT INTO xds_objects (entry_uuid, kind, ins, unique_id, lid,"
                       " version, status, author_id, registered_at, query_time, class_code,"
                       " payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                       row[:12])
    migrated = open_store()
    find = document_find(find_query({b.APPROVED}, [("10", CLASS_OID)], set(), None, None))
    assert migrated.dmp.view().find_documents(find, ins=INS, caller="OTHER", limit=5) == (
        1, [(obj.id, object_fragment(obj))])
    assert migrated.dmp.view().fragments([masked.id]) == {masked.id: object_fragment(masked)}
    open_store()  # a second start finds nothing left to migrate
    assert migrated.dmp.view().find_documents(find, ins=INS, caller="PS", limit=5)[0] == 2


def test_postgresql_tenants_do_not_wait_for_each_others_patient_locks(backend, request):
    if backend != "postgresql":
        pytest.skip("SQLite tenants are separate files")
    from postgres_server import drop_database, new_database

    from simulator.store.postgres import PostgresStore
    server = request.getfixturevalue("postgres_server")
    url = new_database(server)
    first, second = PostgresStore(url, schema="tenant_a"), PostgresStore(url, schema="tenant_b")
    try:
        done = threading.Event()

        def other_tenant() -> None:
            with second.dmp.registry_transaction() as registry:
                registry.reserve(ins=INS, unique_ids=SHARED)
            done.set()

        with first.dmp.registry_transaction() as registry:
            registry.reserve(ins=INS, unique_ids=SHARED)
            thread = threading.Thread(target=other_tenant)
            thread.start()
            thread.join(30)  # a hang guard: it waited for this transaction's locks
            assert done.is_set()
    finally:
        first.close(), second.close()
        drop_database(server, url)
