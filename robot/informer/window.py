"""When the auto-informer may send (R16): 08:00–17:00 Asia/Omsk, never on Sundays or holidays.

R16 names Sundays and holidays, not Saturdays: an ordinary Saturday is a sending day. Holidays are
the production calendar's (the ``holidays`` package: public holidays and transferred days off)
with the company's own changes from calendar.yaml (``robot.calendar``: an extra day off stops
sending, an extra working day allows it). The hours are the company calendar's working hours
(settings ``workday_start``/``workday_end``); a pre-holiday day ends an hour early, as the
calendar says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from robot.deadlines.calendar import WorkCalendar


@dataclass(frozen=True)
class SendingWindow:
    calendar: WorkCalendar

    def is_sending_day(self, day: date) -> bool:
        if self.calendar.is_working_day(day):
            return True
        overrides = self.calendar.overrides
        if day in overrides.days_off or day.weekday() == 6:
            return False
        # A Saturday that is no holiday of the production calendar.
        return day.weekday() == 5 and not self.calendar.is_holiday(day)

    def _hours(self, day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(day, self.calendar.day_starts, tzinfo=self.calendar.tz)
        if self.calendar.is_working_day(day):
            return start, self.calendar.end_of_day(day)
        return start, datetime.combine(day, self.calendar.day_ends, tzinfo=self.calendar.tz)

    def allows(self, moment: datetime) -> bool:
        """Whether a message may be sent at ``moment`` (the end of the day itself is outside)."""
        local = moment.astimezone(self.calendar.tz)
        if not self.is_sending_day(local.date()):
            return False
        start, end = self._hours(local.date())
        return start <= local < end

    def next_allowed(self, moment: datetime) -> datetime:
        """``moment`` when sending is allowed then, else the start of the next sending hours."""
        if self.allows(moment):
            return moment
        local = moment.astimezone(self.calendar.tz)
        day = local.date()
        if self.is_sending_day(day) and local < self._hours(day)[0]:
            return self._hours(day)[0]
        for _ in range(60):
            day += timedelta(days=1)
            if self.is_sending_day(day):
                return self._hours(day)[0]
        raise ValueError(f"no sending day within 60 days after {local:%Y-%m-%d}")

    def sending_seconds(self, start: datetime, end: datetime) -> float:
        """How many seconds of sending hours lie between ``start`` and ``end``."""
        if end <= start:
            return 0.0
        total = 0.0
        day = start.astimezone(self.calendar.tz).date()
        last = end.astimezone(self.calendar.tz).date()
        while day <= last:
            if self.is_sending_day(day):
                opens, closes = self._hours(day)
                total += max(0.0, (min(closes, end) - max(opens, start)).total_seconds())
            day += timedelta(days=1)
        return total

    def closes_at(self, moment: datetime) -> datetime:
        """When the sending hours of ``moment``'s day end."""
        return self._hours(moment.astimezone(self.calendar.tz).date())[1]
