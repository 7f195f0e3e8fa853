"""Fire due actions: remind, escalate, tell the customer (R15). Each at most once.

A row is acted on inside one write transaction that first checks it is still pending, still of
the appeal's deadline version, due, and that the appeal still waits for an answer; the row is
marked done in that same transaction. A second run (RQ runs a job at least once; the reconciler
re-enqueues after a lost worker) finds it done and does nothing. Mail is stored claimed and sent
after the commit; should the worker die mid-send, the claim's lease runs out and the mail is
delivered once by the reconciler's delivery path.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from robot.app import Robot
from robot.deadlines.calendar import WorkCalendar
from robot.deadlines.notify import customer_mail, queue_members, resolve, staff_mail
from robot.deadlines.plan import (
    ESCALATE,
    NOTIFY_CUSTOMER,
    REMIND,
    calendar_for,
    is_finished,
    queue_config,
    resync,
)
from robot.deadlines.schedule import schedule_after_commit
from robot.mail.deliver import deliver_many
from robot.storage.models import Appeal, DueAction, Event

log = logging.getLogger("robot.deadlines")

#: Rows fired per write transaction.
BATCH = 50
#: A row whose action keeps failing (a broken template, …) is given up after this many tries and
#: shown as failed; the appeal's deadline state on the desk does not depend on it.
MAX_ATTEMPTS = 5


@dataclass
class Swept:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    sent: list[str] = field(default_factory=list)
    #: The time budget ran out with rows still due.
    unfinished: bool = False


@dataclass
class _Context:
    robot: Robot
    session: Session
    now: datetime
    claimed: list[int] = field(default_factory=list)


Handler = Callable[[_Context, Appeal, DueAction, WorkCalendar], dict]


def _staff_context(appeal: Appeal, config, calendar: WorkCalendar) -> dict:
    return {"number": appeal.number, "kind": appeal.kind, "subject": appeal.subject, "due_at": appeal.due_at,
            "due_local": appeal.due_at.astimezone(calendar.tz),
            "registered_local": appeal.registered_at.astimezone(calendar.tz), "queue": appeal.queue,
            "queue_title": getattr(config, "title", None) or appeal.queue, "assignee": appeal.assignee,
            "customer_name": appeal.customer_name, "extended": appeal.extended_at is not None,
            "shortened": calendar.is_shortened(appeal.due_at.astimezone(calendar.tz).date())}


def _notify_staff(ctx: _Context, appeal: Appeal, logins: list[str], template: str, context: dict,
                  calendar: WorkCalendar) -> dict:
    sent, unresolved = [], []
    for recipient in resolve(ctx.session, logins):
        if recipient.address is None:
            unresolved.append(recipient.login)
            continue
        outbound, claimed = staff_mail(ctx.robot, ctx.session, appeal, recipient, template=template, context=context,
                                       calendar=calendar, now=ctx.now)
        if claimed:
            ctx.claimed.append(outbound.id)
        else:
            schedule_after_commit(ctx.robot, ctx.session,
                                  outbound=[(outbound.id, outbound.attempts, outbound.next_attempt_at)])
        sent.append(recipient.login)
    if unresolved or not logins:
        ctx.session.add(Event(appeal_id=appeal.id, at=ctx.now, actor="robot", action="notify_unresolved",
                              detail={"purpose": template, "logins": unresolved,
                                      **({} if logins else {"reason": "nobody_to_notify"})}))
    return {"to": sent, "unresolved": unresolved}


def _remind(ctx: _Context, appeal: Appeal, row: DueAction, calendar: WorkCalendar) -> dict:
    config = queue_config(ctx.robot, appeal.queue)
    logins = [appeal.assignee] if appeal.assignee else queue_members(
        ctx.session, appeal.queue, list(getattr(config, "members", []) or []))
    return _notify_staff(ctx, appeal, logins, "reminder", _staff_context(appeal, config, calendar), calendar)


def _escalate(ctx: _Context, appeal: Appeal, row: DueAction, calendar: WorkCalendar) -> dict:
    config = queue_config(ctx.robot, appeal.queue)
    supervisor = getattr(config, "supervisor", None)
    appeal.escalated_at, appeal.escalated_to = ctx.now, supervisor
    outcome = _notify_staff(ctx, appeal, [supervisor] if supervisor else [], "escalation",
                            _staff_context(appeal, config, calendar), calendar)
    ctx.session.add(Event(appeal_id=appeal.id, at=ctx.now, actor="robot", action="escalated",
                          detail={"supervisor": supervisor, "due_at": appeal.due_at.isoformat(), **outcome}))
    log.info("appeal %s overdue since %s: escalated to %s", appeal.number, appeal.due_at.isoformat(), supervisor)
    return outcome


def _notify_customer(ctx: _Context, appeal: Appeal, row: DueAction, calendar: WorkCalendar) -> dict:
    outbound = customer_mail(ctx.robot, ctx.session, appeal, template="first_day_notice", context={},
                             now=ctx.now, claim=True)
    if outbound is None:
        return {"sent": False}
    ctx.claimed.append(outbound.id)
    return {"sent": True, "outbound_id": outbound.id}


HANDLERS: dict[str, Handler] = {REMIND: _remind, ESCALATE: _escalate, NOTIFY_CUSTOMER: _notify_customer}


def fire(robot: Robot, action_ids: list[int]) -> tuple[Swept, list[int]]:
    """Fire these rows if they are still due; returns what happened and the mail to send now."""
    swept = Swept()
    now = robot.clock.now()
    errors: dict[int, str] = {}
    with robot.unit_of_work() as session:
        ctx = _Context(robot, session, now)
        rows = session.scalars(select(DueAction)
                               .where(DueAction.id.in_(action_ids), DueAction.state == "pending",
                                      DueAction.due_at <= now)
                               .order_by(DueAction.due_at, DueAction.id)
                               .with_for_update(skip_locked=True)).all()
        swept.skipped = len(action_ids) - len(rows)
        for row in rows:
            appeal = session.get(Appeal, row.appeal_id)
            assert appeal is not None
            if row.version != appeal.deadline_version:
                row.state, row.done_at = "superseded", now  # a stale plan never fires
                swept.skipped += 1
                continue
            if is_finished(appeal):
                row.state, row.done_at = "cancelled", now
                swept.skipped += 1
                continue
            if row.deadline_at != appeal.due_at:
                # The due date was moved without re-planning (set directly somewhere): plan for
                # the date the appeal has now; this row is superseded by it.
                resync(robot, session, appeal, now=now)
                swept.skipped += 1
                continue
            claimed_before = len(ctx.claimed)
            try:
                with session.begin_nested():
                    outcome = HANDLERS[row.action](ctx, appeal, row, calendar_for(robot, appeal.queue))
                    row.state, row.done_at = "done", now
                    session.add(Event(appeal_id=appeal.id, at=now, actor="robot", action=f"due_{row.action}",
                                      detail={"due_action": row.id, "due_at": row.due_at.isoformat(), **outcome}))
            except SQLAlchemyError:
                raise  # storage trouble is temporary: the job fails and is retried
            except Exception as error:
                del ctx.claimed[claimed_before:]  # their rows went with the savepoint
                errors[row.id] = "".join(traceback.format_exception_only(error)).strip()
                log.error("due action %s (%s of %s) failed", row.id, row.action, appeal.number, exc_info=error)
                continue
            swept.done += 1
        for row in rows:
            if row.id in errors:
                row.attempts += 1
                row.last_error = errors[row.id][:2000]
                if row.attempts >= MAX_ATTEMPTS:
                    row.state, row.done_at = "failed", now
                    session.add(Event(appeal_id=row.appeal_id, at=now, actor="robot", action="due_action_failed",
                                      detail={"due_action": row.id, "action": row.action, "error": row.last_error}))
                swept.failed += 1
        claimed = list(ctx.claimed)
    return swept, claimed


def sweep(robot: Robot, *, budget_s: float = 240.0) -> Swept:
    """Fire every pending row that is due now, batch by batch, and send the mail each batch made.

    Stops after ``budget_s`` (a job has five minutes); the caller schedules the rest.
    """
    started = time.monotonic()
    total = Swept()
    tried: set[int] = set()
    while True:
        if time.monotonic() - started >= budget_s:
            total.unfinished = True
            break
        now = robot.clock.now()
        with robot.sessions() as session:
            query = (select(DueAction.id).where(DueAction.state == "pending", DueAction.due_at <= now)
                     .order_by(DueAction.due_at, DueAction.id).limit(BATCH + len(tried)))
            ids = [i for i in session.scalars(query) if i not in tried][:BATCH]
        if not ids:
            break
        tried.update(ids)
        swept, claimed = fire(robot, ids)
        total.done += swept.done
        total.skipped += swept.skipped
        total.failed += swept.failed
        if claimed:
            total.sent.extend(deliver_many(robot, claimed, claimed=True))
    return total
