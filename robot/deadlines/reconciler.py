"""The deadlines' part of the periodic reconciler: schedule near due moments, and recompute open
deadlines when the rules they were computed with changed."""

from __future__ import annotations

from datetime import datetime

from robot.app import Robot
from robot.deadlines.recompute import check_fingerprint
from robot.deadlines.schedule import RECOMPUTE, reconcile_due


def reconcile_deadlines(robot: Robot, now: datetime) -> int:
    """Returns how many jobs were enqueued."""
    enqueued = reconcile_due(robot, now)
    fingerprint = check_fingerprint(robot)
    if fingerprint is not None:
        job_id = f"recompute-{fingerprint}"
        dispatcher = robot.dispatcher
        if not dispatcher.is_pending(job_id) and dispatcher.enqueue(RECOMPUTE, fingerprint, job_id=job_id):
            enqueued += 1
    return enqueued
