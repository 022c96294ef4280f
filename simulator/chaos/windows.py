"""Time windows on the simulated clock: absolute periods and recurring hours.

Recurring windows are read in the scenario's time zone (Europe/Paris by default: the
national platforms announce their maintenance in French local time). A daily window
whose end is before its start wraps past midnight (22:00-06:00); its days are the
days it starts on.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Period:
    """From ``start`` (inclusive) to ``end`` (exclusive); either may be open."""

    start: datetime | None
    end: datetime | None

    def contains(self, now: datetime) -> bool:
        """Whether ``now`` (timezone-aware) falls in the period."""
        return (self.start is None or now >= self.start) and (self.end is None or now < self.end)

    def describe(self) -> str:
        """e.g. ``2022-11-04 08:00+01:00 to 2022-11-04 18:00+01:00``."""
        def show(moment):
            return moment.isoformat(sep=" ", timespec="minutes") if moment else "open"
        return f"{show(self.start)} to {show(self.end)}"


@dataclass(frozen=True)
class Daily:
    """Every day (or the listed days) from ``start`` to ``end`` local time, optionally
    only within a period."""

    start: time
    end: time
    days: frozenset[int]  # 0 = Monday
    zone: ZoneInfo
    period: Period | None = None

    def contains(self, now: datetime) -> bool:
        """Whether ``now`` (timezone-aware) falls in the window."""
        if self.period is not None and not self.period.contains(now):
            return False
        local = now.astimezone(self.zone)
        clock = local.time().replace(tzinfo=None)
        if self.start <= self.end:
            return local.weekday() in self.days and self.start <= clock < self.end
        if clock >= self.start:  # evening part, starting today
            return local.weekday() in self.days
        if clock < self.end:  # morning part, started yesterday
            return (local - timedelta(days=1)).weekday() in self.days
        return False

    def describe(self) -> str:
        """e.g. ``daily 22:00-06:00 (Europe/Paris) mon,tue`` plus its period if any."""
        days = "" if len(self.days) == 7 else " " + ",".join(DAY_NAMES[d] for d in sorted(self.days))
        end = "24:00" if self.end == time(23, 59, 59, 999999) else self.end.strftime("%H:%M")
        text = f"daily {self.start.strftime('%H:%M')}-{end} ({self.zone.key}){days}"
        return text + (f", {self.period.describe()}" if self.period else "")
