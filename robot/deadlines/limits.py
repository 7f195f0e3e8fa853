"""Answer limits (R13, R14): counted in working days from the day after registration.

R13: 3 working days for a question or an application, 14 for a complaint; feedback of any channel
gets measures within 14. R14: a postal letter is answered within 10 days, and an extension adds at
most 10 more (21 in all with the day it takes to register it). The company may change a limit in
calendar.yaml (``limits:``); a changed limit recomputes open deadlines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from robot.deadlines.calendar import WorkCalendar

#: Working days to answer, by kind (R13: 3 for a question or application, 14 for a complaint;
#: feedback — a review from the web reception — gets measures within 14 days, Standard § 4 table 7).
ANSWER_LIMITS = {"question": 3, "application": 3, "complaint": 14, "feedback": 14}

#: R14: working days to answer a postal letter, whatever its kind (feedback aside).
POST_LIMIT = 10

#: Every limit calendar.yaml may change.
LIMIT_KEYS = (*ANSWER_LIMITS, "post")

#: Channels of postal letters (registered by an operator).
POST_CHANNELS = frozenset({"post"})


class UnknownKind(ValueError):
    def __init__(self, kind: str) -> None:
        super().__init__(f"unknown kind {kind!r}; kinds: {', '.join(ANSWER_LIMITS)}")
        self.kind = kind


@dataclass(frozen=True)
class Limits:
    """The limits in force: the Standard's, with the company's changes from calendar.yaml."""

    changed: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def _days(self, key: str) -> int:
        if key in self.changed:
            return self.changed[key]
        return POST_LIMIT if key == "post" else ANSWER_LIMITS[key]

    def answer(self, kind: str, channel: str | None = None) -> int:
        """Working days to answer an appeal of ``kind`` that came by ``channel``."""
        if kind not in ANSWER_LIMITS:
            raise UnknownKind(kind)
        if kind != "feedback" and channel in POST_CHANNELS:
            return self._days("post")
        return self._days(kind)

    def extension(self, kind: str, channel: str | None = None) -> int:
        """The most working days one extension may add: R14's 10 for a postal letter; for other
        channels, which the Standard leaves open, the company's rule is the kind's own limit."""
        return self.answer(kind, channel)


STANDARD = Limits()


def due_at(calendar: WorkCalendar, registered_at: datetime, kind: str, *, channel: str | None = None,
           limits: Limits = STANDARD, extension_days: int = 0) -> datetime:
    """The moment an appeal of ``kind`` registered at ``registered_at`` is due.

    Counting starts on the working day after registration; the appeal is due at the end of the
    working day (17:00 company time, 16:00 on a pre-holiday day) of the last counted day. An
    extension adds its working days to the count.
    """
    local_day = registered_at.astimezone(calendar.tz).date()
    last_day = calendar.add_working_days(local_day, limits.answer(kind, channel) + extension_days)
    return calendar.end_of_day(last_day)
