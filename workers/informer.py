"""The auto-informer's jobs: the tick that plans due sends, and the delivery of a batch of them."""

from __future__ import annotations

from robot.informer.planner import tick as plan_due
from robot.mail.deliver import deliver_many
from workers.runtime import current


def tick() -> dict[str, int]:
    done = plan_due(current())
    return {"planned": done.planned, "excluded": done.excluded, "bounced": done.bounced, "jobs": done.jobs}


def deliver_batch(outbound_ids: list[int]) -> list[str]:
    # Idempotent: deliver_many claims each row before sending and skips rows already sent.
    return deliver_many(current(), outbound_ids)
