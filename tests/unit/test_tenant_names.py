"""Tenant names and the /t/<tenant>/ prefix (docs/tenants.md, "Names")."""
from __future__ import annotations

from pathlib import PurePosixPath

import pytest
from hypothesis import given, settings, strategies as st

from simulator.tenants.names import MAX_LENGTH, TenantNameError, check_name, split_tenant


@pytest.mark.parametrize("name", ["a", "ci-42", "xdist-1a2b3c4d-gw0", "job_7", "0",
                                  "a" * MAX_LENGTH])
def test_valid_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", [
    "", ".", "..", "../etc", "a/b", "a\\b", "A", "Acme", "-a", "a-", "_a", "a_",
    "a" * (MAX_LENGTH + 1), "a b", "a\n", "a\x00", "é", "a.b", "%2e%2e", "a;rm", "a'",
    'a"', "a{b}", "ci-42\n", " a",
])
def test_hostile_or_malformed_names_are_refused(name):
    with pytest.raises(TenantNameError) as refused:
        check_name(name)
    assert "a-z, 0-9" in str(refused.value)


def test_default_is_reserved_for_the_bare_paths():
    with pytest.raises(TenantNameError, match="reserved"):
        check_name("default")


def test_a_refusal_never_quotes_a_long_name_whole():
    with pytest.raises(TenantNameError) as refused:
        check_name("x" * 100_000)
    assert len(str(refused.value)) < 300


@pytest.mark.parametrize("value", [None, 42, ["a"], {"a": 1}])
def test_a_name_that_is_not_text_is_refused(value):
    with pytest.raises(TenantNameError):
        check_name(value)


@pytest.mark.parametrize("path, expected", [
    ("/lps", (None, "/lps")),
    ("/_admin/clock", (None, "/_admin/clock")),
    ("/t/ci-42/lps", ("ci-42", "/lps")),
    ("/t/ci-42/si-dmp-server/v2/services/registry",
     ("ci-42", "/si-dmp-server/v2/services/registry")),
    ("/t/ci-42/_admin/clock", ("ci-42", "/_admin/clock")),
    ("/t/ci-42", ("ci-42", "/")),
    ("/t/ci-42/", ("ci-42", "/")),
    ("/t/", ("", "/")),
    ("/t", (None, "/t")),
    ("/tenant/x", (None, "/tenant/x")),
    ("/t/a/t/b/lps", ("a", "/t/b/lps")),
])
def test_split_tenant(path, expected):
    assert split_tenant(path) == expected


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_refused_or_a_plain_directory_name(text):
    """Whatever a client writes, an accepted name stays one directory below the tenants'
    root and is its own path segment."""
    try:
        name = check_name(text)
    except TenantNameError:
        return
    root = PurePosixPath("/data/tenants")
    assert (root / name).parent == root and name not in (".", "..")
    assert split_tenant(f"/t/{name}/lps") == (name, "/lps")
