"""After a web submission is stored: tell the customer what became of it — the number, once registered.

Why the request does not register the appeal itself: the answer to the customer must be quick
under load (the target: 50 submissions/s, p99 <= 300 ms), and registration is the workers' job —
they classify and register in batches, in processes of their own, and send the acknowledgement
within the Standard's minute. The request stores (two commits) and enqueues, exactly like the
SMTP gateway; the confirmation page then waits briefly, without holding a thread, for the number
the workers assign (normally well under a second), and if it has not come yet says "being
registered" and refreshes itself. The e-mail acknowledgement carries the number either way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from robot.app import Robot
from robot.storage.models import Appeal, RawMessage, WebSubmission

log = logging.getLogger("robot.web.receipt")

#: How often a waiting confirmation looks for its number.
_POLL_S = 0.1


@dataclass(frozen=True)
class Outcome:
    """What the confirmation page may say about a submission: nothing beyond number and due date."""

    #: registered | pending (still being registered) | held (accepted; a human or a worker goes on)
    state: str
    form: str
    email: str
    number: str | None = None
    due_at: datetime | None = None
    kind: str | None = None
    status: str | None = None


def outcome(robot: Robot, token: str) -> Outcome | None:
    with robot.sessions() as session:
        row = session.execute(
            select(WebSubmission.form, WebSubmission.customer_email, RawMessage.status, Appeal.number,
                   Appeal.due_at, Appeal.kind, Appeal.status.label("appeal_status"))
            # Only the web channel's raw message: a mail may carry any Message-ID it likes.
            .outerjoin(RawMessage, (RawMessage.message_id == WebSubmission.message_id) & (RawMessage.channel == "web"))
            .outerjoin(Appeal, Appeal.id == RawMessage.appeal_id)
            .where(WebSubmission.token == token)
        ).first()
    if row is None:
        return None
    if row.number is not None:
        return Outcome("registered", row.form, row.customer_email, row.number, row.due_at, row.kind,
                       row.appeal_status)
    state = "pending" if row.status in (None, "received") else "held"
    return Outcome(state, row.form, row.customer_email)


async def await_outcome(robot: Robot, token: str, wait_s: float) -> Outcome | None:
    """The outcome once registered, or as it stands after ``wait_s`` seconds (polling, no thread held)."""
    deadline = time.monotonic() + wait_s
    while True:
        found = await run_in_threadpool(outcome, robot, token)
        if found is None or found.state != "pending" or time.monotonic() >= deadline:
            return found
        await asyncio.sleep(_POLL_S)
