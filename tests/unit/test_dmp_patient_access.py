"""TD1.5a-d (the patient's web access) as domain rules on a real DMP store, without XML;
and the TD1.5 removal rule of the regulatory calendar."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from simulator.calendar import RegulatoryCalendar
from simulator.services.dmp import patient_access as pa
from simulator.services.dmp import refusals
from simulator.services.dmp.records import AuthorisationRecord, DmpRecord, PatientTraits
from simulator.services.dmp.refusals import DmpRefusal
from simulator.settings import Settings
from simulator.store.database import Database
from simulator.store.dmp import (
    DmpStore, authorisation_from_json, authorisation_to_json, record_from_json, record_to_json)

INS = "279035121518989"
NOW = datetime(2024, 3, 1, 8, 30, tzinfo=timezone.utc)
DOCTOR = SimpleNamespace(name_id="899700218896")  # the rules read the VIHF NameID only
OTHER = SimpleNamespace(name_id="899700000001")


@pytest.fixture
def store(tmp_path) -> DmpStore:
    store = DmpStore(Database(tmp_path / "state.sqlite3", ""))
    store.save_record(DmpRecord(INS, "1.2.250.1.213.1.4.10", "active",
                                PatientTraits("ADRUN", "ZOE", "F", "1975-12-31"), NOW, NOW))
    store.save_authorisation(AuthorisationRecord(INS, DOCTOR.name_id, granted=True))
    return store


def code_of(call) -> str:
    with pytest.raises(DmpRefusal) as refused:
        call()
    return refused.value.code


def test_create_gives_a_login_and_a_second_create_is_already_exists(store):
    access = pa.create(store, INS, DOCTOR, "EMAIL", " zoe@example.org ", NOW)
    assert access.channels == (("EMAIL", "zoe@example.org"),)
    assert access.login == pa.login_of(INS, NOW) and len(access.login) == 10
    assert store.record(INS).web_access == access
    later = NOW + timedelta(hours=1)
    assert code_of(lambda: pa.create(store, INS, DOCTOR, "SMS", "0612345678", later)) == \
        refusals.PATIENT_ACCESS_EXISTS
    assert store.record(INS).web_access == access


@pytest.mark.parametrize("kind, address", [
    ("EMAIL", "zoe.example.org"), ("EMAIL", "zoe@localhost"), ("SMS", "0112345678"),
    ("SMS", "+44 7700 900123"), ("FAX", "0612345678"), (None, "zoe@example.org")])
def test_create_refuses_a_channel_that_cannot_carry_codes(store, kind, address):
    assert code_of(lambda: pa.create(store, INS, DOCTOR, kind, address, NOW)) == \
        refusals.INVALID_PARAMETER
    assert store.record(INS).web_access is None


@pytest.mark.parametrize("address", ["06 12 34 56 78", "+33612345678", "0033 7.12.34.56.78"])
def test_a_french_mobile_number_is_kept_without_separators(store, address):
    access = pa.create(store, INS, DOCTOR, "SMS", address, NOW)
    assert access.channel("SMS") == address.replace(" ", "").replace(".", "")


def test_create_needs_an_open_dmp_and_a_valid_authorisation(store):
    assert code_of(lambda: pa.create(store, "180012B02045763", DOCTOR, "EMAIL", "a@b.fr",
                                     NOW)) == refusals.NOT_FOUND
    assert code_of(lambda: pa.create(store, INS, OTHER, "EMAIL", "a@b.fr", NOW)) == \
        refusals.ACCESS_DENIED
    assert pa.create(store, INS, OTHER, "EMAIL", "a@b.fr", NOW,
                     needs_authorisation=False).login
    store.save_record(store.record(INS).closed(NOW, "FERMETURE_DEMANDE_PATIENT", None))
    assert code_of(lambda: pa.issue_new_codes(store, INS, DOCTOR, NOW)) == refusals.CLOSED


def test_a_blocked_professional_is_refused_even_without_the_authorisation_rule(store):
    blocked = replace(store.authorisation(INS, DOCTOR.name_id), blocked=True)
    store.save_authorisation(blocked)
    refused = code_of(lambda: pa.create(store, INS, DOCTOR, "EMAIL", "a@b.fr", NOW,
                                        needs_authorisation=False))
    assert refused == refusals.ACCESS_DENIED


def test_otp_channels_are_added_changed_and_removed_one_per_type(store):
    with pytest.raises(DmpRefusal) as before:
        pa.update_channel(store, INS, DOCTOR, "SMS", "0612345678", "AJOUT", NOW)
    assert before.value.code == refusals.NO_PATIENT_ACCESS
    pa.create(store, INS, DOCTOR, "EMAIL", "zoe@example.org", NOW)
    assert code_of(lambda: pa.update_channel(store, INS, DOCTOR, "EMAIL", "z@example.org",
                                             "AJOUT", NOW)) == refusals.OTP_CHANNEL_EXISTS
    assert code_of(lambda: pa.update_channel(store, INS, DOCTOR, "SMS", "0612345678",
                                             "MODIFICATION", NOW)) == refusals.NO_OTP_CHANNEL
    assert code_of(lambda: pa.update_channel(store, INS, DOCTOR, "EMAIL", None,
                                             "SUPPRESSION", NOW)) == refusals.INVALID_PARAMETER
    added = pa.update_channel(store, INS, DOCTOR, "SMS", "0612345678", "AJOUT", NOW)
    assert added.channels == (("EMAIL", "zoe@example.org"), ("SMS", "0612345678"))
    changed = pa.update_channel(store, INS, DOCTOR, "EMAIL", "new@example.org",
                                "MODIFICATION", NOW)
    assert changed.channel("EMAIL") == "new@example.org"
    removed = pa.update_channel(store, INS, DOCTOR, "EMAIL", None, "SUPPRESSION", NOW)
    assert removed.channels == (("SMS", "0612345678"),) and removed.login == added.login
    assert code_of(lambda: pa.update_channel(store, INS, DOCTOR, "SMS", "0612345678",
                                             "REMPLACEMENT", NOW)) == refusals.INVALID_PARAMETER


def test_new_codes_keep_the_login_and_count(store):
    assert code_of(lambda: pa.issue_new_codes(store, INS, DOCTOR, NOW)) == \
        refusals.NO_PATIENT_ACCESS
    created = pa.create(store, INS, DOCTOR, "EMAIL", "zoe@example.org", NOW)
    later = NOW + timedelta(days=3)
    again = pa.issue_new_codes(store, INS, DOCTOR, later)
    assert (again.login, again.codes_issued, again.codes_issued_at) == (created.login, 2, later)


def test_the_web_access_survives_the_json_round_trip_and_old_records_read(store):
    pa.create(store, INS, DOCTOR, "SMS", "0612345678", NOW)
    record = store.record(INS)
    assert record_from_json(record_to_json(record)) == record
    old = record_to_json(replace(record, web_access=None)).replace(', "web_access": null', "")
    assert '"web_access"' not in old and record_from_json(old).web_access is None


def test_decoded_records_are_shared_because_nothing_in_them_can_change(store):
    """Records and authorisations are decoded once per JSON text (issue 15): safe only
    while they are deeply immutable, which hashing them checks (a list or dict inside
    would not hash)."""
    pa.create(store, INS, DOCTOR, "SMS", "0612345678", NOW)
    text = record_to_json(store.record(INS))
    assert record_from_json(text) is record_from_json(text)
    assert hash(record_from_json(text)) and record_from_json(text).web_access is not None
    authorisation = AuthorisationRecord(INS, "PS1", granted_at=NOW, last_action_at=NOW)
    text = authorisation_to_json(authorisation)
    assert authorisation_from_json(text) is authorisation_from_json(text)
    assert hash(authorisation_from_json(text)) and authorisation_from_json(text) == \
        authorisation


def test_td15_is_available_until_the_removal_day_which_settings_move():
    calendar = RegulatoryCalendar(Settings())
    assert calendar.td15_rule(date(2024, 6, 10)).name == "td15-available"
    removed = calendar.td15_rule(date(2024, 6, 11))
    assert (removed.name, removed.starts) == ("td15-removed", date(2024, 6, 11))
    assert "2.01.04" in removed.source
    moved = RegulatoryCalendar(Settings(dmp_td15_removal_switch=date(2025, 1, 1)))
    assert moved.td15_rule(date(2024, 12, 31)).name == "td15-available"
    assert Settings.from_env({"SIM_DMP_TD15_REMOVAL_SWITCH": "2025-01-01"}) \
        .dmp_td15_removal_switch == date(2025, 1, 1)


def test_concurrent_creations_make_one_access(store):
    from concurrent.futures import ThreadPoolExecutor

    def attempt(n: int) -> str:
        try:
            pa.create(store, INS, DOCTOR, "EMAIL", f"zoe{n}@example.org",
                      NOW + timedelta(seconds=n))
            return "created"
        except DmpRefusal as refusal:
            return refusal.code
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert (outcomes.count("created"), outcomes.count(refusals.PATIENT_ACCESS_EXISTS)) == (1, 7)
    winner = store.record(INS).web_access
    assert winner.login == pa.login_of(INS, winner.created_at)
