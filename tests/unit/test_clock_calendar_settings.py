"""Clock, calendar and settings rules without HTTP."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from simulator.calendar import RegulatoryCalendar
from simulator.clock import SimClock
from simulator.settings import Settings, SettingsError, parse_datetime
from simulator.store.sqlite import open_store


class FakeWall:
    def __init__(self):
        self.now = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


@pytest.fixture
def clock(tmp_path):
    wall = FakeWall()
    return SimClock(open_store(tmp_path), wall=wall), wall


def test_offset_clock_follows_the_wall(clock):
    sim, wall = clock
    sim.set(parse_datetime("2022-12-15T09:00:00Z"))
    wall.now += timedelta(hours=2)
    assert sim.now() == parse_datetime("2022-12-15T11:00:00Z") and not sim.is_frozen()


def test_frozen_clock_stands_still_and_thaws_where_it_stood(clock):
    sim, wall = clock
    sim.set(parse_datetime("2023-02-01T00:00:00Z"), frozen=True)
    wall.now += timedelta(days=3)
    assert sim.now() == parse_datetime("2023-02-01T00:00:00Z") and sim.is_frozen()
    sim.set(frozen=False)
    wall.now += timedelta(minutes=5)
    assert sim.now() == parse_datetime("2023-02-01T00:05:00Z")


def test_clock_state_is_shared_through_the_store(tmp_path):
    wall = FakeWall()
    first = SimClock(open_store(tmp_path), wall=wall)
    second = SimClock(open_store(tmp_path), wall=wall)  # another worker, same data dir
    first.set(parse_datetime("2023-05-01T00:00:00Z"), frozen=True)
    assert second.now() == parse_datetime("2023-05-01T00:00:00Z")


@pytest.mark.parametrize("day, response, fault", [
    (date(2022, 10, 24), "legacy-2022", "legacy"),
    (date(2022, 10, 25), "current", "legacy"),
    (date(2024, 6, 30), "current", "legacy"),
    (date(2024, 7, 1), "current", "current"),
])
def test_format_generations_follow_the_date(day, response, fault):
    calendar = RegulatoryCalendar(Settings())
    assert (calendar.insi_response_format(day), calendar.insi_fault_format(day)) == (response, fault)


def test_format_generations_can_be_moved_or_forced():
    moved = RegulatoryCalendar(Settings(insi_response_format_switch=date(2023, 1, 1)))
    assert moved.insi_response_format(date(2022, 12, 31)) == "legacy-2022"
    forced = RegulatoryCalendar(Settings(insi_fault_format="current"))
    assert forced.insi_fault_format(date(2021, 1, 1)) == "current"


def test_calendar_lists_rules_with_sources():
    rules = RegulatoryCalendar(Settings()).as_list(date(2023, 1, 1))
    assert {r["name"] for r in rules if r["in_force"]} == {
        "insi-response-format-current", "insi-fault-format-legacy", "ins-mandatory",
        "dmp-v1-grace", "td00-deprecated", "td15-available"}
    assert all(r["source"] for r in rules)


@pytest.mark.parametrize("day, stage, v1, td00, qualified_only", [
    (date(2022, 12, 10), "open", "dmp-v1-open", "td00-available", False),
    (date(2022, 12, 31), "open", "dmp-v1-open", "td00-available", False),
    (date(2023, 1, 1), "grace", "dmp-v1-grace", "td00-deprecated", False),
    (date(2023, 4, 28), "grace", "dmp-v1-grace", "td00-deprecated", False),
    (date(2023, 4, 29), "closed", "dmp-v1-closed", "td00-removed", True),
])
def test_the_dmp_timeline_of_the_regional_qa(day, stage, v1, td00, qualified_only):
    calendar = RegulatoryCalendar(Settings())
    assert calendar.legacy_stage(day) == stage
    assert (calendar.legacy_rule(day, "v1").name, calendar.legacy_rule(day, "td00").name) \
        == (v1, td00)
    assert calendar.feeding_requires_qualified_ins(day) is qualified_only
    assert calendar.flow_month() == (date(2022, 12, 1), date(2022, 12, 31))


def test_the_dmp_dates_move_with_the_settings():
    calendar = RegulatoryCalendar(Settings(dmp_v1_close_switch=date(2023, 2, 1),
                                           dmp_grace_end_switch=date(2023, 6, 1)))
    assert calendar.legacy_stage(date(2023, 1, 15)) == "open"
    assert calendar.flow_month() == (date(2023, 1, 1), date(2023, 1, 31))
    assert calendar.legacy_stage(date(2023, 5, 31)) == "grace"
    assert "2023-05-31" in calendar.rule("dmp-v1-grace").description
    with pytest.raises(SettingsError, match="SIM_DMP_GRACE_END_SWITCH"):
        Settings(dmp_v1_close_switch=date(2023, 6, 1), dmp_grace_end_switch=date(2023, 2, 1))


def test_settings_from_environment_and_overrides():
    settings = Settings.from_env({"SIM_PORT": "9000", "SIM_DATE": "2023-01-15",
                                  "SIM_INSI_IDAMS": "AAA111BBB222, CCC333DDD444",
                                  "SIM_FROZEN": "true"}, port=9100)
    assert settings.port == 9100
    assert settings.date == parse_datetime("2023-01-15T00:00:00Z") and settings.frozen
    assert settings.insi_idams == ("AAA111BBB222", "CCC333DDD444")


def test_trusted_cas_are_a_list_of_existing_files(tmp_path):
    first, second = tmp_path / "a.pem", tmp_path / "b.pem"
    first.write_text("x")
    second.write_text("y")
    settings = Settings.from_env({"SIM_DMP_TRUSTED_CAS": f"{first}, {second}"})
    assert settings.dmp_trusted_cas == (first, second)
    with pytest.raises(SettingsError, match="SIM_DMP_TRUSTED_CAS: no such file"):
        Settings.from_env({"SIM_DMP_TRUSTED_CAS": str(tmp_path / "missing.pem")})


def test_a_trusted_ca_file_without_certificates_stops_the_start(tmp_path):
    from simulator.app import create_app
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(SettingsError, match="SIM_DMP_TRUSTED_CAS: .*bad.pem"):
        create_app(Settings(data_dir=tmp_path / "data", population=0,
                            dmp_trusted_cas=(bad,)))


@pytest.mark.parametrize("env, message", [
    ({"SIM_PORT": "eighty"}, "SIM_PORT"),
    ({"SIM_DATE": "15/01/2023"}, "ISO-8601"),
    ({"SIM_INSI_RESPONSE_FORMAT": "2021"}, "insi_response_format must be one of"),
    ({"SIM_FROZEN": "maybe"}, "SIM_FROZEN"),
])
def test_bad_settings_say_which_variable(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)
