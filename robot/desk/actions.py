"""What a member of staff does with an appeal: answer, note, forward, ask, extend, correct, close, publish.

Each action is one unit of work: the change, its history event (``Event``) and its audit entry
(R26) commit together or not at all. Mail to the customer is stored as an ``OutboundMail`` row in
the same transaction and handed to the delivery job after the commit (the reconciler re-finds it
if Redis does not take it).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from robot.app import Robot
from robot.deadlines import service as deadlines
from robot.desk.audit import Actor, record
from robot.desk.letters import Upload, write_letter
from robot.desk.queues import DONE_STATUSES
from robot.dispatch import DELIVER_MAIL
from robot.mail.deliver import deliver_job_id
from robot.pipeline import correct as correction
from robot.storage.models import Appeal, Event, Message, OutboundMail, Publication

log = logging.getLogger("robot.desk")

#: Longest text a specialist may type into one field (a generous page of text).
MAX_TEXT = 20_000


class DeskError(ValueError):
    """An action that cannot be done as asked; ``code`` names the reason (the page says it in Russian)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class NoSuchAppeal(LookupError):
    pass


def load(session: Session, number: str) -> Appeal:
    appeal = session.scalar(
        select(Appeal).where(Appeal.number == number)
        .options(selectinload(Appeal.messages).selectinload(Message.attachments), selectinload(Appeal.events))
    )
    if appeal is None:
        raise NoSuchAppeal(number)
    return appeal


def _text(value: str | None, code: str, *, required: bool = True) -> str:
    value = (value or "").replace("\r\n", "\n").strip()
    if required and not value:
        raise DeskError(code)
    if len(value) > MAX_TEXT:
        raise DeskError("too_long")
    return value


def _changed(session: Session, appeal: Appeal, actor: Actor, action: str, now: datetime,
             detail: dict[str, Any]) -> None:
    session.add(Event(appeal_id=appeal.id, at=now, actor=actor.login, action=action, detail=detail))
    record(session, actor, action, at=now, appeal_id=appeal.id, target=appeal.number, detail=detail)


def _enqueue_delivery(robot: Robot, outbound_id: int) -> None:
    try:
        robot.dispatcher.enqueue(DELIVER_MAIL, outbound_id, job_id=deliver_job_id(outbound_id, 0))
    except RuntimeError:
        # No Redis in this process: the mail is a pending row, which the reconciler hands to a worker.
        log.warning("outbound %s stored; delivery waits for the reconciler", outbound_id)


def _send(robot: Robot, session: Session, appeal: Appeal, actor: Actor, template: str, body: str,
          purpose: str, attachments: list[Upload]) -> OutboundMail:
    if not appeal.customer_email:
        raise DeskError("no_email")
    now = robot.clock.now()
    letter = write_letter(robot, appeal, template, body, author=actor.name or actor.login, attachments=attachments)
    outbound = OutboundMail(appeal_id=appeal.id, purpose=purpose, created_at=now, message_id=letter.message_id,
                            mail_from=robot.settings.mail_from, rcpt_to=letter.to_addr, raw=letter.raw,
                            next_attempt_at=now)
    session.add(outbound)
    session.flush()
    session.add(Message(appeal_id=appeal.id, direction="out", created_at=now, outbound_id=outbound.id,
                        message_id=letter.message_id, sender=actor.login, subject=letter.subject, text=letter.text))
    return outbound


def answer(robot: Robot, number: str, actor: Actor, text: str, attachments: list[Upload] | None = None) -> None:
    """Send the answer to the customer (R4: by e-mail, the channel they wrote through) and journal it."""
    body = _text(text, "empty_answer")
    now = robot.clock.now()
    with robot.unit_of_work() as session:
        appeal = load(session, number)
        if appeal.status in DONE_STATUSES:
            raise DeskError("closed")
        outbound = _send(robot, session, appeal, actor, "answer", body, "answer", attachments or [])
        appeal.answer_text = body
        appeal.status = "answered"
        appeal.responsible = appeal.responsible or actor.name or actor.login
        appeal.executed_at = appeal.executed_at or now
        deadlines.mark_answered(session, appeal, now=now, actor=actor.login)
        _changed(session, appeal, actor, "answered", now,
                 {"outbound_id": outbound.id, "to": outbound.rcpt_to,
                  "attachments": [a.filename for a in attachments or []]})
        outbound_id = outbound.id
    _enqueue_delivery(robot, outbound_id)


def request_data(robot: Robot, number: str, actor: Actor, text: str) -> None:
    """Ask the customer for what is missing (R10); the appeal waits for their reply."""
    body = _text(text, "empty_request")
    now = robot.clock.now()
    with robot.unit_of_work() as session:
        appeal = load(session, number)
        if appeal.status in DONE_STATUSES:
            raise DeskError("closed")
        outbound = _send(robot, session, appeal, actor, "request_data", body, "request_data", [])
        appeal.status = "awaiting_customer"
        _changed(session, appeal, actor, "data_requested", now, {"outbound_id": outbound.id, "text": body})
        outbound_id = outbound.id
    _enqueue_delivery(robot, outbound_id)


def note(robot: Robot, number: str, actor: Actor, text: str) -> None:
    """An internal note: staff see it in the history; the customer never does."""
    body = _text(text, "empty_note")
    now = robot.clock.now()
    with robot.unit_of_work() as session:
        appeal = load(session, number)
        _changed(session, appeal, actor, "note", now, {"text": body})


def forward(robot: Robot, number: str, actor: Actor, *, queue: str, assignee: str | None, comment: str,
            known_queues: set[str]) -> None:
    """Hand the appeal to another queue or person, saying why (R11)."""
    if queue not in known_queues:
        raise DeskError("unknown_queue")
    body = _text(comment, "empty_comment")
    now = robot.clock.now()
    with robot.unit_of_work() as session:
        appeal = load(session, number)
        if appeal.status in DONE_STATUSES:
            raise DeskError("closed")
        detail = {"from_queue": appeal.queue, "to_queue": queue, "from_assignee": appeal.assignee,
                  "to_assignee": assignee or None, "comment": body}
        appeal.queue, appeal.assignee = queue, (assignee or None)
        if appeal.status == "triage":
            appeal.status = "registered"
        _changed(session, appeal, actor, "forwarded", now, detail)


def extend(robot: Robot, number: str, actor: Actor, *, until: date | None, reason: str) -> None:
    """Extend the deadline once, with a reason; the customer is told the new date (R14, R15).

    The rules (once only, not after the due date, at most the channel's extension) are the
    deadlines' own (robot/deadlines/service.py); their refusals come back as the desk's error codes.
    """
    why = _text(reason, "empty_reason")
    now = robot.clock.now()
    with robot.unit_of_work() as session:
        appeal = load(session, number)
        old = appeal.due_at
        try:
            new_due = deadlines.extend(session, appeal, reason=why, actor=actor.login, now=now, robot=robot,
                                       until=until)
        except deadlines.DeadlineError as refusal:
            raise DeskError(refusal.code) from None
        record(session, actor, "extended", at=now, appeal_id=appeal.id, target=number,
               detail={"from": old.isoformat(), "to": new_due.isoformat(), "reason": why})


def explain_delay(robot: Robot, number: str, actor: Actor, reason: str) -> None:
    """The reason for delay of an overdue appeal (the journal's «Причины задержки исполнения»)."""
    why = _text(reason, "empty_reason")
    now = robot.clock.now()
    with robot.unit_of_work() as session:
        appeal = load(session, number)
        appeal.delay_reason = why
        _changed(session, appeal, actor, "delay_explained", now, {"reason": why})


def close(robot: Robot, number: str, actor: Actor, *, measures: str, delay_reason: str | None = None) -> None:
    """Close the appeal with the measures taken; an overdue one needs the reason for delay."""
    done = _text(measures, "empty_measures")
    late_why = _text(delay_reason, "", required=False)
    now = robot.clock.now()
    with robot.unit_of_work() as session:
        appeal = load(session, number)
        if appeal.status in DONE_STATUSES:
            raise DeskError("closed")
        if late_why:
            appeal.delay_reason = late_why
        blocker = deadlines.close_blocker(appeal, now)
        if blocker:
            raise DeskError(blocker)
        appeal.measures_taken = done
        appeal.executed_at = appeal.executed_at or now
        appeal.responsible = appeal.responsible or actor.name or actor.login
        appeal.status = "closed"
        _changed(session, appeal, actor, "closed", now,
                 {"measures": done, **({"delay_reason": appeal.delay_reason} if appeal.delay_reason else {})})


def publish(robot: Robot, number: str, actor: Actor, *, kind: str, title: str, text: str) -> None:
    """Mark the answer, or a complaint's short summary, for publication in the reception (R17)."""
    if kind not in ("answer", "summary"):
        raise DeskError("bad_publication")
    heading = _text(title, "empty_title")[:255]
    body = _text(text, "empty_publication")
    now = robot.clock.now()
    with robot.unit_of_work() as session:
        appeal = load(session, number)
        if kind == "summary" and appeal.kind != "complaint":
            raise DeskError("summary_only_for_complaints")
        publication = Publication(appeal_id=appeal.id, kind=kind, title=heading, text=body, at=now,
                                  actor=actor.login)
        session.add(publication)
        session.flush()
        _changed(session, appeal, actor, "published", now, {"kind": kind, "title": heading,
                                                            "publication_id": publication.id})


def correct(robot: Robot, number: str, actor: Actor, **values: str | None) -> None:
    """Correct kind, topic or scope; stored as a correction for the classifier (robot/pipeline/correct.py)."""
    values = {k: (v or None) for k, v in values.items()}
    try:
        result = correction.correct(robot, number, actor=actor.login, **values)
    except correction.NoSuchAppeal:
        raise NoSuchAppeal(number) from None
    except ValueError:
        raise DeskError("bad_correction") from None
    if result.changed:
        with robot.unit_of_work() as session:
            appeal_id = session.scalar(select(Appeal.id).where(Appeal.number == number))
            record(session, actor, "corrected", at=robot.clock.now(), appeal_id=appeal_id, target=number,
                   detail={k: {"from": old, "to": new} for k, (old, new) in result.changed.items()})
