"""Answer limits by kind of appeal (R13): counted in working days from the day after registration."""

from __future__ import annotations

from datetime import datetime

from robot.deadlines.calendar import WorkCalendar

#: Working days to answer, by kind (R13: 3 for a question or application, 14 for a complaint).
ANSWER_LIMITS = {"question": 3, "application": 3, "complaint": 14}


def due_at(calendar: WorkCalendar, registered_at: datetime, kind: str) -> datetime:
    """The moment an appeal of ``kind`` registered at ``registered_at`` is due.

    Counting starts on the working day after registration; the appeal is due at the end of the
    working day (17:00 company time) of the last counted day.
    """
    local_day = registered_at.astimezone(calendar.tz).date()
    last_day = calendar.add_working_days(local_day, ANSWER_LIMITS[kind])
    return calendar.end_of_day(last_day)
