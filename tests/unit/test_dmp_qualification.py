"""Is a feed's INS qualified? (issue 5: TD0.0-only INS, unknown INS, contradicting traits)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from simulator.identities.registry import seed_registry
from simulator.services.dmp.qualification import (
    INS_C, INS_C_OID, NON_QUALIFIED, QUALIFIED, assess_feed)
from simulator.settings import Settings
from simulator.store.sqlite import open_store

ADRUN = "275126322074974"  # CNDA person ADRUN Zoé, F, born 1975-12-31
TEST_OID = "1.2.250.1.213.1.4.10"
TRAITS = ["PID-5|ADRUN^ZOE^^^^^L", "PID-7|19751231", "PID-8|F"]
AT = datetime(2023, 3, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = open_store(tmp_path_factory.mktemp("qualification"))
    seed_registry(store, Settings(population=0))
    return store


def assess(store, traits=TRAITS, ins=ADRUN, oid=TEST_OID, structure="10B0167011"):
    return assess_feed(store, structure, ins, oid, [traits])


def test_an_ins_known_to_insi_with_matching_traits_is_qualified(store):
    assert assess(store).kind == QUALIFIED
    assert assess(store, ["PID-5|adrun^Zoe^^^^^L", "PID-7|19751231"]).kind == QUALIFIED


def test_an_ins_c_is_its_own_kind(store):
    assert assess(store, oid=INS_C_OID, ins="1" * 22).kind == INS_C


@pytest.mark.parametrize("traits, words", [
    (["PID-5|ADRUNE^ZOE^^^^^L", "PID-7|19751231", "PID-8|F"], "birth name 'ADRUNE'"),
    (["PID-5|ADRUN^ZOE^^^^^L", "PID-7|19751230", "PID-8|F"], "birth date 19751230"),
    (["PID-5|ADRUN^ZOE^^^^^L", "PID-7|19751231", "PID-8|M"], "sex M"),
])
def test_traits_contradicting_the_insi_identity_are_not_qualified(store, traits, words):
    found = assess(store, traits)
    assert found.kind == NON_QUALIFIED and words in found.reason


def test_an_unknown_ins_is_not_qualified(store):
    found = assess(store, ins="299999999999999")
    assert found.kind == NON_QUALIFIED and "unknown" in found.reason


def test_an_ins_the_structure_had_only_from_td00_is_not_qualified(store):
    store.timeline.record_provenance([("10B0000001", ADRUN, "td00", AT)])
    found = assess(store, structure="10B0000001")
    assert found.kind == NON_QUALIFIED and "only through TD0.0" in found.reason
    assert assess(store, structure="10B0000002").kind == QUALIFIED  # another structure
    store.timeline.record_provenance([("10B0000001", ADRUN, "insi", AT)])
    assert assess(store, structure="10B0000001").kind == QUALIFIED  # then checked with INSi
