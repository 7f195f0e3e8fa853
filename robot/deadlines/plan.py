"""An appeal's deadline and the due actions that follow from it, written as rows.

``register_deadlines`` runs in the transaction that registers an appeal; ``replan`` whenever the
deadline changes (an extension, a correction of the kind, a changed calendar or limit). Both
derive the rows from the appeal as it is now, so planning twice plans the same thing:

- ``remind``: 08:00 of the working day before the due day — the assignee (or the queue's
  members) is told the appeal is due tomorrow;
- ``escalate``: the due moment — the queue's supervisor is told, the appeal is marked escalated;
- ``notify_customer`` (R15, questions only, once): the end of the question's first working day —
  the customer is told when the answer will come.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from robot.app import Robot
from robot.deadlines.calendar import WorkCalendar
from robot.deadlines.calendars import UnknownCalendar
from robot.deadlines.limits import due_at
from robot.deadlines.schedule import schedule_after_commit
from robot.storage.models import Appeal, DueAction
from robot.storage.rows import add_rows

log = logging.getLogger("robot.deadlines")

REMIND, ESCALATE, NOTIFY_CUSTOMER = "remind", "escalate", "notify_customer"

#: Appeals in these states wait for nobody: nothing is due for them.
FINISHED_STATUSES = frozenset({"answered", "closed", "not_considered", "no_action"})


@dataclass(frozen=True)
class Planned:
    action: str
    due_at: datetime


def is_finished(appeal: Appeal) -> bool:
    return appeal.answered_at is not None or appeal.status in FINISHED_STATUSES


def queue_config(robot: Robot, queue: str | None):  # -> robot.routing.schema.Queue | None
    """The queue ``queue`` of the routing rules in force (members, supervisor, calendar)."""
    if not queue:
        return None
    return next((q for q in robot.router.table.loaded.rules.queues if q.name == queue), None)


def calendar_for(robot: Robot, queue: str | None) -> WorkCalendar:
    """The calendar a queue works by: its named calendar of calendar.yaml, or the company's.

    A queue that names a calendar calendar.yaml lacks works by the company's, loudly: the error is
    logged here and `mailrobot deadlines check` fails on it (a deadline is never left uncomputed).
    """
    config = queue_config(robot, queue)
    name = getattr(config, "calendar", None)
    try:
        return robot.calendars.get(name)
    except UnknownCalendar as error:
        log.error("queue %s: %s; the company's calendar is used", queue, error)
        return robot.calendars.get(None)


def compute_due(robot: Robot, *, registered_at: datetime, kind: str, channel: str | None, queue: str | None,
                extension_days: int = 0, calendar: WorkCalendar | None = None) -> datetime:
    """The due moment of an appeal with these facts, by the calendars and limits in force."""
    return due_at(calendar or calendar_for(robot, queue), registered_at, kind, channel=channel,
                  limits=robot.calendars.limits, extension_days=extension_days)


def appeal_due(robot: Robot, appeal: Appeal, calendar: WorkCalendar | None = None) -> datetime:
    return compute_due(robot, registered_at=appeal.registered_at, kind=appeal.deadline_kind or appeal.kind,
                       channel=appeal.channel, queue=appeal.queue, extension_days=appeal.extension_days or 0,
                       calendar=calendar)


def desired(calendar: WorkCalendar, appeal: Appeal, now: datetime, *, customer_notified: bool) -> list[Planned]:
    """The due actions an open appeal should have now (pure: the same facts, the same plan)."""
    due = appeal.due_at
    planned: list[Planned] = []
    due_day = due.astimezone(calendar.tz).date()
    remind = calendar.start_of_day(calendar.previous_working_day(due_day))
    if remind < now:
        # Planned late (an extension, a changed calendar): remind now, in working hours.
        remind = calendar.working_moment(now)
    if remind < due:
        planned.append(Planned(REMIND, remind))
    planned.append(Planned(ESCALATE, max(due, now)))
    if appeal.kind == "question" and appeal.customer_email and not customer_notified:
        first_day_ends = calendar.end_of_day(calendar.first_working_day(appeal.registered_at))
        if first_day_ends < due:
            planned.append(Planned(NOTIFY_CUSTOMER, max(first_day_ends, now)))
    return planned


def register_deadlines(robot: Robot, session: Session, appeal: Appeal, *, deadline_kind: str | None = None,
                       now: datetime | None = None) -> datetime:
    """Set a newly registered appeal's due date and plan its due actions; returns the due moment.

    Call it in the registering transaction, once the appeal is added to the session (a new one is
    flushed here, with its due date, for the id the due actions need) and before the
    acknowledgement is rendered (which shows the date). ``deadline_kind``: the kind
    whose limit applies when it is not the appeal's own (a doubtful kind takes the earliest).
    """
    now = now or robot.clock.now()
    appeal.deadline_kind = deadline_kind if deadline_kind and deadline_kind != appeal.kind else None
    calendar = calendar_for(robot, appeal.queue)
    appeal.due_at = appeal_due(robot, appeal, calendar)
    if appeal.id is None:
        session.flush()  # one INSERT with the due date, and the id the due actions need
    if not is_finished(appeal):
        _write(robot, session, appeal, desired(calendar, appeal, now, customer_notified=False), now)
    return appeal.due_at


def replan(robot: Robot, session: Session, appeal: Appeal, *, now: datetime,
           calendar: WorkCalendar | None = None) -> bool:
    """Recompute ``appeal``'s due date and re-plan its due actions. Returns whether the date moved.

    Pending actions of the old plan are superseded and the version goes up, so a job already
    scheduled for an old moment finds nothing to do. An appeal already escalated keeps its
    escalation; an answered or closed one has nothing to plan.
    """
    calendar = calendar or calendar_for(robot, appeal.queue)
    new_due = appeal_due(robot, appeal, calendar)
    moved = new_due != appeal.due_at
    if is_finished(appeal):
        appeal.due_at = new_due
        return moved
    appeal.due_at = new_due
    _supersede(session, appeal, now)
    plan = desired(calendar, appeal, now, customer_notified=_notified(session, appeal))
    if appeal.escalated_at is not None:
        # Escalated and still overdue: the supervisor knows already. Only a deadline that moved
        # into the future can pass again.
        plan = [p for p in plan if p.action != ESCALATE or p.due_at > now]
    _write(robot, session, appeal, plan, now)
    return moved


def resync(robot: Robot, session: Session, appeal: Appeal, *, now: datetime) -> None:
    """Plan again for the due date the appeal has now, without recomputing it.

    For a due date some other code set directly (a date a specialist chose): the rows planned
    for the old date are superseded before they can fire.
    """
    if is_finished(appeal):
        return
    _supersede(session, appeal, now)
    calendar = calendar_for(robot, appeal.queue)
    _write(robot, session, appeal, desired(calendar, appeal, now, customer_notified=_notified(session, appeal)), now)


def _supersede(session: Session, appeal: Appeal, now: datetime) -> None:
    appeal.deadline_version += 1
    session.execute(update(DueAction).where(DueAction.appeal_id == appeal.id, DueAction.state == "pending")
                    .values(state="superseded", done_at=now))


def _notified(session: Session, appeal: Appeal) -> bool:
    return session.scalar(select(DueAction.id).where(DueAction.appeal_id == appeal.id,
                                                     DueAction.action == NOTIFY_CUSTOMER,
                                                     DueAction.state == "done").limit(1)) is not None


def _write(robot: Robot, session: Session, appeal: Appeal, plan: list[Planned], now: datetime) -> None:
    add_rows(session, DueAction, [
        {"appeal_id": appeal.id, "action": item.action, "due_at": item.due_at, "deadline_at": appeal.due_at,
         "version": appeal.deadline_version, "state": "pending", "created_at": now}
        for item in plan])
    schedule_after_commit(robot, session, moments=[item.due_at for item in plan])
