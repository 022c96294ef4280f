"""The serialisation profile of DMP XDS answers (docs/dmp.md, "How answers are serialised"):
the prefix maps, the SIM_DMP_XDS_PREFIXES syntax and its refusals, without XML answers."""
from __future__ import annotations

import pytest

from simulator.services.dmp.xds.model import LCM, QUERY, RIM, RS, XDSB
from simulator.services.dmp.xds.wire_profile import (
    DEFAULT_PROFILE, WireProfileError, parse_prefixes)
from simulator.settings import Settings, SettingsError


def test_the_default_is_the_platforms_jaxb_numbering_with_ebrim_as_ns4():
    assert DEFAULT_PROFILE.prefix(RIM) == "ns4"  # evidenced by DRIMbox's splits
    assert DEFAULT_PROFILE.nsmap == {"ns2": RS, "ns3": QUERY, "ns4": RIM, "ns5": LCM,
                                     "ns6": XDSB}
    assert list(DEFAULT_PROFILE.nsmap) == ["ns2", "ns3", "ns4", "ns5", "ns6"]
    assert Settings().dmp_xds_prefixes == "jaxb"


def test_the_ihe_profile_gives_the_readable_prefixes():
    assert parse_prefixes("ihe").nsmap == {"rs": RS, "query": QUERY, "rim": RIM, "lcm": LCM,
                                           "xdsb": XDSB}


@pytest.mark.parametrize("text, expected", [
    ("jaxb,rs=ns3,query=ns2", {"ns3": RS, "ns2": QUERY, "ns4": RIM, "ns5": LCM, "ns6": XDSB}),
    ("rs=ns7", {"ns7": RS, "ns3": QUERY, "ns4": RIM, "ns5": LCM, "ns6": XDSB}),
    (" ihe , rim = ns4 ", {"rs": RS, "query": QUERY, "ns4": RIM, "lcm": LCM, "xdsb": XDSB}),
])
def test_overrides_change_only_the_namespaces_they_name(text, expected):
    assert parse_prefixes(text).nsmap == expected


@pytest.mark.parametrize("text, words", [
    ("metro", "unknown profile 'metro'"),
    ("jaxb,hl7=ns7", "'hl7' is not one of rs, query, rim, lcm, xdsb"),
    ("jaxb,rs=ns4", "two namespaces share a prefix"),
    ("jaxb,rs=soap", "'soap' cannot be the prefix of rs"),
    ("jaxb,rs=xmlfoo", "'xmlfoo' cannot be the prefix"),
    ("jaxb,rs=2ns", "'2ns' cannot be the prefix"),
    ("jaxb,rs=", "'' cannot be the prefix"),
])
def test_unusable_values_are_refused_with_the_reason(text, words):
    with pytest.raises(WireProfileError) as raised:
        parse_prefixes(text)
    assert words in str(raised.value)


def test_the_setting_is_read_from_the_environment_and_checked_at_start():
    assert Settings.from_env({"SIM_DMP_XDS_PREFIXES": "ihe"}).dmp_xds_prefixes == "ihe"
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"SIM_DMP_XDS_PREFIXES": "jaxb,rim=ns2"})
    assert "SIM_DMP_XDS_PREFIXES" in str(raised.value)


def test_the_answer_root_declares_every_namespace_and_keeps_attribute_order():
    root = DEFAULT_PROFILE.root(QUERY, "AdhocQueryResponse", [
        ("startIndex", "0"), ("totalResultCount", "3"), ("requestId", ""), ("status", "S")])
    assert root.prefix == "ns3" and dict(root.nsmap) == DEFAULT_PROFILE.nsmap
    assert list(root.attrib.items()) == [("startIndex", "0"), ("totalResultCount", "3"),
                                         ("status", "S")]
