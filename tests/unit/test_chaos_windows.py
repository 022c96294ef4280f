"""Chaos time windows: periods and daily hours in Europe/Paris, including DST days."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from simulator.chaos.loader import parse_scenario
from simulator.chaos.windows import Daily, Period

PARIS = ZoneInfo("Europe/Paris")
UTC = timezone.utc
ALL_DAYS = frozenset(range(7))
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def minutes_inside(window, start: datetime, end: datetime) -> int:
    """How many whole minutes (sampled at each minute start) of [start, end) are inside."""
    count, moment = 0, start
    while moment < end:
        count += window.contains(moment)
        moment += timedelta(minutes=1)
    return count


NIGHT = Daily(time(22, 0), time(6, 0), ALL_DAYS, PARIS)


# -- Period -----------------------------------------------------------------------------

def test_period_includes_its_start_and_excludes_its_end():
    period = Period(paris(2022, 11, 4, 8, 0), paris(2022, 11, 4, 18, 0))
    assert period.contains(paris(2022, 11, 4, 8, 0))
    assert period.contains(paris(2022, 11, 4, 17, 59, 59, 999999))
    assert not period.contains(paris(2022, 11, 4, 18, 0))
    assert not period.contains(paris(2022, 11, 4, 7, 59, 59, 999999))
    # the same instants seen in UTC (Paris is UTC+1 in November)
    assert period.contains(utc(2022, 11, 4, 7, 0))
    assert not period.contains(utc(2022, 11, 4, 6, 59))
    assert not period.contains(utc(2022, 11, 4, 17, 0))


def test_period_ends_may_be_open():
    since = Period(paris(2022, 11, 4, 8, 0), None)
    until = Period(None, paris(2022, 11, 4, 8, 0))
    assert since.contains(utc(2999, 1, 1)) and not since.contains(utc(2022, 11, 4, 6, 59))
    assert until.contains(utc(1970, 1, 1)) and not until.contains(utc(2022, 11, 4, 7, 0))
    assert Period(None, None).contains(utc(2022, 1, 1))


# -- Daily ------------------------------------------------------------------------------

@pytest.mark.parametrize("local, inside", [
    ((2023, 1, 10, 23, 30), True),
    ((2023, 1, 10, 22, 0), True),       # start inclusive
    ((2023, 1, 10, 21, 59), False),
    ((2023, 1, 11, 0, 0), True),
    ((2023, 1, 11, 5, 59), True),
    ((2023, 1, 11, 5, 59, 59, 999999), True),
    ((2023, 1, 11, 6, 0), False),       # end exclusive
    ((2023, 1, 11, 12, 0), False),
])
def test_daily_window_wrapping_midnight(local, inside):
    assert NIGHT.contains(paris(*local)) is inside
    assert NIGHT.contains(paris(*local).astimezone(UTC)) is inside  # any zone in, Paris read


def test_daily_window_is_read_in_paris_time_not_utc():
    # 21:30 UTC is 22:30 in Paris in winter (inside) and 23:30 in summer (inside);
    # 20:30 UTC is 21:30 in Paris in winter (outside) but 22:30 in summer (inside).
    assert NIGHT.contains(utc(2023, 1, 10, 21, 30))
    assert not NIGHT.contains(utc(2023, 1, 10, 20, 30))
    assert NIGHT.contains(utc(2023, 7, 10, 20, 30))
    # 05:30 UTC is 06:30 in Paris in winter (outside), 07:30 in summer
    assert not NIGHT.contains(utc(2023, 1, 11, 5, 30))
    assert NIGHT.contains(utc(2023, 1, 11, 4, 59))
    assert not NIGHT.contains(utc(2023, 7, 11, 4, 0))  # 06:00 CEST
    assert NIGHT.contains(utc(2023, 7, 11, 3, 59))


def test_daily_window_within_a_day():
    morning = Daily(time(8, 0), time(12, 0), frozenset({MON, TUE, WED, THU, FRI}), PARIS)
    assert morning.contains(paris(2022, 11, 3, 8, 0))       # Thursday
    assert morning.contains(paris(2022, 11, 3, 11, 59))
    assert not morning.contains(paris(2022, 11, 3, 12, 0))
    assert not morning.contains(paris(2022, 11, 3, 7, 59))
    assert not morning.contains(paris(2022, 11, 5, 9, 0))   # Saturday
    assert not morning.contains(paris(2022, 11, 6, 9, 0))   # Sunday
    assert morning.contains(paris(2022, 11, 7, 9, 0))       # Monday


def test_night_window_belongs_to_the_day_it_starts():
    friday_night = Daily(time(22, 0), time(6, 0), frozenset({FRI}), PARIS)
    assert paris(2023, 1, 13).weekday() == FRI
    assert friday_night.contains(paris(2023, 1, 13, 23, 30))       # Friday evening
    assert friday_night.contains(paris(2023, 1, 14, 5, 59))        # Saturday morning
    assert not friday_night.contains(paris(2023, 1, 14, 6, 0))
    assert not friday_night.contains(paris(2023, 1, 13, 5, 0))     # Friday morning: Thursday's
    assert not friday_night.contains(paris(2023, 1, 14, 23, 0))    # Saturday evening
    assert not friday_night.contains(paris(2023, 1, 15, 1, 0))     # Sunday morning: Saturday's


def test_days_filter_on_a_whole_week():
    weekend = Daily(time(10, 0), time(11, 0), frozenset({SAT, SUN}), PARIS)
    start = paris(2023, 1, 9)  # a Monday
    inside_by_day = [minutes_inside(weekend, start + timedelta(days=d),
                                    start + timedelta(days=d + 1)) for d in range(7)]
    assert inside_by_day == [0, 0, 0, 0, 0, 60, 60]


def test_dst_end_2022_10_30_the_night_lasts_nine_hours():
    # Saturday 29 22:00 CEST = 20:00 UTC; Sunday 30 06:00 CET = 05:00 UTC
    assert not NIGHT.contains(utc(2022, 10, 29, 19, 59))
    assert NIGHT.contains(utc(2022, 10, 29, 20, 0))
    assert NIGHT.contains(utc(2022, 10, 30, 0, 30))   # 02:30 CEST
    assert NIGHT.contains(utc(2022, 10, 30, 1, 30))   # 02:30 CET, the repeated hour
    assert NIGHT.contains(utc(2022, 10, 30, 4, 59))   # 05:59 CET
    assert not NIGHT.contains(utc(2022, 10, 30, 5, 0))
    assert minutes_inside(NIGHT, utc(2022, 10, 29, 12), utc(2022, 10, 30, 12)) == 9 * 60


def test_dst_end_2022_10_30_the_repeated_hour_is_inside_twice():
    two_to_three = Daily(time(2, 0), time(3, 0), ALL_DAYS, PARIS)
    assert minutes_inside(two_to_three, utc(2022, 10, 29, 22), utc(2022, 10, 30, 22)) == 120
    assert minutes_inside(two_to_three, utc(2022, 10, 28, 22), utc(2022, 10, 29, 22)) == 60


def test_dst_start_2023_03_26_the_night_lasts_seven_hours():
    # Saturday 25 22:00 CET = 21:00 UTC; Sunday 26 06:00 CEST = 04:00 UTC
    assert not NIGHT.contains(utc(2023, 3, 25, 20, 59))
    assert NIGHT.contains(utc(2023, 3, 25, 21, 0))
    assert NIGHT.contains(utc(2023, 3, 26, 3, 59))
    assert not NIGHT.contains(utc(2023, 3, 26, 4, 0))
    assert minutes_inside(NIGHT, utc(2023, 3, 25, 12), utc(2023, 3, 26, 12)) == 7 * 60


def test_dst_start_2023_03_26_the_skipped_hour_never_happens():
    two_to_three = Daily(time(2, 0), time(3, 0), ALL_DAYS, PARIS)
    assert minutes_inside(two_to_three, utc(2023, 3, 25, 23), utc(2023, 3, 26, 23)) == 0
    two_to_four = Daily(time(2, 0), time(4, 0), ALL_DAYS, PARIS)
    assert minutes_inside(two_to_four, utc(2023, 3, 25, 23), utc(2023, 3, 26, 23)) == 60


def test_dst_with_a_days_filter():
    saturday_night = Daily(time(22, 0), time(6, 0), frozenset({SAT}), PARIS)
    assert minutes_inside(saturday_night, utc(2022, 10, 24), utc(2022, 10, 31)) == 9 * 60
    assert minutes_inside(saturday_night, utc(2023, 3, 20), utc(2023, 3, 27)) == 7 * 60
    assert saturday_night.contains(utc(2022, 10, 30, 4, 59))  # Sunday 05:59 CET


def test_daily_bounded_by_a_period():
    week = Period(paris(2022, 10, 27), paris(2022, 11, 4))
    mornings = Daily(time(8, 0), time(12, 0), frozenset({MON, TUE, WED, THU, FRI}), PARIS,
                     week)
    assert not mornings.contains(paris(2022, 10, 26, 9, 0))   # Wednesday before
    assert mornings.contains(paris(2022, 10, 27, 9, 0))       # Thursday, first day
    assert not mornings.contains(paris(2022, 10, 29, 9, 0))   # Saturday
    assert mornings.contains(paris(2022, 11, 3, 11, 59))      # Thursday, last day
    assert not mornings.contains(paris(2022, 11, 4, 9, 0))    # Friday after: end exclusive
    # 6 working days in the week (27, 28, 31 Oct, 1, 2, 3 Nov), 4 hours each
    assert minutes_inside(mornings, utc(2022, 10, 20), utc(2022, 11, 10)) == 6 * 4 * 60


def test_loader_builds_the_same_windows():
    scenario = parse_scenario("""
name: w
timezone: Europe/Paris
rules:
  - match:
      when:
        - {daily: "22:00-06:00", days: [fri]}
        - {daily: "08:00-12:00", from: "2022-10-27", to: "2022-11-04"}
        - {from: "2022-11-04T08:00", to: "2022-11-04T18:00"}
        - {from: "2022-11-04T08:00:00Z"}
        - {daily: "23:00-24:00"}
    action: reset
""", "w.yaml")
    friday_night, mornings, period, open_period, late = scenario.rules[0].match.windows
    assert friday_night == Daily(time(22, 0), time(6, 0), frozenset({FRI}), PARIS)
    assert mornings == Daily(time(8, 0), time(12, 0), ALL_DAYS, PARIS,
                             Period(paris(2022, 10, 27), paris(2022, 11, 4)))
    assert period == Period(paris(2022, 11, 4, 8, 0), paris(2022, 11, 4, 18, 0))
    assert open_period == Period(utc(2022, 11, 4, 8, 0), None)
    assert late.contains(paris(2023, 1, 10, 23, 59, 59)) and \
        not late.contains(paris(2023, 1, 10, 22, 59))


def test_windows_describe_themselves():
    from simulator.chaos.loader import load_scenario
    rules = {r.name: r for r in load_scenario("insi-oct-nov-2022").rules}
    assert rules["morning-peak-latency"].match.windows[0].describe() == (
        "daily 08:00-12:00 (Europe/Paris) mon,tue,wed,thu,fri, "
        "2022-10-27 00:00+02:00 to 2022-11-04 00:00+01:00")
    night = load_scenario("nightly-maintenance").rules[0].match.windows[0]
    assert night.describe() == "daily 22:00-06:00 (Europe/Paris)"
