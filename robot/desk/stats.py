"""The manager's dashboard (R20): volumes by day and kind, by territory, deadlines kept, time to answer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from robot.desk.queues import NOT_LATE_STATUSES
from robot.storage.models import Appeal

KINDS = ("question", "application", "complaint")


@dataclass
class Dashboard:
    days: list[date]
    #: per day, per kind: how many appeals were registered
    by_day: dict[date, Counter[str]]
    by_territory: list[tuple[str, int]]
    by_channel: list[tuple[str, int]]
    answered: int = 0
    answered_in_time: int = 0
    mean_hours_to_answer: float | None = None
    overdue: list[Appeal] = field(default_factory=list)
    total: int = 0

    @property
    def share_in_time(self) -> float | None:
        return self.answered_in_time / self.answered if self.answered else None

    @property
    def max_per_day(self) -> int:
        return max((sum(c.values()) for c in self.by_day.values()), default=0)


def dashboard(session: Session, queues: set[str] | None, now: datetime, tz: ZoneInfo, *, days: int = 30) -> Dashboard:
    """Figures over the last ``days`` company days, for the appeals of ``queues`` (None: all)."""
    today = now.astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tz)
    columns = (Appeal.registered_at, Appeal.kind, Appeal.region, Appeal.unit, Appeal.channel, Appeal.due_at,
               Appeal.executed_at)
    query = select(*columns).where(Appeal.registered_at >= since)
    if queues is not None:
        query = query.where(Appeal.queue.in_(sorted(queues)))
    span = [first + timedelta(days=i) for i in range(days)]
    by_day: dict[date, Counter[str]] = {day: Counter() for day in span}
    territory: Counter[str] = Counter()
    channel: Counter[str] = Counter()
    answered = in_time = 0
    hours: list[float] = []
    total = 0
    for registered_at, kind, region, unit, via, due, executed in session.execute(query):
        total += 1
        by_day[registered_at.astimezone(tz).date()][kind] += 1
        territory[unit or region or "не определена"] += 1
        channel[via] += 1
        if executed is not None:
            answered += 1
            in_time += executed <= due
            hours.append((executed - registered_at).total_seconds() / 3600)
    overdue_query = (select(Appeal).where(Appeal.status.not_in(NOT_LATE_STATUSES), Appeal.due_at < now)
                     .order_by(Appeal.due_at).limit(100))
    if queues is not None:
        overdue_query = overdue_query.where(Appeal.queue.in_(sorted(queues)))
    return Dashboard(
        days=span, by_day=by_day,
        by_territory=sorted(territory.items(), key=lambda item: (-item[1], item[0]))[:15],
        by_channel=sorted(channel.items(), key=lambda item: (-item[1], item[0])),
        answered=answered, answered_in_time=in_time,
        mean_hours_to_answer=sum(hours) / len(hours) if hours else None,
        overdue=list(session.scalars(overdue_query)), total=total,
    )
