"""The deadlines' jobs: fire what is due, recompute open deadlines. Thin: robot/deadlines decides."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from robot.deadlines.actions import sweep
from robot.deadlines.recompute import recompute as recompute_all
from robot.deadlines.recompute import record_fingerprint, rules_fingerprint
from robot.deadlines.schedule import FIRE_DUE, due_job_id
from workers.runtime import current

log = logging.getLogger("workers.deadlines")


def fire_due(moment: int) -> dict[str, int]:
    """Fire every due action due by now (the job of the due moment ``moment``, a Unix time).

    Scheduled for its moment; should RQ run it early, nothing is due yet and it does nothing. A
    sweep that used its time budget hands the rest to another job. A row whose action failed
    stays pending for the reconciler's next pass (up to ``MAX_ATTEMPTS`` tries).
    """
    robot = current()
    swept = sweep(robot)
    if swept.unfinished:
        now = robot.clock.now()
        robot.dispatcher.enqueue(FIRE_DUE, int(now.timestamp()), job_id=f"{due_job_id(now)}-more", unique=True)
    log.info("due moment %s: %s done, %s skipped, %s failed",
             datetime.fromtimestamp(moment, UTC).isoformat(), swept.done, swept.skipped, swept.failed)
    return {"done": swept.done, "skipped": swept.skipped, "failed": swept.failed, "sent": len(swept.sent)}


def recompute(fingerprint: str) -> dict[str, int]:
    """Recompute open deadlines after the calendars or limits changed, then record the rules used."""
    robot = current()
    done = recompute_all(robot)
    record_fingerprint(robot, rules_fingerprint(robot))
    return {"checked": done.checked, "replanned": done.replanned, "moved": done.moved}
