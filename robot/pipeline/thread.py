"""Replies: which appeal a message continues, and joining it there — safely (RELIABILITY §5).

A message names an appeal by our signed Message-ID in ``In-Reply-To``/``References`` or by the
registration number in its subject («Re: Обращение № 2026-000123»). It joins that appeal only
when its sender is the appeal's customer (``From``, or the envelope sender when ``From`` is
unreadable; never ``Reply-To``) and no id of ours in it is forged. Anything else that names an
appeal becomes a new appeal flagged for a human, with the reason: a stranger who got hold of a
customer's mail must not be able to add to, or read about, the customer's appeal (Zammad #5064).

A joined reply is a new inbound message of the appeal, not a new appeal: no new number. It
reopens an appeal that was done with, and is counted as unread for the assignee otherwise. The
customer gets one short notice «ваше сообщение добавлено к обращению № …» (R1: every message is
registered and the customer told so within a minute) — at most one per appeal in the auto-reply
window, and never when the loop rules forbid it: a robot that answers everything with a plain
message (no RFC 3834 headers) then gets one notice and the exchange stops.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from robot.app import Robot
from robot.config import Settings
from robot.mail.loops import auto_reply_block, normalise_address
from robot.mail.parse import ParsedMail
from robot.mail.tokens import looks_like_ours, verify_message_id
from robot.pipeline.acknowledge import first_reply
from robot.pipeline.decide import Decision
from robot.routing import Facts
from robot.storage.models import (
    Appeal,
    Attachment,
    Event,
    Message,
    OutboundMail,
    RawMessage,
)
from robot.storage.rows import add_row, add_rows

log = logging.getLogger("robot.pipeline.thread")

#: A registration number in a subject; digits around it mean it is part of something else.
_NUMBER = re.compile(r"(?<![\d-])(\d{4}-\d{6})(?![\d-])")
#: Appeals in these states were done with, or waited for the customer (routing asked them for
#: missing data); a reply of their customer puts them back in work.
REOPENED_FROM = ("closed", "answered", "not_considered", "no_action", "awaiting_customer")
REOPENED_TO = "in_work"
#: Flag of a new appeal made from a message that named an appeal it could not join.
FLAG = "unverified_reply"
#: Channels where a message can be a reply. A web form is a new appeal whatever its text says:
#: the customer is shown the new appeal's number the moment they send it.
REPLY_CHANNELS = ("email", "imap")


@dataclass(frozen=True)
class Thread:
    """The appeal a message names, and whether it may join it."""

    number: str  # the appeal named (the one joined, or the first one named)
    via: str  # token | subject
    appeal_id: int | None = None  # set when the message joins this appeal
    #: Why it does not join: sender_not_customer | forged_token | unknown_appeal.
    refused: str | None = None

    @property
    def joins(self) -> bool:
        return self.appeal_id is not None

    def as_dict(self) -> dict[str, str | None]:
        return {"number": self.number, "via": self.via, "refused": self.refused}


def own_domain(settings: Settings) -> str:
    """The domain of our Message-IDs (the one ``first_reply`` signs them in)."""
    return settings.mail_from.rpartition("@")[2] or settings.smtp_hostname


def referenced_ids(mail: ParsedMail) -> list[str]:
    """Message-IDs the mail answers, nearest first: In-Reply-To, then References from the end."""
    return list(dict.fromkeys([*([mail.in_reply_to] if mail.in_reply_to else []), *reversed(mail.references)]))


def find_thread(session: Session, settings: Settings, key: bytes, mail: ParsedMail,
                sender: str | None) -> Thread | None:
    """The appeal ``mail`` continues, or None when it names none."""
    domain = own_domain(settings)
    signed: list[int] = []
    forged = False
    for message_id in referenced_ids(mail):
        appeal_id = verify_message_id(key, message_id)
        if appeal_id == 0:
            continue  # our campaign mail (robot.informer): signed, but it belongs to no appeal
        if appeal_id is not None:
            signed.append(appeal_id)
        elif looks_like_ours(message_id, domain):
            forged = True
    numbers = list(dict.fromkeys(_NUMBER.findall(mail.subject or "")))
    if not signed and not numbers and not forged:
        return None
    by_id = {a.id: a for a in _appeals(session, Appeal.id, signed)}
    # A number that is no appeal's is some other number (a contract, an invoice): it names nothing.
    by_number = {a.number: a for a in _appeals(session, Appeal.number, numbers)}
    named: list[tuple[Appeal | None, str]] = [*((by_id.get(i), "token") for i in signed),
                                              *((by_number[n], "subject") for n in numbers if n in by_number)]
    if not named and not forged:
        return None
    sender = normalise_address(sender)
    if not forged:
        for appeal, via in named:
            if appeal is not None and sender is not None and normalise_address(appeal.customer_email) == sender:
                return Thread(appeal.number, via, appeal_id=appeal.id)
    first, via = named[0] if named else (None, "token")
    if forged:
        refused = "forged_token"
    elif first is None:
        refused = "unknown_appeal"  # signed by us, yet no such appeal (a restored database?)
    else:
        refused = "sender_not_customer"
    return Thread(first.number if first is not None else "", via, refused=refused)


def _appeals(session: Session, column, values: Iterable[object]) -> list[Appeal]:
    values = list(values)
    return list(session.scalars(select(Appeal).where(column.in_(values)))) if values else []


def add_inbound_message(session: Session, raw: RawMessage, mail: ParsedMail, appeal_id: int, at: datetime) -> int:
    """Store the readable inbound message of an appeal, with its attachments; returns its id."""
    message_id = add_row(session, Message, {
        "appeal_id": appeal_id, "direction": "in", "created_at": at, "raw_message_id": raw.id,
        "message_id": mail.message_id, "sender": mail.from_addr, "subject": mail.subject, "text": mail.text,
        "html": mail.html, "defects": mail.defects,
    })
    add_rows(session, Attachment, [
        {"message_id": message_id, "filename": a.filename, "content_type": a.content_type, "size": len(a.content),
         "sha256": a.sha256, "content": a.content}
        for a in mail.attachments
    ])
    return message_id


def join(robot: Robot, session: Session, raw: RawMessage, mail: ParsedMail, thread: Thread, *,
         quiet: str | None) -> int | None:
    """Add the reply to its appeal; returns the id of the claimed notice to deliver, if any.

    ``quiet``: why the sender asked for no automatic reply (no notice then).
    """
    assert thread.appeal_id is not None
    now = robot.clock.now()
    appeal_id = thread.appeal_id
    before = session.scalar(select(Appeal.status).where(Appeal.id == appeal_id))
    add_inbound_message(session, raw, mail, appeal_id, raw.received_at)
    raw.status, raw.processed_at, raw.appeal_id = "processed", now, appeal_id
    # Conditional updates, so two replies processed at once by two workers both count.
    reopened = session.scalar(update(Appeal).where(Appeal.id == appeal_id, Appeal.status.in_(REOPENED_FROM))
                              .values(status=REOPENED_TO, unread_replies=Appeal.unread_replies + 1)
                              .returning(Appeal.status))
    if reopened is None:
        session.execute(update(Appeal).where(Appeal.id == appeal_id)
                        .values(unread_replies=Appeal.unread_replies + 1))
    appeal = session.get(Appeal, appeal_id, populate_existing=True)
    assert appeal is not None
    session.add(Event(appeal_id=appeal_id, raw_message_id=raw.id, at=now, actor="robot", action="reply_joined",
                      detail={"via": thread.via, "message_id": mail.message_id, "subject": mail.subject}))
    if reopened is not None:
        session.add(Event(appeal_id=appeal_id, at=now, actor="robot", action="reopened",
                          detail={"from": before, "status": REOPENED_TO, "because": "customer_reply"}))
    if reopened is not None and before == "awaiting_customer":
        reroute(robot, session, appeal, now)
    log.info("raw message %s joined %s (%s)%s", raw.id, appeal.number, thread.via,
             ", reopened" if reopened is not None else "")

    block = quiet or _notice_block(session, robot.settings, appeal, now)
    if block is not None:
        session.add(Event(appeal_id=appeal_id, at=now, actor="robot", action="no_reply", detail={"reason": block}))
        return None
    notice = Decision(appeal.status, "reply_added", appeal.kind, appeal.kind)
    return first_reply(robot, session, appeal, mail, notice, claim=True)


def reroute(robot: Robot, session: Session, appeal: Appeal, now: datetime) -> None:
    """R10: the customer answered the request for missing data; route again on all they wrote.

    What is still missing is listed on the appeal for the routing specialist (the robot does not
    ask twice: a second automatic request is how two robots start a loop). When nothing is missing,
    the rules in force decide the queue, as for a new appeal; the territory found in the reply
    fills the journal's columns.
    """
    written = session.execute(select(Message.text).where(Message.appeal_id == appeal.id, Message.direction == "in")
                              .order_by(Message.id)).scalars().all()
    inputs = (appeal.routing or {}).get("inputs") or {}
    routing = robot.router.route(Facts(
        subject=appeal.subject or "", text="\n\n".join(text or "" for text in written), kind=appeal.kind,
        topic=appeal.topic or "other", scope=appeal.scope or "in", flags=list(appeal.flags), status="registered",
        channel=appeal.channel, sender=appeal.customer_email, account=appeal.account_number,
        received_at=appeal.registered_at, customer_name=appeal.customer_name, form=inputs.get("form")))
    before = {"queue": appeal.queue, "missing": list(appeal.missing_fields or []), "unit": appeal.unit}
    appeal.missing_fields = routing.missing
    territory = routing.territory
    if territory.known:
        appeal.region, appeal.city_district = territory.region, territory.district
        appeal.branch, appeal.unit = territory.branch, territory.unit_name
    if not routing.missing:
        appeal.queue, appeal.assignee = routing.queue, routing.assignee or appeal.assignee
        appeal.routing = routing.as_dict()
    session.add(Event(appeal_id=appeal.id, at=now, actor="robot", action="rerouted",
                      detail={"because": "customer_reply", "before": before, "queue": appeal.queue,
                              "missing": routing.missing, "territory": territory.unit,
                              "rules_version": routing.rules_version,
                              "hits": [hit["rule"] for hit in routing.hits]}))
    log.info("%s: the customer's reply re-routed it to %s%s", appeal.number, appeal.queue,
             f" (still missing: {', '.join(routing.missing)})" if routing.missing else "")


def _notice_block(session: Session, settings: Settings, appeal: Appeal, now: datetime) -> str | None:
    block = auto_reply_block(session, settings, appeal.customer_email, now)
    if block is not None:
        return block
    since = now - timedelta(hours=settings.auto_reply_window_h)
    recent = session.scalar(select(OutboundMail.id).where(
        OutboundMail.appeal_id == appeal.id, OutboundMail.purpose == "reply_added",
        OutboundMail.created_at > since).limit(1))
    return "notice_sent_recently" if recent is not None else None


def flag_unjoined(session: Session, appeal: Appeal, thread: Thread, at: datetime) -> None:
    """Mark a new appeal made of a message that named an appeal it could not join, for a human."""
    appeal.flags = [*appeal.flags, FLAG]
    if appeal.status == "registered":
        appeal.status = "triage"
    session.add(Event(appeal_id=appeal.id, at=at, actor="robot", action="reply_not_joined",
                      detail=thread.as_dict()))
    log.warning("%s: names appeal %r by %s but was not joined (%s)", appeal.number, thread.number, thread.via,
                thread.refused)
