"""Re-derive from the database every job that should exist, and enqueue the missing ones.

Runs at start-up and every minute. After a Redis loss, a crash between commit and enqueue, or a
worker killed mid-job, this is what brings the work back: nothing due lives only in Redis.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from robot.app import Robot
from robot.deadlines.reconciler import reconcile_deadlines
from robot.dispatch import DELIVER_MAIL, PROCESS_MESSAGES, process_job_id
from robot.mail.deliver import deliver_job_id
from robot.storage.models import OutboundMail, RawMessage

log = logging.getLogger("robot.reconcile")

#: A message this fresh may still be on its way to Redis, or queued in a batch job whose id names
#: another message of the batch; older than this, it is enqueued again (a second run is a no-op).
GRACE = timedelta(seconds=60)


@dataclass
class Reconciled:
    process: int = 0
    deliver: int = 0
    #: Due-moment and recompute jobs of the deadlines (robot/deadlines/reconciler.py).
    due: int = 0


def reconcile(robot: Robot) -> Reconciled:
    now = robot.clock.now()
    dispatcher = robot.dispatcher
    done = Reconciled()
    with robot.sessions() as session:
        raw_ids = session.scalars(
            select(RawMessage.id).where(RawMessage.status == "received", RawMessage.received_at <= now - GRACE)
            .order_by(RawMessage.id)
        ).all()
        due_mail = session.execute(
            select(OutboundMail.id, OutboundMail.attempts)
            .where(OutboundMail.status == "pending", OutboundMail.next_attempt_at <= now)
            .order_by(OutboundMail.id)
        ).all()
    for raw_id in raw_ids:
        job_id = process_job_id([raw_id])
        if not dispatcher.is_pending(job_id) and dispatcher.enqueue(PROCESS_MESSAGES, [raw_id], job_id=job_id):
            done.process += 1
    for outbound_id, attempts in due_mail:
        job_id = deliver_job_id(outbound_id, attempts)
        if not dispatcher.is_pending(job_id) and dispatcher.enqueue(DELIVER_MAIL, outbound_id, job_id=job_id):
            done.deliver += 1
    try:
        done.due = reconcile_deadlines(robot, now)
    except Exception:
        # Deadlines have their own next pass; trouble there must not stop intake and delivery.
        log.exception("reconciling deadlines failed")
    try:
        from robot.informer.planner import enqueue_tick

        enqueue_tick(robot)  # the auto-informer's due sends (R23): planned by a tick job of their own
    except Exception:
        log.exception("enqueueing the auto-informer's tick failed")
    if done.process or done.deliver:
        log.info("reconciler re-enqueued %s message(s) and %s delivery(ies)", done.process, done.deliver)
    return done
