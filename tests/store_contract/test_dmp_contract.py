"""DMP records, authorisations, the XDS registry and the timeline through
:mod:`simulator.ports.dmp` and :mod:`simulator.ports.timeline`."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from lxml import etree

from simulator.kit import registry as b
from simulator.ports.dmp import DOCUMENT, SUBMISSION_SET
from simulator.services.dmp.records import AuthorisationRecord, DmpRecord, PatientTraits
from simulator.services.dmp.xds.model import (
    DEPRECATED, Association, read_registry_object)
from simulator.services.dmp.xds.query_engine import Narrowing
from simulator.soap.parsing import safe_parser

NOW = datetime(2024, 1, 15, 10, 0, tzinfo=timezone.utc)
INS = b.ADRUN


def record(ins: str = INS, **changes) -> DmpRecord:
    traits = PatientTraits("ADRUN", "ZOE", "F", "1975-12-31", telecoms=("tel:0102030405",))
    return replace(DmpRecord(ins=ins, ins_oid=b.TEST_OID, status="ACTIVE", traits=traits,
                             created_at=NOW, updated_at=NOW), **changes)


def document(index: int, creation: str = "20240110"):
    uuid = f"urn:uuid:00000000-0000-4000-8000-{index:012d}"
    element = etree.fromstring(b.document_entry(
        uuid, unique_id=f"1.2.250.1.999.1.{index}", creation_time=creation).encode(),
        safe_parser())
    return read_registry_object(element).evolve(lid=uuid, version="1")


def submission_set(index: int):
    uuid = f"urn:uuid:00000000-0000-4000-9000-{index:012d}"
    element = etree.fromstring(f"<x {b.NS}>{b.submission_set(uuid)}</x>".encode(),
                               safe_parser())[0]
    return read_registry_object(element).evolve(lid=uuid, version="1")


def test_records_are_created_once_and_changed_atomically(open_store):
    store, other = open_store(), open_store()
    assert store.dmp.create_record(record()) is True
    assert store.dmp.create_record(record(status="CLOSED")) is False
    assert other.dmp.record(INS) == record()
    assert store.dmp.record("000000000000000") is None

    def rename(current: DmpRecord | None) -> DmpRecord:
        assert current is not None
        return replace(current, traits=replace(current.traits,
                                               used_name=(current.traits.used_name or "") + "X"))

    threads = [threading.Thread(target=lambda s=s: [s.dmp.update_record(INS, rename)
                                                    for _ in range(10)])
               for s in (store, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.dmp.record(INS).traits.used_name == "X" * 20  # no change lost
    with pytest.raises(ValueError):
        store.dmp.update_record(INS, lambda current: (_ for _ in ()).throw(ValueError()))
    assert store.dmp.record(INS).traits.used_name == "X" * 20
    store.dmp.save_record(record("111111111111111"))
    assert [r.ins for r in store.dmp.records()] == sorted(["111111111111111", INS])


def test_authorisations_by_patient_professional_and_structure(store):
    first = AuthorisationRecord(INS, "PS1", structure_id="S1", granted_at=NOW,
                                last_action_at=NOW, expires_at=NOW + timedelta(days=1))
    store.dmp.save_authorisation(first)
    store.dmp.save_authorisation(AuthorisationRecord(INS, "PS2", structure_id="S2"))
    assert store.dmp.authorisation(INS, "PS1") == first
    assert store.dmp.authorisation(INS, "PS3") is None
    blocked = store.dmp.update_authorisation(
        INS, "PS1", lambda current: replace(current, blocked=True))
    assert store.dmp.authorisation(INS, "PS1") == blocked and blocked.blocked
    assert [a.professional_id for a in store.dmp.authorisations_for_patient(INS)] == [
        "PS1", "PS2"]
    assert [a.professional_id for a in store.dmp.authorisations_of(structure_id="S2")] == [
        "PS2"]
    assert [a.ins for a in store.dmp.authorisations_of(professional_id="PS1")] == [INS]


def test_registry_adds_finds_counts_and_changes_status(store):
    documents = [document(1, "20240110"), document(2, "20230105")]
    with store.dmp.registry_transaction() as registry:
        registry.add_object(submission_set(1), kind=SUBMISSION_SET, ins=INS,
                            unique_id="1.2.250.1.999.1.2.1", author_id="PS1",
                            registered_at=NOW)
        for index, entry in enumerate(documents):
            registry.add_object(entry, kind=DOCUMENT, ins=INS,
                                unique_id=f"1.2.250.1.999.1.{index + 1}", author_id="PS1",
                                registered_at=NOW + timedelta(seconds=index + 1))
            registry.add_content(f"1.2.250.1.999.1.{index + 1}", "text/plain",
                                 f"doc {index}".encode())
        registry.add_association(Association("urn:uuid:a-1", "HasMember",
                                             submission_set(1).id, documents[0].id))
    view = store.dmp.view()
    assert view.entry(documents[0].id) == documents[0]
    assert view.unique_id_exists("1.2.250.1.999.1.2") and not view.unique_id_exists("9.9")
    assert view.documents_by_unique_id("1.2.250.1.999.1.1") == [documents[0]]
    assert view.documents_for_patient(INS) == documents
    narrowed = view.documents_for_patient(INS, Narrowing(time_from="2024"))
    assert documents[0] in narrowed  # a backend may rule out fewer, never a match
    assert [s.id for s in view.submission_sets_for_patient(INS)] == [submission_set(1).id]
    assert view.count_documents_for_patient(INS) == 2 and store.dmp.count_documents() == 2
    assert view.author_of(documents[1].id) == "PS1"
    assert [a.id for a in view.associations_for([documents[0].id])] == ["urn:uuid:a-1"]
    assert view.association_exists("urn:uuid:a-1")
    assert view.current_version(documents[0].id) == documents[0]
    assert store.dmp.document_content("1.2.250.1.999.1.2") == ("text/plain", b"doc 1")
    assert [row[0] for row in store.dmp.documents_since(NOW)] == [INS, INS]
    with store.dmp.registry_transaction() as registry:
        registry.set_status(documents[1].id, DEPRECATED)
        with pytest.raises(KeyError):
            registry.set_status("urn:uuid:none", DEPRECATED)
    assert store.dmp.view().entry(documents[1].id).status == DEPRECATED


def test_a_failed_registry_transaction_keeps_nothing(store):
    with pytest.raises(RuntimeError):
        with store.dmp.registry_transaction() as registry:
            registry.add_object(document(3), kind=DOCUMENT, ins=INS, unique_id="u3",
                                author_id="PS1", registered_at=NOW)
            raise RuntimeError("the submission is refused")
    assert store.dmp.count_documents() == 0


def test_clear_forgets_the_dmp(store):
    store.dmp.create_record(record())
    store.dmp.save_authorisation(AuthorisationRecord(INS, "PS1"))
    with store.dmp.registry_transaction() as registry:
        registry.add_object(document(4), kind=DOCUMENT, ins=INS, unique_id="u4",
                            author_id="PS1", registered_at=NOW)
    store.dmp.clear()
    assert store.dmp.records() == [] and store.dmp.count_documents() == 0
    assert store.dmp.authorisation(INS, "PS1") is None


def test_timeline_counts_registers_and_clears(store):
    timeline = store.timeline
    timeline.record_usage([(NOW, "LPS-1", "S1", "dmp-v1", "INS-C", "TD0.2")] * 2)
    [usage] = timeline.usage()
    assert (usage["calls"], usage["month"], usage["api"]) == (2, "2024-01", "dmp-v1")
    timeline.register_grace("software", "LPS-1", "dmp-v1", "flow", NOW)
    timeline.register_grace("software", "LPS-1", "dmp-v1", "admin", NOW)  # kept as first
    assert timeline.is_registered("dmp-v1", "LPS-1", "other")
    assert not timeline.is_registered("td00", "LPS-1", "other")
    assert [r["source"] for r in timeline.registrations()] == ["flow"]
    timeline.record_provenance([("S1", INS, "insi", NOW), ("S1", INS, "td00", NOW)])
    assert timeline.provenance("S1", INS[:13]) == {"insi", "td00"}
    timeline.count_feed(NOW, "S1", "LPS-1", "qualified", 2)
    timeline.count_feed(NOW, "S1", "LPS-1", "qualified", 3)
    assert [f["documents"] for f in timeline.feeds()] == [5]
    timeline.clear()
    assert timeline.usage() == [] and timeline.feeds() == []


def test_document_versions_are_what_retrieve_reads_of_the_entries(store):
    """TD3.2 reads each version's facts from the stored columns (issue 15): the same as
    the decoded entries give, masked entries, a later version and a status change
    included."""
    from simulator.ports.dmp import DocumentVersion
    from simulator.services.dmp.document_access import is_masked
    from simulator.services.dmp.xds.model import (
        DE_CONFIDENTIALITY, DE_PATIENT_ID, SS_PATIENT_ID, Classification)
    first = document(5)
    masked = replace(first, id="urn:uuid:00000000-0000-4000-8000-000000000006", version="2",
                     classifications=[*first.classifications, Classification(
                         DE_CONFIDENTIALITY, "MASQUE_PS", slots={"codingScheme": ["x"]})])
    with store.dmp.registry_transaction() as registry:
        for index, entry in enumerate((first, masked)):
            registry.add_object(entry, kind=DOCUMENT, ins=INS, unique_id="u5",
                                author_id=f"PS{index}", registered_at=NOW + timedelta(
                                    seconds=index))
        registry.set_status(first.id, DEPRECATED)
    versions = store.dmp.view().document_versions("u5")
    entries = store.dmp.view().documents_by_unique_id("u5")
    assert versions == [DocumentVersion(
        e.id, int(e.version or 1), e.status, e.kind, is_masked(e), f"PS{index}",
        e.external(DE_PATIENT_ID) or e.external(SS_PATIENT_ID))
        for index, e in enumerate(entries)]
    assert [v.masked for v in versions] == [False, True] and versions[0].status == DEPRECATED
    assert versions[0].patient_id.startswith(INS) and versions[1].version == 2
    assert store.dmp.view().document_versions("none") == []
