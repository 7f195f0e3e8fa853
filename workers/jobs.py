"""The jobs RQ runs. Each is idempotent: the database state is checked before acting."""

from __future__ import annotations

from robot.mail.deliver import deliver
from robot.pipeline import process_raw
from robot.reconcile import reconcile as reconcile_all
from workers.runtime import current


def process_message(raw_id: int) -> str:
    robot = current()
    outbound_id = process_raw(robot, raw_id)
    if outbound_id is None:
        return "processed"
    # Deliver the acknowledgement right away, in this job: the Standard gives us one minute.
    return deliver(robot, outbound_id, claimed=True)


def deliver_mail(outbound_id: int) -> str:
    return deliver(current(), outbound_id)


def reconcile() -> dict[str, int]:
    done = reconcile_all(current())
    return {"process": done.process, "deliver": done.deliver}
