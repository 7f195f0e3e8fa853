"""When due actions run: the database is the schedule, RQ holds only what falls due soon.

A million open appeals have millions of due actions; holding a job for each in Redis would cost
gigabytes and make every reconciler pass check them all. So one job stands for one due moment
(``due-<unix time>``, scheduled with ``enqueue_at``) and fires every pending row due by then;
the reconciler schedules the moments that fall within ``HORIZON`` (it runs every minute), and
after a commit that planned something due sooner, that moment is scheduled at once. An empty
Redis loses nothing: the next pass schedules again whatever is pending and near.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, SessionTransaction

from robot.app import Robot
from robot.dispatch import DELIVER_MAIL
from robot.mail.deliver import deliver_job_id
from robot.storage.models import DueAction

log = logging.getLogger("robot.deadlines")

FIRE_DUE = "workers.deadlines.fire_due"
RECOMPUTE = "workers.deadlines.recompute"

#: How far ahead due moments are handed to RQ: well past the reconciler's minute, so a moment is
#: scheduled by several passes before it comes; short, so Redis holds little.
HORIZON = timedelta(minutes=10)

_AFTER_COMMIT = "mailrobot.deadlines.after_commit"


def due_job_id(moment: datetime) -> str:
    """The job that fires what is due at ``moment`` (one per second of the clock)."""
    return f"due-{int(moment.timestamp())}"


@dataclass
class _AfterCommit:
    robot: Robot
    moments: set[datetime] = field(default_factory=set)
    #: (outbound id, attempts, when): mail stored unclaimed, for the delivery job.
    outbound: list[tuple[int, int, datetime]] = field(default_factory=list)

    done: bool = False

    def _detach(self, session: Session) -> bool:
        if session.info.get(_AFTER_COMMIT) is self:
            del session.info[_AFTER_COMMIT]
        first, self.done = not self.done, True
        return first

    def run(self, session: Session) -> None:
        if self._detach(session):
            try:
                schedule(self.robot, self.moments, self.outbound)
            except Exception:
                # Committed already: the caller's work stands, and the reconciler schedules it.
                log.exception("scheduling after commit failed; the reconciler will")

    def drop(self, session: Session, previous: SessionTransaction) -> None:
        if previous.parent is None:  # the whole transaction, not a savepoint, was rolled back
            self._detach(session)


def schedule_after_commit(robot: Robot, session: Session, *, moments: Iterable[datetime] = (),
                          outbound: Iterable[tuple[int, int, datetime]] = ()) -> None:
    """Schedule these due moments and deliveries once ``session`` commits (never before: a job
    must find the rows it is about). A rolled-back savepoint may leave a moment here whose rows
    are gone; its job then finds nothing due, which is harmless."""
    pending = session.info.get(_AFTER_COMMIT)
    if pending is None:
        pending = session.info[_AFTER_COMMIT] = _AfterCommit(robot)
        event.listen(session, "after_commit", pending.run, once=True)
        event.listen(session, "after_soft_rollback", pending.drop)
    pending.moments.update(moments)
    pending.outbound.extend(outbound)


def schedule(robot: Robot, moments: Iterable[datetime], outbound: Iterable[tuple[int, int, datetime]] = ()) -> None:
    """Hand near moments and deliveries to RQ now; best effort (the reconciler finds the rest)."""
    now = robot.clock.now()
    near = sorted(m for m in set(moments) if m <= now + HORIZON)
    mails = [item for item in outbound if item[2] <= now + HORIZON]
    if not near and not mails:
        return
    try:
        dispatcher = robot.dispatcher
    except RuntimeError:
        log.warning("no Redis in this process: %s due moment(s) wait for the reconciler", len(near))
        return
    for moment in near:
        dispatcher.enqueue(FIRE_DUE, int(moment.timestamp()), job_id=due_job_id(moment),
                           at=moment if moment > now else None, unique=True)
    for outbound_id, attempts, when in mails:
        dispatcher.enqueue(DELIVER_MAIL, outbound_id, job_id=deliver_job_id(outbound_id, attempts),
                           at=when if when > now else None)


def near_moments(session: Session, now: datetime) -> list[datetime]:
    """The due moments RQ should hold now: the latest one already past that still has pending
    rows (its job fires every row due by then), and each one within the horizon.

    Two range reads of the (state, due_at) index; the rest of the table is never touched.
    """
    moments: list[datetime] = []
    latest_past = session.scalar(select(func.max(DueAction.due_at))
                                 .where(DueAction.state == "pending", DueAction.due_at <= now))
    if latest_past is not None:
        moments.append(latest_past)
    moments.extend(session.scalars(
        select(DueAction.due_at).where(DueAction.state == "pending", DueAction.due_at > now,
                                       DueAction.due_at <= now + HORIZON)
        .distinct().order_by(DueAction.due_at)))
    return moments


def reconcile_due(robot: Robot, now: datetime) -> int:
    """Schedule every near due moment that RQ does not hold; returns how many were scheduled."""
    with robot.sessions() as session:
        moments = near_moments(session, now)
    dispatcher = robot.dispatcher
    scheduled = 0
    for moment in moments:
        job_id = due_job_id(moment)
        if dispatcher.is_pending(job_id):
            continue
        if dispatcher.enqueue(FIRE_DUE, int(moment.timestamp()), job_id=job_id, at=moment if moment > now else None):
            scheduled += 1
    return scheduled
