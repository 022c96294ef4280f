"""Replica heartbeats through :mod:`simulator.ports.replicas`: recorded, refreshed,
seen by another worker's store object, and forgotten after the given silence."""
from __future__ import annotations

import time
from datetime import datetime


def test_a_heartbeat_is_recorded_refreshed_and_seen_by_another_worker(open_store):
    first, second = open_store(), open_store()
    assert first.replicas() == []
    first.beat_replica("host-a:8080", {"workers": 2}, forget_after=3600)
    second.beat_replica("host-b:8080", {"workers": 4}, forget_after=3600)
    listed = second.replicas()
    assert [(r["replica"], r["details"]) for r in listed] == \
        [("host-a:8080", {"workers": 2}), ("host-b:8080", {"workers": 4})]
    before = listed[0]
    time.sleep(0.05)
    second.beat_replica("host-a:8080", {"workers": 3}, forget_after=3600)
    after = first.replicas()[0]
    assert after["details"] == {"workers": 3}
    assert after["first_seen"] == before["first_seen"]
    assert datetime.fromisoformat(after["last_seen"]) > datetime.fromisoformat(
        before["last_seen"])
    for row in first.replicas():
        assert datetime.fromisoformat(row["last_seen"]).utcoffset().total_seconds() == 0
        assert 0 <= row["silent_seconds"] < 3600


def test_silent_seconds_grow_until_the_next_heartbeat(store):
    store.beat_replica("a", {}, forget_after=3600)
    time.sleep(0.3)
    silent = store.replicas()[0]["silent_seconds"]
    assert silent >= 0.3
    store.beat_replica("a", {}, forget_after=3600)
    assert store.replicas()[0]["silent_seconds"] < silent


def test_replicas_silent_longer_than_forget_after_are_forgotten(store):
    store.beat_replica("gone", {}, forget_after=3600)
    time.sleep(0.3)
    store.beat_replica("here", {}, forget_after=0.2)
    assert [r["replica"] for r in store.replicas()] == ["here"]


def test_a_replica_that_leaves_is_no_longer_listed(open_store):
    first, second = open_store(), open_store()
    first.beat_replica("a", {}, forget_after=3600)
    first.beat_replica("b", {}, forget_after=3600)
    second.forget_replica("a")
    second.forget_replica("never-seen")  # nothing to remove: no error
    assert [r["replica"] for r in first.replicas()] == ["b"]
