"""What the desk asks of deadlines: extend once, mark answered, may it be closed, how late is it.

Each function works inside the caller's unit of work (``session``) on an ``Appeal`` loaded in it;
the caller commits. Mail they store (the customer's extension notice) is handed to the delivery
job after that commit. Errors are ``DeadlineError`` with a ``code`` the desk turns into Russian
(templates/staff/_deadlines.j2 has the words).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from robot.app import Robot
from robot.deadlines.notify import customer_mail
from robot.deadlines.plan import calendar_for, is_finished, replan
from robot.deadlines.schedule import schedule_after_commit
from robot.storage.models import Appeal, DueAction, Event

#: Longest reason for an extension or a delay that is kept.
MAX_REASON = 2000


class DeadlineError(ValueError):
    """The deadline cannot be changed as asked. ``code``:

    ``finished`` (answered or closed), ``already_extended`` (one extension only), ``overdue``
    (the deadline has passed: explain the delay instead), ``empty_reason``, ``not_working_day``,
    ``not_later`` (the new date is not after the current one), ``too_long`` (beyond the most an
    extension may add: R14's 10 working days for a postal letter, the kind's limit otherwise).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def extend(session: Session, appeal: Appeal, *, reason: str, actor: str, now: datetime, robot: Robot,
           until: date | None = None) -> datetime:
    """Extend the appeal's deadline once, with a reason; the customer is told the new date (R14, R15).

    ``until``: the working day the appeal is now due at the end of; None: as far as an extension
    may go. Returns the new due moment. Raises ``DeadlineError`` when it is not allowed.
    """
    why = " ".join(reason.split())[:MAX_REASON]
    if not why:
        raise DeadlineError("empty_reason", "an extension needs a reason")
    if is_finished(appeal):
        raise DeadlineError("finished", f"appeal {appeal.number} is answered or closed")
    if appeal.extended_at is not None:
        raise DeadlineError("already_extended",
                            f"appeal {appeal.number} was extended on {appeal.extended_at.isoformat()}; once only")
    if now >= appeal.due_at:
        raise DeadlineError("overdue", f"appeal {appeal.number} was due {appeal.due_at.isoformat()}")
    calendar = calendar_for(robot, appeal.queue)
    most = robot.calendars.limits.extension(appeal.deadline_kind or appeal.kind, appeal.channel)
    due_day = appeal.due_at.astimezone(calendar.tz).date()
    if until is None:
        days = most
    else:
        if not calendar.is_working_day(until):
            raise DeadlineError("not_working_day", f"{until.isoformat()} is not a working day")
        if until <= due_day:
            raise DeadlineError("not_later", f"{until.isoformat()} is not after {due_day.isoformat()}")
        days = 0
        while calendar.add_working_days(due_day, days + 1) <= until:
            days += 1
        if days > most:
            raise DeadlineError("too_long", f"an extension adds at most {most} working days; "
                                            f"{until.isoformat()} is {days} after the due date")
    old_due = appeal.due_at
    appeal.extension_days += days
    appeal.extended_at, appeal.extended_by, appeal.extension_reason = now, actor, why
    replan(robot, session, appeal, now=now, calendar=calendar)
    session.add(Event(appeal_id=appeal.id, at=now, actor=actor, action="deadline_extended",
                      detail={"from": old_due.isoformat(), "to": appeal.due_at.isoformat(), "days": days,
                              "reason": why}))
    notice = customer_mail(robot, session, appeal, template="extension",
                           context={"reason": why, "old_due_at": old_due}, now=now, claim=False)
    if notice is not None:
        schedule_after_commit(robot, session, outbound=[(notice.id, notice.attempts, notice.next_attempt_at)])
    return appeal.due_at


def mark_answered(session: Session, appeal: Appeal, *, now: datetime, actor: str = "robot") -> None:
    """The answer has gone to the customer: pending reminders, escalation and notices stop.

    Idempotent; the first answer's moment is kept (the journal measures it against the due date).
    """
    if appeal.answered_at is None:
        appeal.answered_at = now
        session.add(Event(appeal_id=appeal.id, at=now, actor=actor, action="answered_in_time"
                          if now <= appeal.due_at else "answered_late", detail={"due_at": appeal.due_at.isoformat()}))
    session.execute(update(DueAction).where(DueAction.appeal_id == appeal.id, DueAction.state == "pending")
                    .values(state="cancelled", done_at=now))


def is_overdue(appeal: Appeal, now: datetime) -> bool:
    """Whether the appeal missed its deadline: answered late, escalated, or unanswered past it."""
    answered = appeal.answered_at or appeal.executed_at
    if answered is not None:
        return answered > appeal.due_at
    return appeal.escalated_at is not None or now > appeal.due_at


def close_blocker(appeal: Appeal, now: datetime) -> str | None:
    """Why the appeal cannot be closed yet, as a code, or None when it can.

    ``delay_reason_required``: it is overdue and nobody has given the reason for the delay
    (the journal's «Причины задержки исполнения», R19).
    """
    if is_overdue(appeal, now) and not (appeal.delay_reason or "").strip():
        return "delay_reason_required"
    return None


def deadline_state(appeal: Appeal, now: datetime, tz: tzinfo) -> str:
    """For the desk's badge: ``answered``, ``overdue`` (escalated or past due), ``due_today``
    (due by the end of today in company time ``tz``), or ``on_time``."""
    if appeal.answered_at is not None:
        return "answered"
    if is_overdue(appeal, now):
        return "overdue"
    if appeal.due_at.astimezone(tz).date() == now.astimezone(tz).date():
        return "due_today"
    return "on_time"
