"""Turn stored raw messages into registered, acknowledged appeals — or quarantine entries.

Reading, parsing and classifying happen before the write transaction, so the database's single
writer is held only for the registration itself. The job that calls this may run twice (RQ runs
jobs at least once); the status check inside the write transaction makes a second run a no-op.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from classifiers import Classification, classify, classify_batch
from classifiers.similarity import closest
from robot.app import Robot
from robot.deadlines.limits import due_at
from robot.deadlines.plan import register_deadlines
from robot.informer.replies import match_reply
from robot.mail.loops import auto_reply_block, automatic_reason, quiet_reason
from robot.mail.parse import ParsedMail, parse
from robot.pipeline.acknowledge import first_reply
from robot.pipeline.automatic import record_automatic
from robot.pipeline.decide import Decision, decide, with_routing
from robot.pipeline.register import next_number
from robot.pipeline.thread import (
    REPLY_CHANNELS,
    Thread,
    add_inbound_message,
    find_thread,
    flag_unjoined,
    join,
    own_domain,
)
from robot.pipeline.web_form import WebForm, submitted_form
from robot.routing import Facts, Routing
from robot.routing.actions import ASK_TEMPLATE
from robot.routing.history import earlier_territory
from robot.storage.models import Appeal, Event, Message, RawMessage
from robot.storage.rows import add_rows

log = logging.getLogger("robot.pipeline")


@dataclass(frozen=True)
class Prepared:
    """Everything decided about a message before the write transaction."""

    mail: ParsedMail
    automatic: str | None
    classification: Classification | None = None
    decision: Decision | None = None
    due_at: datetime | None = None
    routing: Routing | None = None
    #: The appeal the message names (a reply), joined or not.
    thread: Thread | None = None
    #: Why the sender asked for no automatic reply, though a person may have written it.
    quiet: str | None = None
    #: The web reception form the message came through: its kind, territory and contacts.
    web_form: WebForm | None = None


#: Messages registered per write transaction. The database has one writer at a time, and the
#: SMTP gateway waits for it before it may answer 250: a worker that held it for a whole batch
#: (tens of milliseconds) held up every sender. A few messages a transaction keep most of the
#: saving of batching and let the gateway's commits in between. 8 since the registration rows are
#: Core inserts (bench/ingest.py: end-to-end 101-103 msg/s with 4, 107 with 8, 87-104 with 16).
WRITE_CHUNK = 8


def process_many(robot: Robot, raw_ids: Sequence[int]) -> list[int]:
    """Process several raw messages, a few per write transaction; returns ids of mail claimed for delivery.

    Messages that arrived together are processed together: one read, one classification batch,
    then write transactions of up to ``WRITE_CHUNK`` messages, committed early when an intake is
    waiting for SQLite's write lock. Each message still succeeds or fails on its own (a savepoint
    each): one that breaks goes to quarantine, the others are registered.
    """
    with robot.sessions() as session:
        raws = session.scalars(select(RawMessage).where(RawMessage.id.in_(list(raw_ids)),
                                                         RawMessage.status == "received")
                               .order_by(RawMessage.id)).all()
    prepared, failed = _prepare_many(robot, raws)
    claimed: list[int] = []
    waiting = robot.database.write_lock.intake_waits if robot.database.write_lock else lambda: False
    ids = sorted(prepared)
    while ids:
        with robot.unit_of_work() as session:
            rows = session.scalars(select(RawMessage).where(RawMessage.id.in_(ids[:WRITE_CHUNK]))
                                   .order_by(RawMessage.id)).all()
            last: int | None = None
            for raw in rows:
                if last is not None and waiting():
                    break  # a priority writer (a sender's intake) waits: commit what is done, go on after it
                last = raw.id
                if raw.status != "received":
                    continue  # another run of this job got here first
                try:
                    with session.begin_nested():
                        raw.attempts += 1
                        outbound_id = _record(robot, session, raw, prepared[raw.id])
                except SQLAlchemyError:
                    raise  # storage trouble is temporary: the job fails and is retried
                except Exception as error:
                    failed.append((raw.id, error))
                    continue
                if outbound_id is not None:
                    claimed.append(outbound_id)
        ids = [raw_id for raw_id in ids if last is not None and raw_id > last]
    for raw_id, error in failed:
        _quarantine(robot, raw_id, error)
    return claimed


def _prepare_many(robot: Robot, raws: Sequence[RawMessage]) -> tuple[dict[int, Prepared], list[tuple[int, Exception]]]:
    """Decide everything about each message before the write transaction, in three passes: read
    each message (and whether it joins an appeal), classify those that are new appeals in one batch
    (one call into the model for the lot), then decide and route each. One read-only session serves
    the look-ups of the whole batch. A message that breaks in any pass fails on its own."""
    prepared: dict[int, Prepared] = {}
    failed: list[tuple[int, Exception]] = []
    pending: list[tuple[RawMessage, ParsedMail, str | None, Thread | None, str | None]] = []
    with robot.sessions() as session:
        for raw in raws:
            try:
                done, state = _read(robot, session, raw)
            except Exception as error:
                failed.append((raw.id, error))
                session.rollback()  # a failed query must not leave the next message a broken transaction
                continue
            if done is not None:
                prepared[raw.id] = done
            else:
                pending.append(state)
        try:
            results = classify_batch([(mail.subject, mail.text) for _, mail, *_ in pending])
        except Exception:
            results = [None] * len(pending)  # classified one by one below: the culprit fails alone
        for (raw, mail, customer, thread, quiet), result in zip(pending, results, strict=True):
            try:
                prepared[raw.id] = _decide(robot, session, raw, mail, customer, thread, quiet,
                                           result if result is not None else classify(mail.subject, mail.text))
            except Exception as error:
                failed.append((raw.id, error))
                session.rollback()
    return prepared, failed


def _read(robot: Robot, session: Session, raw: RawMessage) -> tuple[Prepared | None, tuple]:
    """Parse ``raw``; a Prepared when that already decides it (automatic mail, a reply that joins
    its appeal), else what the next passes need."""
    mail = parse(raw.raw)
    settings = robot.settings
    # Only mail can be machine-written: a web form is a person's submission (R2), whatever address
    # they typed — a small firm's «postmaster@…» included.
    if raw.channel in REPLY_CHANNELS:
        reason = automatic_reason(mail, raw.mail_from, own_address=settings.mail_from,
                                  own_domain=own_domain(settings))
        if reason is not None:
            return Prepared(mail, reason), ()
    customer = mail.from_addr or _plausible(raw.mail_from)
    thread = None
    if raw.channel in REPLY_CHANNELS:
        thread = find_thread(session, settings, robot.signing_key, mail, customer)
    quiet = quiet_reason(mail)
    if thread is not None and thread.joins:
        return Prepared(mail, None, thread=thread, quiet=quiet), ()
    return None, (raw, mail, customer, thread, quiet)


def _decide(robot: Robot, session: Session, raw: RawMessage, mail: ParsedMail, customer: str | None,
            thread: Thread | None, quiet: str | None, result: Classification) -> Prepared:
    settings = robot.settings
    web_form = submitted_form(session, raw)
    if web_form is not None:
        result = web_form.classified(result)  # R5: a form states its kind
    decision = decide(result, kind_threshold=settings.classifier_kind_threshold,
                      scope_threshold=settings.classifier_scope_threshold,
                      has_reply_channel=bool(customer), repeat_of=_repeat_of(robot, session, customer, mail))
    earlier = earlier_territory(session, customer)
    routing = robot.router.route(Facts(
        subject=mail.subject, text=mail.text, kind=result.kind, topic=result.topic, scope=result.scope,
        flags=result.flags, status=decision.status, channel=raw.channel, sender=customer,
        received_at=raw.received_at, customer_name=mail.from_name, earlier=earlier,
        form=web_form.routing_fields() if web_form is not None else None))
    decision = with_routing(decision, routing)
    return Prepared(mail, None, result, decision, due_at(robot.calendar, raw.received_at, decision.deadline_kind),
                    routing, thread, quiet, web_form)


#: How many of a customer's answered appeals a new one is compared with (the latest ones).
_HISTORY = 20


def _repeat_of(robot: Robot, session: Session, customer: str | None, mail: ParsedMail) -> str | None:
    """The number of this customer's appeal, answered on the merits, that ``mail`` repeats (R7)."""
    if not customer:
        return None
    earlier = session.execute(
        select(Appeal.number, Message.subject, Message.text)
        .join(Message, (Message.appeal_id == Appeal.id) & (Message.direction == "in"))
        .where(Appeal.customer_email == customer, Appeal.answer_text.is_not(None))
        .order_by(Appeal.id.desc(), Message.id)
        .limit(_HISTORY)
    ).all()
    found = closest((mail.subject, mail.text), [(subject or "", text) for _, subject, text in earlier])
    if found is None or found[1] < robot.settings.repeat_threshold:
        return None
    return earlier[found[0]].number


def _record(robot: Robot, session: Session, raw: RawMessage, prepared: Prepared) -> int | None:
    now = robot.clock.now()
    if prepared.automatic is not None:
        # Kept, visible, never answered: answering automatic mail is how loops start.
        record_automatic(robot, session, raw, prepared.mail, prepared.automatic)
        return None
    if prepared.thread is not None and prepared.thread.joins:
        return join(robot, session, raw, prepared.mail, prepared.thread, quiet=prepared.quiet)

    # A reply to campaign mail is the campaign's positive result (R23); it is still registered,
    # since the customer may ask something in it (R1: every message is registered).
    campaign_reply = match_reply(session, prepared.mail, now)
    appeal = _register(robot, session, raw, prepared)
    raw.status, raw.processed_at, raw.appeal_id = "processed", now, appeal.id
    if campaign_reply:
        session.add(Event(appeal_id=appeal.id, at=now, actor="robot", action="campaign_reply", detail={}))
    if prepared.thread is not None:
        flag_unjoined(session, appeal, prepared.thread, now)
    decision = prepared.decision
    assert decision is not None
    if decision.reply is None or not appeal.customer_email:
        # R8: registered, not considered, and there is nobody or no reason to write to.
        session.add(Event(appeal_id=appeal.id, at=now, actor="robot", action="no_reply",
                          detail={"reason": decision.reason or "no_reply_address"}))
        return None
    # RFC 3834: the sender asked for no automatic reply, the address bounces, or it had its share.
    block = prepared.quiet or auto_reply_block(session, robot.settings, appeal.customer_email, now)
    if block is not None:
        session.add(Event(appeal_id=appeal.id, at=now, actor="robot", action="no_reply", detail={"reason": block}))
        return None
    if decision.reply == ASK_TEMPLATE and appeal.status == "registered":
        appeal.status = "awaiting_customer"  # R10: the reply asks the customer for what is missing
    return first_reply(robot, session, appeal, prepared.mail, decision, claim=True)


def _register(robot: Robot, session: Session, raw: RawMessage, prepared: Prepared) -> Appeal:
    mail, result, decision, routing = prepared.mail, prepared.classification, prepared.decision, prepared.routing
    assert result is not None and decision is not None and prepared.due_at is not None and routing is not None
    territory = routing.territory
    registered_at = raw.received_at
    year = registered_at.astimezone(robot.settings.tz).year
    seq, number = next_number(session, year)
    appeal = Appeal(
        number=number,
        year=year,
        seq=seq,
        channel=raw.channel,
        registered_at=registered_at,
        due_at=prepared.due_at,
        kind=result.kind,
        kind_confidence=result.kind_confidence,
        classification=result.as_dict() | {"top_two_kinds": result.top_two_kinds, "decision": decision.as_dict()},
        status=decision.status,
        topic=routing.topic or result.topic,
        scope=result.scope,
        flags=list(result.flags),
        subject=mail.subject or None,
        customer_name=mail.from_name,
        customer_email=mail.from_addr or _plausible(raw.mail_from),
        queue=routing.queue,
        assignee=routing.assignee,
        routing=routing.as_dict(),
        priority=routing.priority,
        missing_fields=routing.missing,
        region=territory.region,
        city_district=territory.district,
        branch=territory.branch,
        unit=territory.unit_name,
    )
    if prepared.web_form is not None:
        prepared.web_form.fill(appeal)
    session.add(appeal)
    # The due date by the queue's calendar and the channel's limit (R13, R14), and the rows of
    # what falls due (reminder, escalation, R15 notice), in this same transaction.
    register_deadlines(robot, session, appeal, deadline_kind=decision.deadline_kind)
    add_inbound_message(session, raw, mail, appeal.id, registered_at)
    now = robot.clock.now()
    add_rows(session, Event, [
        {"appeal_id": appeal.id, "raw_message_id": raw.id, "at": now, "actor": "robot", "action": "registered",
         "detail": {"number": number, "kind": result.kind, "scores": result.kind_scores, "model": result.model,
                    "defects": len(mail.defects), "decision": decision.as_dict()}},
        {"appeal_id": appeal.id, "raw_message_id": None, "at": now, "actor": "robot", "action": "routed",
         "detail": {"queue": routing.queue, "rules_version": routing.rules_version,
                    "hits": [hit["rule"] for hit in routing.hits], "territory": territory.unit,
                    "reply": decision.reply, "priority": routing.priority, "missing": routing.missing}},
    ])
    log.info("registered %s (%s, %s) → %s from raw message %s", number, result.kind, decision.status, routing.queue,
             raw.id)
    return appeal


def _plausible(address: str | None) -> str | None:
    if address and "@" in address and not any(ch in address for ch in "<>\r\n \"'"):
        return address.lower()
    return None


def _describe(error: Exception) -> str:
    return "".join(traceback.format_exception_only(error)).strip()


def _quarantine(robot: Robot, raw_id: int, error: Exception) -> None:
    detail = _describe(error)
    log.error("raw message %s quarantined: %s", raw_id, detail, exc_info=error)
    with robot.unit_of_work() as session:
        raw = session.get(RawMessage, raw_id)
        if raw is None or raw.status != "received":
            return
        now = robot.clock.now()
        raw.status, raw.error, raw.processed_at = "quarantined", detail, now
        session.add(Event(raw_message_id=raw.id, at=now, actor="robot", action="quarantined",
                          detail={"error": detail}))


def retry_quarantined(robot: Robot, raw_id: int, actor: str) -> bool:
    """Put a quarantined message back in line (a human asked for it). Returns False if it is not quarantined."""
    with robot.unit_of_work() as session:
        raw = session.get(RawMessage, raw_id)
        if raw is None or raw.status != "quarantined":
            return False
        raw.status, raw.error = "received", None
        session.add(Event(raw_message_id=raw.id, at=robot.clock.now(), actor=actor, action="retry", detail={}))
    return True
