"""The Russian production calendar and the company's working hours.

The ``holidays`` package carries Russia's public holidays, the transferred days off and the
working Saturdays (``is_working_day`` knows that 2025-11-01 was one).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays


class WorkCalendar:
    def __init__(self, tz: ZoneInfo, *, day_ends: time = time(17, 0)) -> None:
        self.tz = tz
        self.day_ends = day_ends

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        # Years are filled in lazily by the package as dates are asked about.
        return holidays.country_holidays("RU")

    def is_working_day(self, day: date) -> bool:
        return self._holidays.is_working_day(day)

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself is not counted)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        day = start
        while count:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return day

    def end_of_day(self, day: date) -> datetime:
        return datetime.combine(day, self.day_ends, tzinfo=self.tz)
