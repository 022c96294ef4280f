"""The reading of VIHFs reused between requests of the same bytes (issue 15): what it
answers is what a fresh reading answers, the instant is still checked, and the cache is
bounded, owned by one DMP context and never used when signatures are verified."""
from __future__ import annotations

from datetime import timedelta

import pytest
from lxml import etree
from werkzeug.test import Client

from simulator.services.dmp import vihf as module
from simulator.services.dmp.vihf import VihfCache, VihfError, peek_vihf, read_vihf
from simulator.settings import parse_datetime
from test_dmp_direct_read import BASE, SOAP_CT, example
from test_dmp_vihf import NOW, SKEW, header


def same_bytes(element):
    """A function parsing, at each call, the bytes of ``element`` again (the builder
    draws a new assertion ID each time: a request that repeats a VIHF repeats bytes)."""
    raw = etree.tostring(element)
    return lambda: etree.fromstring(raw)


CACHE = VihfCache()


def read(element, memo, now=NOW, cache=CACHE, **options):
    options.setdefault("require_patient", True)
    return read_vihf(element, now, max_skew=SKEW, memo=memo, cache=cache, **options)


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
    first = peek_vihf(request(), {}, CACHE)
    first["ins"] = "changed by a caller"
    assert peek_vihf(request(), {}, CACHE) == peek_vihf(request()) != first


def test_the_cache_is_bounded():
    cache = VihfCache(entries=3)
    for second in range(10):
        read(header(issue_instant=f"2024-03-01T09:57:0{second}Z"), {}, cache=cache)
    assert 0 < len(cache.checked) <= 3


def test_two_contexts_never_share_a_reading():
    request = same_bytes(header(issue_instant="2024-03-01T09:58:00Z"))
    mine, theirs = VihfCache(), VihfCache()
    first = read(request(), {}, cache=mine)
    assert read(request(), {}, cache=mine) is first
    assert read(request(), {}, cache=theirs) is not first
    assert read(request(), {}, cache=None) is not first



def test_each_simulator_keeps_its_own_readings(make_app):
    """Two simulators in one process: the VIHF read by one is not reused by the other
    (each DMP context owns its cache; signatures relaxed, as readings of signed VIHFs
    are never reused)."""
    first, second = (make_app(date=parse_datetime("2025-01-15T10:00:00Z"), frozen=True,
                              dmp_relaxed_security=True) for _ in range(2))
    Client(first).post(f"{BASE}/patients", data=example("01-test-existence.xml"),
                       content_type=SOAP_CT)

    def readings(app):
        context = app.simulator.endpoints[f"{BASE}/patients"].binding.context
        return len(context.vihf_cache.checked), len(context.vihf_cache.peeked)
    assert readings(first) == (1, 1)
    assert readings(second) == (0, 0)
