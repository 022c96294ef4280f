"""The timeline's reports on hand-built rows: APIs and identifiers per software and
structure, the grace, the regional list, what breaks at each stage, the feeding split."""
from __future__ import annotations

from datetime import date

import pytest

from simulator.calendar import RegulatoryCalendar
from simulator.settings import Settings
from simulator.timeline_reports import (
    REGIONAL_MIGRATION_LIST, feeding, feeding_totals, grace_of, readiness, regional_list_entry)

DPI, GAM, CHU, CLINIC = "MON-DPI-4.2", "MON-GAM-2.0", "10B0167011", "10B0999999"


def usage(software, structure, api, month, calls=1, identifier="INS", operation="op"):
    return {"month": month, "software": software, "structure": structure, "api": api,
            "identifier": identifier, "operation": operation, "calls": calls,
            "first_at": f"{month}-01T00:00:00+00:00", "last_at": f"{month}-01T00:00:00+00:00"}


def registration(kind, name, api, source="flow"):
    return {"kind": kind, "name": name, "api": api, "source": source,
            "registered_at": "2022-12-10T10:00:00+00:00"}


def feed(structure, month, kind, documents, software=DPI):
    return {"month": month, "structure": structure, "software": software, "kind": kind,
            "documents": documents}


def report(rows, registrations=(), feeds=(), on=date(2022, 12, 15), **settings):
    settings = Settings(**settings)
    return {(e["software"], e["structure"]): e for e in readiness(
        list(rows), list(registrations), list(feeds), RegulatoryCalendar(settings), settings,
        on)}


LEGACY = [usage(DPI, CHU, "dmp-v1", "2022-11", 3, "INS-C", "TD2.1"),
          usage(DPI, CHU, "dmp-v1", "2022-12", 2, "INS-C", "TD3.1"),
          usage(DPI, CHU, "td00", "2022-12", 4, "none", "identityCertification"),
          usage(DPI, CHU, "dmp-v2", "2023-02", 5, "INS", "TD2.1")]


# --- what was used -------------------------------------------------------------------------

def test_each_api_with_its_months_calls_operations_and_identifiers():
    entry = report(LEGACY + [usage(GAM, CHU, "insi", "2022-12", 7, "INS",
                                   "rechercherInsAvecTraitsIdentite")])[(DPI, CHU)]
    assert list(entry["apis"]) == ["dmp-v1", "dmp-v2", "td00"]
    assert entry["apis"]["dmp-v1"] == {"calls": 5, "first_month": "2022-11",
                                       "last_month": "2022-12", "operations": ["TD2.1", "TD3.1"],
                                       "identifiers": {"INS-C": 5}}
    assert entry["apis"]["td00"]["identifiers"] == {"none": 4}
    assert entry["apis"]["dmp-v2"]["first_month"] == "2023-02"
    assert entry["identifiers"] == {"INS": 5, "INS-C": 5, "none": 4}


def test_software_and_structure_pairs_are_reported_apart():
    entries = report([usage(DPI, CHU, "dmp-v2", "2023-01"), usage(DPI, CLINIC, "dmp-v1", "2022-12"),
                      usage(GAM, CHU, "insi", "2023-01", 2)])
    assert sorted(entries) == [(DPI, CHU), (DPI, CLINIC), (GAM, CHU)]
    assert list(entries[(GAM, CHU)]["apis"]) == ["insi"]
    assert list(entries[(DPI, CLINIC)]["apis"]) == ["dmp-v1"]


def test_findings_name_v1_td00_and_structures_without_insi():
    findings = report(LEGACY)[(DPI, CHU)]["findings"]
    assert any("API v1" in f for f in findings) and any("TD0.0" in f for f in findings)
    assert any("no INSi call" in f for f in findings)
    # INSi called by the structure's identity server counts for the structure's DPI.
    with_gam = report(LEGACY + [usage(GAM, CHU, "insi", "2022-12")])[(DPI, CHU)]["findings"]
    assert not any("no INSi call" in f for f in with_gam)
    assert report([usage(DPI, CHU, "dmp-v2", "2023-01"), usage(GAM, CHU, "insi", "2023-01")]
                  )[(DPI, CHU)]["findings"] == []


# --- the regional list ---------------------------------------------------------------------

@pytest.mark.parametrize("software, entry", [
    ("DMPCONNECT-1", "DMPCONNECT-1"),
    ("dmpconnect-1.4.2", "DMPCONNECT-1"),
    ("Hopital Manager-1.17", "HOPITAL MANAGER-1.17"),
    ("HOPITAL MANAGER-1.17.3", "HOPITAL MANAGER-1.17"),
    ("DxCare-7.7.7", "DXCARE-7.7.7"),
    ("NETSOINS DMP-1.2.0", "NETSOINS DMP-1.2"),
    ("lifen dmp-1.0", "LIFEN DMP-1.0"),
    ("DMPCONNECT-10", None),
    ("HOPITAL MANAGER-1.170", None),
    ("HOPITAL MANAGER-1.1", None),
    ("DXCARE-7.7.8", None),
    ("LIFEN-1.0", None),
    ("MY LIFEN DMP-1.0", None),
    (DPI, None),
])
def test_regional_list_matches_names_case_insensitively_and_versions_as_prefix(software,
                                                                                entry):
    assert regional_list_entry(software) == entry


def test_the_issue_examples_are_in_the_regional_list_and_reported():
    assert {"DMPCONNECT-1", "HOPITAL MANAGER-1.17", "DXCARE-7.7.7", "NETSOINS DMP-1.2",
            "LIFEN DMP-1.0"} <= set(REGIONAL_MIGRATION_LIST)
    entry = report([usage("DxCare-7.7.7.12", CHU, "dmp-v2", "2023-01")])[("DxCare-7.7.7.12", CHU)]
    assert entry["regional_list"] == "DXCARE-7.7.7"
    assert entry["findings"][0].endswith("(DXCARE-7.7.7)")
    assert report([usage(DPI, CHU, "dmp-v2", "2023-01")])[(DPI, CHU)]["regional_list"] is None


# --- the grace and what breaks -------------------------------------------------------------

def breaks(entry):
    return [(b["api"], b["rule"], b["since"]) for b in entry["breaks"]]


def deprecated(entry):
    return [(d["api"], d["rule"], d["since"]) for d in entry["deprecated"]]


@pytest.mark.parametrize("day", [date(2022, 11, 1), date(2022, 12, 31)])
def test_nothing_breaks_while_v1_is_open(day):
    entry = report(LEGACY, feeds=[feed(CHU, "2022-12", "non-qualified", 3)], on=day)[(DPI, CHU)]
    assert entry["breaks"] == [] and entry["deprecated"] == []


@pytest.mark.parametrize("day", [date(2023, 1, 1), date(2023, 4, 28)])
def test_in_the_grace_unregistered_legacy_usage_breaks(day):
    entry = report(LEGACY, feeds=[feed(CHU, "2022-12", "non-qualified", 3)], on=day)[(DPI, CHU)]
    assert breaks(entry) == [("dmp-v1", "dmp-v1-grace", "2023-01-01"),
                             ("td00", "td00-deprecated", "2023-01-01")]
    assert entry["breaks"][0]["operations"] == ["TD2.1", "TD3.1"]
    assert entry["breaks"][0]["count"] == 5 and entry["breaks"][1]["count"] == 4
    assert entry["deprecated"] == []  # non-qualified feeds are still accepted


@pytest.mark.parametrize("registrations", [
    [registration("software", DPI, "dmp-v1"), registration("software", DPI, "td00")],
    [registration("structure", CHU, "dmp-v1"), registration("structure", CHU, "td00",
                                                            "admin")],
])
def test_in_the_grace_registered_software_or_structure_is_deprecated_not_broken(registrations):
    entry = report(LEGACY, registrations, on=date(2023, 1, 15))[(DPI, CHU)]
    assert entry["breaks"] == []
    assert deprecated(entry) == [("dmp-v1", "dmp-v1-grace", "2023-01-01"),
                                 ("td00", "td00-deprecated", "2023-01-01")]


def test_a_registration_covers_its_api_only_and_its_own_software_or_structure():
    registrations = [registration("software", DPI, "dmp-v1"),
                     registration("software", "OTHER-1.0", "td00"),
                     registration("structure", CLINIC, "td00")]
    entry = report(LEGACY, registrations, on=date(2023, 1, 15))[(DPI, CHU)]
    assert deprecated(entry) == [("dmp-v1", "dmp-v1-grace", "2023-01-01")]
    assert breaks(entry) == [("td00", "td00-deprecated", "2023-01-01")]
    assert entry["grace"]["td00"] == [] and entry["grace"]["dmp-v1"][0]["by"] == "software"


def test_settings_grace_list_counts_for_both_apis():
    entry = report(LEGACY, on=date(2023, 2, 1), dmp_grace_software=(DPI,))[(DPI, CHU)]
    assert entry["breaks"] == [] and len(entry["deprecated"]) == 2
    assert entry["grace"]["dmp-v1"] == [{"by": "software", "name": DPI, "source": "settings",
                                         "registered_at": None}]


def test_after_the_grace_everything_legacy_and_non_qualified_breaks_even_registered():
    registrations = [registration("software", DPI, "dmp-v1"),
                     registration("structure", CHU, "td00", "admin")]
    feeds = [feed(CHU, "2023-03", "qualified", 10), feed(CHU, "2023-03", "non-qualified", 2),
             feed(CHU, "2022-12", "ins-c", 4)]
    entry = report(LEGACY, registrations, feeds, on=date(2023, 4, 29),
                   dmp_grace_software=(DPI,))[(DPI, CHU)]
    assert breaks(entry) == [("dmp-v1", "dmp-v1-closed", "2023-04-29"),
                             ("td00", "td00-removed", "2023-04-29"),
                             ("dmp-v2", "dmp-feeding-requires-qualified-ins", "2023-04-29"),
                             ("dmp-v1", "dmp-feeding-requires-qualified-ins", "2023-04-29")]
    assert [b["count"] for b in entry["breaks"][2:]] == [2, 4]
    assert entry["deprecated"] == []
    assert entry["grace"]["td00"][0] == {"by": "structure", "name": CHU, "source": "admin",
                                         "registered_at": "2022-12-10T10:00:00+00:00"}


def test_qualified_feeds_never_break():
    entry = report([usage(DPI, CHU, "dmp-v2", "2023-03")],
                   feeds=[feed(CHU, "2023-03", "qualified", 10)], on=date(2030, 1, 1))[(DPI, CHU)]
    assert entry["breaks"] == [] and entry["feeds"] == {"qualified": 10, "non-qualified": 0,
                                                        "ins-c": 0}


def test_stages_follow_the_dates_in_settings():
    moved = {"dmp_v1_close_switch": date(2023, 2, 1), "dmp_grace_end_switch": date(2023, 6, 1)}
    assert report(LEGACY, on=date(2023, 1, 15), **moved)[(DPI, CHU)]["breaks"] == []
    assert breaks(report(LEGACY, on=date(2023, 5, 31), **moved)[(DPI, CHU)])[0] == \
        ("dmp-v1", "dmp-v1-grace", "2023-02-01")
    assert breaks(report(LEGACY, on=date(2023, 6, 1), **moved)[(DPI, CHU)])[0] == \
        ("dmp-v1", "dmp-v1-closed", "2023-06-01")


def test_grace_of_lists_every_way_it_is_held():
    regs = [registration("software", DPI, "dmp-v1"), registration("structure", CHU, "dmp-v1",
                                                                  "admin")]
    how = grace_of(DPI, CHU, "dmp-v1", regs, Settings(dmp_grace_software=(DPI,)))
    assert [(g["by"], g["source"]) for g in how] == [("software", "flow"),
                                                     ("structure", "admin"),
                                                     ("software", "settings")]
    assert grace_of(DPI, CLINIC, "td00", regs, Settings()) == []


def test_software_seen_only_feeding_is_reported():
    entry = report([], feeds=[feed(CHU, "2023-05", "non-qualified", 1, software=GAM)],
                   on=date(2023, 5, 2))[(GAM, CHU)]
    assert entry["apis"] == {} and breaks(entry) == [
        ("dmp-v2", "dmp-feeding-requires-qualified-ins", "2023-04-29")]


# --- feeding -------------------------------------------------------------------------------

def test_feeding_splits_per_structure_and_month_summing_software():
    rows = feeding([feed(CHU, "2023-01", "qualified", 6), feed(CHU, "2023-01", "qualified", 2,
                                                               software=GAM),
                    feed(CHU, "2023-01", "non-qualified", 1), feed(CHU, "2023-01", "ins-c", 1),
                    feed(CHU, "2022-12", "ins-c", 3), feed(CLINIC, "2023-01", "non-qualified", 5)])
    assert rows == [
        {"structure": CHU, "month": "2022-12", "qualified": 0, "non_qualified": 0, "ins_c": 3,
         "documents": 3, "qualified_share": 0.0},
        {"structure": CHU, "month": "2023-01", "qualified": 8, "non_qualified": 1, "ins_c": 1,
         "documents": 10, "qualified_share": 0.8},
        {"structure": CLINIC, "month": "2023-01", "qualified": 0, "non_qualified": 5,
         "ins_c": 0, "documents": 5, "qualified_share": 0.0},
    ]
    assert feeding_totals(rows) == [
        {"structure": CHU, "qualified": 8, "non_qualified": 1, "ins_c": 4, "documents": 13,
         "qualified_share": round(8 / 13, 4)},
        {"structure": CLINIC, "qualified": 0, "non_qualified": 5, "ins_c": 0, "documents": 5,
         "qualified_share": 0.0},
    ]


def test_feeding_share_is_none_without_documents_and_unknown_kinds_are_refused():
    assert feeding([]) == [] and feeding_totals([]) == []
    assert feeding([feed(CHU, "2023-01", "qualified", 0)])[0]["qualified_share"] is None
    with pytest.raises(ValueError, match="qualifie"):
        feeding([feed(CHU, "2023-01", "qualifie", 1)])


# --- TD1.5, removed with the DMP WSDL package 2.01.04 -----------------------------------------

TD15_CALLS = [usage(DPI, CHU, "dmp-v2", "2024-03", 2, "INS", "PRPA_IN201307UV02"),
              usage(DPI, CHU, "td15", "2024-03", 3, "INS", "createPatientAccess"),
              usage(DPI, CHU, "td15", "2024-04", 1, "INS", "updatePatientAccess")]


def test_td15_usage_is_a_finding_and_breaks_from_its_removal_only():
    before = report(TD15_CALLS, on=date(2024, 6, 10))[(DPI, CHU)]
    assert list(before["apis"]) == ["dmp-v2", "td15"]
    assert any("TD1.5" in finding and "2.01.04" in finding for finding in before["findings"])
    assert before["breaks"] == []
    after = report(TD15_CALLS, on=date(2024, 6, 11))[(DPI, CHU)]
    assert [(b["api"], b["rule"], b["since"], b["count"], b["operations"])
            for b in after["breaks"]] == [
        ("td15", "td15-removed", "2024-06-11", 4, ["createPatientAccess",
                                                   "updatePatientAccess"])]
    moved = report(TD15_CALLS, on=date(2024, 6, 11),
                   dmp_td15_removal_switch=date(2024, 9, 1))[(DPI, CHU)]
    assert moved["breaks"] == []


def test_software_without_td15_calls_has_no_td15_finding():
    entry = report(TD15_CALLS[:1], on=date(2024, 6, 11))[(DPI, CHU)]
    assert not any("TD1.5" in finding for finding in entry["findings"])
    assert entry["breaks"] == []
