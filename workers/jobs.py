"""The jobs RQ runs. Each is idempotent: the database state is checked before acting."""

from __future__ import annotations

from robot.mail.deliver import deliver, deliver_many
from robot.pipeline.process import process_many
from robot.reconcile import reconcile as reconcile_all
from workers.runtime import current


def process_messages(raw_ids: list[int]) -> list[str]:
    robot = current()
    claimed = process_many(robot, raw_ids)
    # Deliver the replies right away, in this job: the Standard gives us one minute.
    return deliver_many(robot, claimed, claimed=True)


def deliver_mail(outbound_id: int) -> str:
    return deliver(current(), outbound_id)


def reconcile() -> dict[str, int]:
    done = reconcile_all(current())
    return {"process": done.process, "deliver": done.deliver, "due": done.due}
