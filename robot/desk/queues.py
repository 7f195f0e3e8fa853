"""What the queue page shows: counts per queue, and a queue's appeals by due date, with filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from robot.storage.models import Appeal, Message

#: Appeals in these states need nothing more from anybody.
DONE_STATUSES = ("closed", "not_considered")
#: Answered appeals still wait for closing with the measures taken, but are no longer late.
NOT_LATE_STATUSES = (*DONE_STATUSES, "answered")
PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    queue: str | None = None
    kind: str | None = None
    topic: str | None = None
    territory: str | None = None
    status: str | None = None  # a status, "open" (default), "overdue" or "all"
    channel: str | None = None
    search: str | None = None
    page: int = 1

    def as_query(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items() if v not in (None, "", 1) or (k == "page" and v != 1)}


@dataclass
class QueueCount:
    name: str
    open: int = 0
    overdue: int = 0


@dataclass
class QueuePage:
    appeals: list[Appeal]
    total: int
    counts: list[QueueCount] = field(default_factory=list)


def scoped(query: Select, queues: set[str] | None) -> Select:
    """Only the appeals of ``queues`` (None: all, for admins)."""
    return query if queues is None else query.where(Appeal.queue.in_(sorted(queues)))


def counts(session: Session, queues: set[str] | None, now: datetime) -> list[QueueCount]:
    late = case((Appeal.due_at < now, 1), else_=0)
    late = case((Appeal.status.in_(NOT_LATE_STATUSES), 0), else_=late)
    query = scoped(select(Appeal.queue, func.count(), func.sum(late))
                   .where(Appeal.status.not_in(DONE_STATUSES)).group_by(Appeal.queue), queues)
    found = {name: QueueCount(name or "—", total, late_count or 0)
             for name, total, late_count in session.execute(query)}
    for name in queues or ():
        found.setdefault(name, QueueCount(name))
    return sorted(found.values(), key=lambda c: c.name)


def _filtered(query: Select, filters: Filters, now: datetime) -> Select:
    if filters.queue:
        query = query.where(Appeal.queue == filters.queue)
    status = filters.status or "open"
    if status == "open":
        query = query.where(Appeal.status.not_in(DONE_STATUSES))
    elif status == "overdue":
        query = query.where(Appeal.status.not_in(NOT_LATE_STATUSES), Appeal.due_at < now)
    elif status != "all":
        query = query.where(Appeal.status == status)
    for name in ("kind", "topic", "channel"):
        value = getattr(filters, name)
        if value:
            query = query.where(getattr(Appeal, name) == value)
    if filters.territory:
        value = filters.territory
        query = query.where(or_(Appeal.region == value, Appeal.city_district == value, Appeal.branch == value,
                                Appeal.unit == value))
    if filters.search:
        text = filters.search.strip()
        like = f"%{_escape_like(text)}%"
        in_text = select(Message.appeal_id).where(Message.text.ilike(like, escape="\\"))
        query = query.where(or_(
            Appeal.number == text,
            Appeal.number.like(f"%{_escape_like(text)}", escape="\\"),
            Appeal.customer_name.ilike(like, escape="\\"),
            Appeal.customer_email.ilike(like, escape="\\"),
            Appeal.customer_phone.ilike(like, escape="\\"),
            Appeal.account_number == text,
            Appeal.subject.ilike(like, escape="\\"),
            Appeal.id.in_(in_text),
        ))
    return query


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def page(session: Session, queues: set[str] | None, filters: Filters, now: datetime) -> QueuePage:
    """One page of appeals the user may see, earliest due first."""
    base = _filtered(scoped(select(Appeal), queues), filters, now)
    total = session.scalar(base.with_only_columns(func.count()).order_by(None)) or 0
    offset = (max(filters.page, 1) - 1) * PAGE_SIZE
    appeals = list(session.scalars(base.order_by(Appeal.due_at, Appeal.id).limit(PAGE_SIZE).offset(offset)))
    return QueuePage(appeals, total, counts(session, queues, now))


def is_overdue(appeal: Appeal, now: datetime) -> bool:
    return appeal.status not in NOT_LATE_STATUSES and appeal.due_at < now
