"""The manager's dashboard (R20): volumes by day and kind, by territory, deadlines kept, time to answer,
and how the classifier reads the company's real mail (its kinds as specialists left or corrected them)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from robot.desk.queues import NOT_LATE_STATUSES
from robot.storage.models import Appeal, Correction

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
    classifier: ClassifierFigures | None = None

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
        classifier=classifier_figures(session, queues, since),
    )


#: Channels whose appeals the classifier reads (a web form states its kind; an operator, too).
CLASSIFIED_CHANNELS = ("email", "imap")


@dataclass
class ClassifierFigures:
    """The classifier on real mail: an appeal a specialist did not correct counts as read right.

    ``kinds``: (the classifier's kind, the kind now) → appeals; the first correction of the kind
    says what the classifier had said.
    """

    classified: int
    kinds: Counter[tuple[str, str]]
    corrected: Counter[str]  # field (kind, topic, scope) → appeals with a correction of it

    @property
    def kind_agreement(self) -> float | None:
        if not self.classified:
            return None
        return sum(n for (said, now), n in self.kinds.items() if said == now) / self.classified


def classifier_figures(session: Session, queues: set[str] | None, since: datetime) -> ClassifierFigures:
    """How the appeals the classifier read since ``since`` (of ``queues``; None: all) stand now."""
    query = (select(Appeal.id, Appeal.kind)
             .where(Appeal.registered_at >= since, Appeal.channel.in_(CLASSIFIED_CHANNELS),
                    Appeal.kind_confidence.is_not(None)))
    if queues is not None:
        query = query.where(Appeal.queue.in_(sorted(queues)))
    now_kind = dict(session.execute(query).all())
    said: dict[int, str] = {}
    corrected: Counter[str] = Counter()
    seen: set[tuple[int, str]] = set()
    corrections = (select(Correction.appeal_id, Correction.field, Correction.old)
                   .join(Appeal, Appeal.id == Correction.appeal_id)
                   .where(Appeal.registered_at >= since).order_by(Correction.id))
    for appeal_id, field_name, old in session.execute(corrections):
        if appeal_id not in now_kind or (appeal_id, field_name) in seen:
            continue
        seen.add((appeal_id, field_name))
        corrected[field_name] += 1
        if field_name == "kind" and old:
            said[appeal_id] = old
    kinds = Counter((said.get(appeal_id, kind), kind) for appeal_id, kind in now_kind.items())
    return ClassifierFigures(classified=len(now_kind), kinds=kinds, corrected=corrected)
