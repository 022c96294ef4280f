"""The reading of VIHFs reused between requests of the same bytes (issue 15): what it
answers is what a fresh reading answers, the instant is still checked, and the cache is
bounded and never used when signatures are verified."""
from __future__ import annotations

from datetime import timedelta

import pytest
from lxml import etree

from simulator.services.dmp import vihf as module
from simulator.services.dmp.vihf import VihfError, peek_vihf, read_vihf
from test_dmp_vihf import NOW, SKEW, header


def same_bytes(element):
    """A function parsing, at each call, the bytes of ``element`` again (the builder
    draws a new assertion ID each time: a request that repeats a VIHF repeats bytes)."""
    raw = etree.tostring(element)
    return lambda: etree.fromstring(raw)


def read(element, memo, now=NOW, **options):
    options.setdefault("require_patient", True)
    return read_vihf(element, now, max_skew=SKEW, memo=memo, **options)


def test_an_assertion_of_the_same_bytes_is_read_once():
    request = same_bytes(header(issue_instant="2024-03-01T09:51:00Z"))
    first = read(request(), {})
    again = read(request(), {})  # a new request
    assert again is first
    assert again == read_vihf(request(), NOW, max_skew=SKEW, require_patient=True)


def test_the_instant_is_checked_on_every_request():
    request = same_bytes(header(issue_instant="2024-03-01T09:52:00Z"))
    read(request(), {})
    later = NOW + timedelta(minutes=9)
    with pytest.raises(VihfError, match="more than 0:10:00 away") as cached:
        read(request(), {}, now=later)
    with pytest.raises(VihfError) as fresh:
        read_vihf(request(), later, max_skew=SKEW, require_patient=True)
    assert str(cached.value) == str(fresh.value)


def test_a_reading_under_other_requirements_is_not_reused():
    patientless = same_bytes(header(issue_instant="2024-03-01T09:53:00Z",
                                    drop=(module.RESOURCE_ID,)))
    assert read(patientless(), {}, require_patient=False).patient_ins is None
    with pytest.raises(VihfError, match="resource-id"):
        read(patientless(), {})


def test_a_refused_assertion_is_refused_again():
    request = same_bytes(header(issue_instant="2024-03-01T09:54:00Z", Ressource_URN="urn:x"))
    for _ in range(2):
        with pytest.raises(VihfError, match="Ressource_URN must be urn:dmp"):
            read(request(), {})


def test_signatures_are_verified_on_every_request():
    calls, request = [], same_bytes(header(issue_instant="2024-03-01T09:55:00Z"))
    for _ in range(2):
        read(request(), {}, verify_signature=calls.append)
    assert len(calls) == 2


def test_peeked_facts_are_the_fresh_ones_and_a_copy():
    request = same_bytes(header(issue_instant="2024-03-01T09:56:00Z"))
    first = peek_vihf(request(), {})
    first["ins"] = "changed by a caller"
    assert peek_vihf(request(), {}) == peek_vihf(request()) != first


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(module, "_CACHE_ENTRIES", 3)
    for second in range(10):
        read(header(issue_instant=f"2024-03-01T09:57:0{second}Z"), {})
    assert len(module._CHECKED) <= 3
