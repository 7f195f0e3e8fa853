"""The Russian production calendar, the company's changes to it, and working hours (R16).

The ``holidays`` package carries Russia's public holidays, the transferred days off and the
working Saturdays (``is_working_day`` knows that 2025-11-01 was one). On top of it:

- the shortened pre-holiday day (Labour Code art. 95): a working day that immediately precedes
  a non-working public holiday (art. 112) ends an hour earlier; so does a working Saturday whose
  transferred day off lies in the run of days off before a holiday (2025-11-01, 2024-12-28). A
  day before a merely transferred day off is a full day (30 December 2025). This reproduces the
  Government's calendars of 2023–2026;
- the company's overrides (calendar.yaml): extra days off, extra working days, and shortened or
  full days where the rule above and the official calendar ever disagree;
- working hours (08:00–17:00 by default, settings): a deadline falls at the end of a working
  day, and staff notifications wait for the start of the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

import holidays

#: Non-working public holidays of the Labour Code, art. 112 (month, day): the days that shorten
#: the working day before them. Transferred days off are not among them.
PUBLIC_HOLIDAYS = frozenset({(1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8),
                             (2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)})

#: How much earlier a pre-holiday day ends (Labour Code art. 95).
PRE_HOLIDAY_SHORTENING = timedelta(hours=1)


@dataclass(frozen=True)
class Overrides:
    """The company's changes to the production calendar (one set of calendar.yaml)."""

    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    shortened_days: frozenset[date] = frozenset()
    full_days: frozenset[date] = frozenset()

    def __or__(self, other: Overrides) -> Overrides:
        """These changes, then ``other``'s on top (a day ``other`` names wins)."""
        return Overrides(
            days_off=(self.days_off - other.working_days) | other.days_off,
            working_days=(self.working_days - other.days_off) | other.working_days,
            shortened_days=(self.shortened_days - other.full_days) | other.shortened_days,
            full_days=(self.full_days - other.shortened_days) | other.full_days,
        )


@dataclass(eq=False)
class WorkCalendar:
    """Working days and hours of one calendar: the production calendar plus one set of overrides."""

    tz: ZoneInfo
    day_starts: time = time(8, 0)
    day_ends: time = time(17, 0)
    overrides: Overrides = field(default_factory=Overrides)
    #: The name of the override set ("" for the company's own); shown in logs and events.
    name: str = ""

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        # Years are filled in lazily by the package as dates are asked about.
        return holidays.country_holidays("RU")

    def is_holiday(self, day: date) -> bool:
        """Whether ``day`` is a public holiday of the production calendar (not a weekend as such)."""
        return day in self._holidays

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides.days_off:
            return False
        if day in self.overrides.working_days:
            return True
        return self._holidays.is_working_day(day)

    def is_shortened(self, day: date) -> bool:
        """Whether ``day`` is a working day that ends an hour early (the pre-holiday day)."""
        if day in self.overrides.full_days or not self.is_working_day(day):
            return False
        if day in self.overrides.shortened_days:
            return True
        following = day + timedelta(days=1)
        if day.weekday() < 5:
            return _is_public_holiday(following)
        # A working weekend day stands in for a transferred day off: it is shortened when the
        # run of days off after it reaches a holiday, as the day it replaced would have been.
        for _ in range(14):
            if self.is_working_day(following):
                return False
            if _is_public_holiday(following):
                return True
            following += timedelta(days=1)
        return False

    def start_of_day(self, day: date) -> datetime:
        return datetime.combine(day, self.day_starts, tzinfo=self.tz)

    def end_of_day(self, day: date) -> datetime:
        """When working day ``day`` ends: 17:00, or an hour earlier before a holiday."""
        end = datetime.combine(day, self.day_ends, tzinfo=self.tz)
        return end - PRE_HOLIDAY_SHORTENING if self.is_shortened(day) else end

    def next_working_day(self, day: date) -> date:
        """The first working day after ``day``."""
        return self.add_working_days(day, 1)

    def previous_working_day(self, day: date) -> date:
        """The last working day before ``day``."""
        day -= timedelta(days=1)
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself is not counted)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        return self._add_working_days(start, count)

    @lru_cache(maxsize=4096)  # noqa: B019 — calendars live as long as the process; recompute asks often
    def _add_working_days(self, start: date, count: int) -> date:
        day = start
        while count:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return day

    def first_working_day(self, moment: datetime) -> date:
        """The working day a moment belongs to: its own day if that is a working day not yet
        over, otherwise the next working day (an e-mail at 17:01 on Friday is Monday's work)."""
        local = moment.astimezone(self.tz)
        day = local.date()
        if self.is_working_day(day) and local < self.end_of_day(day):
            return day
        return self.next_working_day(day)

    def within_working_hours(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in a working day's hours (its end included: 17:00 sharp is
        still the working day whose deadline it is)."""
        local = moment.astimezone(self.tz)
        day = local.date()
        return self.is_working_day(day) and self.start_of_day(day) <= local <= self.end_of_day(day)

    def working_moment(self, moment: datetime) -> datetime:
        """``moment`` if it lies in working hours, else the start of the next working day.

        Staff notifications go through here: nothing at night, on Sundays or on holidays.
        """
        if self.within_working_hours(moment):
            return moment
        local = moment.astimezone(self.tz)
        day = local.date()
        if self.is_working_day(day) and local < self.start_of_day(day):
            return self.start_of_day(day)
        return self.start_of_day(self.next_working_day(day))


def _is_public_holiday(day: date) -> bool:
    return (day.month, day.day) in PUBLIC_HOLIDAYS
