"""Recompute open deadlines after the rules changed: a day off added to calendar.yaml, a queue
given another calendar in routing_rules.yaml, a kind's limit changed.

An appeal's deadline is open while its escalation is pending. Each one whose plan differs from
what the rules in force give is re-planned (robot/deadlines/plan.py): its pending rows are
superseded and its version goes up, so nothing scheduled for the old moments fires. The
reconciler notices changed rules by their fingerprint and runs this by itself;
`mailrobot deadlines recompute` runs it at once.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from robot.app import Robot
from robot.deadlines.calendar import WorkCalendar
from robot.deadlines.plan import (
    ESCALATE,
    NOTIFY_CUSTOMER,
    appeal_due,
    calendar_for,
    desired,
    replan,
)
from robot.storage.models import Appeal, DeadlineRules, DueAction

log = logging.getLogger("robot.deadlines")

#: Appeals re-planned per write transaction.
CHUNK = 500


@dataclass
class Recomputed:
    checked: int = 0
    moved: int = 0
    replanned: int = 0


def rules_fingerprint(robot: Robot) -> str:
    """Changes whenever anything a deadline is computed from changes: calendar.yaml (days and
    limits), the working hours, and which queue works by which calendar."""
    queues = sorted((q.name, getattr(q, "calendar", None) or "") for q in robot.router.table.loaded.rules.queues)
    return hashlib.sha256(f"{robot.calendars.version}|{queues!r}".encode()).hexdigest()[:32]


def recompute(robot: Robot, *, queue: str | None = None, kind: str | None = None) -> Recomputed:
    """Re-plan every open deadline (of ``queue``, of ``kind``) that the rules in force change."""
    now = robot.clock.now()
    with robot.sessions() as session:
        ids = sorted(set(session.scalars(select(DueAction.appeal_id)
                                         .where(DueAction.state == "pending", DueAction.action == ESCALATE))))
    done = Recomputed()
    calendars: dict[str | None, WorkCalendar] = {}
    for start in range(0, len(ids), CHUNK):
        with robot.unit_of_work() as session:
            query = select(Appeal).where(Appeal.id.in_(ids[start:start + CHUNK]), Appeal.answered_at.is_(None))
            if queue is not None:
                query = query.where(Appeal.queue == queue)
            if kind is not None:
                query = query.where(Appeal.kind == kind)
            appeals = session.scalars(query.order_by(Appeal.id)).all()
            pending = _pending(session, [a.id for a in appeals])
            notified = set(session.scalars(select(DueAction.appeal_id).where(
                DueAction.appeal_id.in_([a.id for a in appeals]), DueAction.action == NOTIFY_CUSTOMER,
                DueAction.state == "done")))
            for appeal in appeals:
                done.checked += 1
                if appeal.queue not in calendars:
                    calendars[appeal.queue] = calendar_for(robot, appeal.queue)
                calendar = calendars[appeal.queue]
                rows = pending.get(appeal.id, [])
                before = appeal.due_at
                appeal.due_at = appeal_due(robot, appeal, calendar)
                # Rows already due fire as they are; only what lies ahead can differ.
                plan = desired(calendar, appeal, now, customer_notified=appeal.id in notified)
                wanted = {(p.action, p.due_at) for p in plan
                          if p.due_at > now}
                if appeal.due_at == before and wanted == {(action, at) for action, at in rows if at > now}:
                    continue
                appeal.due_at = before
                done.moved += replan(robot, session, appeal, now=now, calendar=calendar)
                done.replanned += 1
    if done.replanned:
        log.info("deadlines recomputed: %s checked, %s re-planned, %s moved", done.checked, done.replanned, done.moved)
    return done


def _pending(session: Session, appeal_ids: list[int]) -> dict[int, list[tuple[str, datetime]]]:
    rows: dict[int, list[tuple[str, datetime]]] = {}
    for appeal_id, action, due in session.execute(
            select(DueAction.appeal_id, DueAction.action, DueAction.due_at)
            .where(DueAction.appeal_id.in_(appeal_ids), DueAction.state == "pending")):
        rows.setdefault(appeal_id, []).append((action, due))
    return rows


def check_fingerprint(robot: Robot) -> str | None:
    """The fingerprint of the rules in force if open deadlines were computed with other rules
    (they need recomputing); None if they are current. The first look records it."""
    current = rules_fingerprint(robot)
    with robot.sessions() as session:
        stored = session.get(DeadlineRules, 1)
        if stored is not None and stored.fingerprint == current:
            return None
    if stored is None:
        record_fingerprint(robot, current)
        return None
    return current


def record_fingerprint(robot: Robot, fingerprint: str) -> None:
    with robot.unit_of_work() as session:
        row = session.get(DeadlineRules, 1)
        if row is None:
            session.add(DeadlineRules(id=1, fingerprint=fingerprint, applied_at=robot.clock.now()))
        else:
            row.fingerprint, row.applied_at = fingerprint, robot.clock.now()
