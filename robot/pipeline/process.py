"""Turn one stored raw message into a registered, acknowledged appeal — or a quarantine entry.

One unit of work: everything below commits together or not at all. The job that calls this may
run twice (RQ runs jobs at least once); the status check at the top makes the second run a no-op.
"""

from __future__ import annotations

import logging
import traceback

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from classifiers import classify
from robot.app import Robot
from robot.deadlines.limits import due_at
from robot.mail.loops import automatic_reason
from robot.mail.parse import ParsedMail, parse
from robot.pipeline.acknowledge import acknowledge
from robot.pipeline.register import next_number
from robot.storage.db import unit_of_work
from robot.storage.models import Appeal, Attachment, Event, Message, RawMessage

log = logging.getLogger("robot.pipeline")


def process_raw(robot: Robot, raw_id: int) -> int | None:
    """Process raw message ``raw_id``; returns the id of mail to deliver now, if any."""
    with unit_of_work(robot.sessions) as session:
        raw = session.get(RawMessage, raw_id)
        if raw is None or raw.status != "received":
            return None
        raw.attempts += 1
        try:
            with session.begin_nested():
                return _process(robot, session, raw)
        except SQLAlchemyError:
            raise  # storage trouble is temporary: the job fails and is retried
        except Exception as error:
            _quarantine(robot, session, raw, error)
            return None


def _process(robot: Robot, session: Session, raw: RawMessage) -> int | None:
    now = robot.clock.now()
    mail = parse(raw.raw)
    reason = automatic_reason(mail, raw.mail_from)
    if reason is not None:
        # Kept, visible, never answered: answering automatic mail is how loops start.
        raw.status, raw.error, raw.processed_at = "automatic", reason, now
        session.add(Event(raw_message_id=raw.id, at=now, actor="robot", action="automatic", detail={"reason": reason}))
        log.info("raw message %s is automatic (%s); not registered", raw.id, reason)
        return None

    appeal = _register(robot, session, raw, mail)
    raw.status, raw.processed_at, raw.appeal_id = "processed", now, appeal.id
    if not appeal.customer_email:
        session.add(Event(appeal_id=appeal.id, at=now, actor="robot", action="no_reply_address", detail={}))
        return None
    return acknowledge(robot, session, appeal, mail).id


def _register(robot: Robot, session: Session, raw: RawMessage, mail: ParsedMail) -> Appeal:
    result = classify(mail.subject, mail.text)
    registered_at = raw.received_at
    year = registered_at.astimezone(robot.settings.tz).year
    seq, number = next_number(session, year)
    appeal = Appeal(
        number=number,
        year=year,
        seq=seq,
        channel=raw.channel,
        registered_at=registered_at,
        due_at=due_at(robot.calendar, registered_at, result.kind),
        kind=result.kind,
        kind_confidence=result.kind_confidence,
        classification=result.as_dict(),
        topic=result.topic,
        scope=result.scope,
        flags=list(result.flags),
        subject=mail.subject or None,
        customer_name=mail.from_name,
        customer_email=mail.from_addr or _plausible(raw.mail_from),
    )
    session.add(appeal)
    session.flush()
    message = Message(
        appeal_id=appeal.id, direction="in", created_at=registered_at, raw_message_id=raw.id,
        message_id=mail.message_id, sender=mail.from_addr, subject=mail.subject, text=mail.text,
        html=mail.html, defects=mail.defects,
    )
    message.attachments = [
        Attachment(filename=a.filename, content_type=a.content_type, size=len(a.content), sha256=a.sha256,
                   content=a.content)
        for a in mail.attachments
    ]
    session.add(message)
    session.add(Event(appeal_id=appeal.id, raw_message_id=raw.id, at=robot.clock.now(), actor="robot",
                      action="registered",
                      detail={"number": number, "kind": result.kind, "scores": result.kind_scores,
                              "model": result.model, "defects": len(mail.defects)}))
    log.info("registered %s (%s) from raw message %s", number, result.kind, raw.id)
    return appeal


def _plausible(address: str | None) -> str | None:
    if address and "@" in address and not any(ch in address for ch in "<>\r\n \"'"):
        return address.lower()
    return None


def _quarantine(robot: Robot, session: Session, raw: RawMessage, error: Exception) -> None:
    now = robot.clock.now()
    detail = "".join(traceback.format_exception_only(error)).strip()
    raw.status, raw.error, raw.processed_at = "quarantined", detail, now
    session.add(Event(raw_message_id=raw.id, at=now, actor="robot", action="quarantined", detail={"error": detail}))
    log.error("raw message %s quarantined: %s", raw.id, detail, exc_info=error)


def retry_quarantined(robot: Robot, raw_id: int, actor: str) -> bool:
    """Put a quarantined message back in line (a human asked for it). Returns False if it is not quarantined."""
    with unit_of_work(robot.sessions) as session:
        raw = session.get(RawMessage, raw_id)
        if raw is None or raw.status != "quarantined":
            return False
        raw.status, raw.error = "received", None
        session.add(Event(raw_message_id=raw.id, at=robot.clock.now(), actor=actor, action="retry", detail={}))
    return True
