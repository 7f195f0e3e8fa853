"""The one entry point of every intake: store the raw input, commit, then hand it to the workers."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from robot.app import Robot
from robot.dispatch import PROCESS_MESSAGE
from robot.mail.parse import content_fingerprint, sniff_message_id
from robot.storage.models import Event, RawMessage

log = logging.getLogger("robot.intake")


@dataclass(frozen=True)
class Accepted:
    raw_id: int
    duplicate: bool


def dedupe_key(message_id: str | None, raw: bytes) -> str:
    """Message-ID plus content: a redelivery matches, a different mail reusing an id does not."""
    return hashlib.sha256(f"{message_id or ''}\n{content_fingerprint(raw)}".encode()).hexdigest()


def accept(
    robot: Robot,
    raw: bytes,
    *,
    channel: str,
    mail_from: str | None = None,
    rcpt_to: list[str] | None = None,
    peer: str | None = None,
) -> Accepted:
    """Commit ``raw`` durably (or raise); only then may the caller acknowledge the sender."""
    message_id = sniff_message_id(raw)
    key = dedupe_key(message_id, raw)
    try:
        with robot.unit_of_work() as session:
            existing = session.scalar(select(RawMessage.id).where(RawMessage.dedupe_key == key))
            if existing is not None:
                log.info("duplicate delivery of raw message %s (message-id %s)", existing, message_id)
                return Accepted(existing, duplicate=True)
            now = robot.clock.now()
            row = RawMessage(
                channel=channel,
                received_at=now,
                peer=peer,
                mail_from=mail_from,
                rcpt_to=list(rcpt_to or []),
                message_id=message_id,
                sha256=hashlib.sha256(raw).hexdigest(),
                dedupe_key=key,
                size=len(raw),
                raw=raw,
            )
            session.add(row)
            session.flush()
            session.add(Event(raw_message_id=row.id, at=now, actor=f"intake:{channel}", action="received",
                              detail={"size": len(raw), "peer": peer}))
            raw_id = row.id
    except IntegrityError:
        # Two concurrent deliveries of the same message: the other one committed first.
        with robot.unit_of_work() as session:
            existing = session.scalar(select(RawMessage.id).where(RawMessage.dedupe_key == key))
        if existing is None:
            raise
        return Accepted(existing, duplicate=True)
    robot.dispatcher.enqueue(PROCESS_MESSAGE, raw_id, job_id=f"process-{raw_id}")
    return Accepted(raw_id, duplicate=False)
