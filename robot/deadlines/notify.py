"""The mail deadlines send: staff notifications (Russian templates in templates/staff/, sent in
working hours only) and notices to the customer (templates/mail/), each an ``OutboundMail`` row.

Staff are named by login (routing_rules.yaml: queue members and supervisor; the appeal's
assignee); the address comes from the ``users`` table, or is the login itself when it is an
address. A login without an address is recorded as an event — the desk still shows the appeal.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from robot.app import Robot
from robot.deadlines.calendar import WorkCalendar
from robot.mail.compose import Envelope, compose
from robot.mail.deliver import LEASE
from robot.mail.loops import auto_reply_block
from robot.mail.tokens import make_message_id
from robot.storage.models import Appeal, Event, Message, OutboundMail, User


@dataclass(frozen=True)
class Recipient:
    login: str
    name: str
    address: str | None


def resolve(session: Session, logins: list[str]) -> list[Recipient]:
    """Staff logins → recipients, in order, each once; an inactive or unknown login has no address."""
    wanted = list(dict.fromkeys(login for login in logins if login))
    users = {user.login: user for user in session.scalars(select(User).where(User.login.in_(wanted)))}
    found = []
    for login in wanted:
        if "@" in login:
            found.append(Recipient(login, "", login))
            continue
        user = users.get(login)
        address = user.email if user is not None and user.active and user.email else None
        found.append(Recipient(login, user.name if user is not None else "", address))
    return found


def queue_members(session: Session, queue: str | None, configured: list[str]) -> list[str]:
    """The queue's members: those routing_rules.yaml names, and the active users who work in it."""
    logins = list(configured)
    if queue:
        for user in session.scalars(select(User).where(User.active.is_(True)).order_by(User.login)):
            if queue in (user.queues or []):
                logins.append(user.login)
    return list(dict.fromkeys(logins))


def _domain(robot: Robot) -> str:
    settings = robot.settings
    return settings.mail_from.rpartition("@")[2] or settings.smtp_hostname


def staff_mail(robot: Robot, session: Session, appeal: Appeal, recipient: Recipient, *, template: str,
               context: dict[str, Any], calendar: WorkCalendar, now: datetime) -> tuple[OutboundMail, bool]:
    """Store a staff notification; returns it and whether it is claimed for sending now.

    Sent now in working hours; otherwise it waits for the start of the next working day (R16:
    nothing at night, on Sundays or on holidays). Its Message-ID carries no appeal token: staff
    mail is not part of the customer's thread.
    """
    assert recipient.address is not None
    settings = robot.settings
    send_at = calendar.working_moment(now)
    envelope = Envelope(mail_from=settings.mail_from, from_name=settings.mail_from_name,
                        to_addr=recipient.address, to_name=recipient.name or None,
                        message_id=f"<staff.{appeal.id}.{secrets.token_hex(8)}@{_domain(robot)}>",
                        date=now.astimezone(settings.tz))
    composed = compose(robot.templates, template, envelope, context | {"recipient": recipient},
                       folder="staff", auto_submitted="auto-generated")
    claimed = send_at <= now
    outbound = OutboundMail(appeal_id=appeal.id, purpose=template, created_at=now, message_id=envelope.message_id,
                            mail_from=settings.mail_from, rcpt_to=recipient.address, raw=composed.raw,
                            attempts=1 if claimed else 0, next_attempt_at=now + LEASE if claimed else send_at)
    session.add(outbound)
    session.flush()
    session.add(Event(appeal_id=appeal.id, at=now, actor="robot", action=f"{template}_queued",
                      detail={"outbound_id": outbound.id, "to": recipient.login, "address": recipient.address,
                              "send_at": send_at.isoformat()}))
    return outbound, claimed


def customer_mail(robot: Robot, session: Session, appeal: Appeal, *, template: str, context: dict[str, Any],
                  now: datetime, claim: bool) -> OutboundMail | None:
    """Store a notice to the customer, threaded to their message; None (with an event saying why)
    when there is nobody to write to or the loop guards forbid automatic mail to them now."""
    block = auto_reply_block(session, robot.settings, appeal.customer_email, now)
    if block is not None:
        session.add(Event(appeal_id=appeal.id, at=now, actor="robot", action="no_reply",
                          detail={"reason": block, "notice": template}))
        return None
    assert appeal.customer_email is not None
    settings = robot.settings
    thread = session.scalars(select(Message.message_id).where(Message.appeal_id == appeal.id,
                                                                Message.message_id.is_not(None))
                             .order_by(Message.id)).all()
    inbound = session.scalar(select(Message.message_id).where(Message.appeal_id == appeal.id,
                                                               Message.direction == "in",
                                                               Message.message_id.is_not(None))
                             .order_by(Message.id.desc()).limit(1))
    envelope = Envelope(mail_from=settings.mail_from, from_name=settings.mail_from_name,
                        to_addr=appeal.customer_email, to_name=appeal.customer_name,
                        message_id=make_message_id(robot.signing_key, appeal.id, _domain(robot)),
                        date=now.astimezone(settings.tz), in_reply_to=inbound,
                        references=tuple(m for m in thread[-10:] if m != inbound))
    base = {"number": appeal.number, "kind": appeal.kind, "due_at": appeal.due_at,
            "customer_name": appeal.customer_name, "customer_subject": appeal.subject}
    composed = compose(robot.templates, template, envelope, base | context, auto_submitted="auto-generated")
    outbound = OutboundMail(appeal_id=appeal.id, purpose=template, created_at=now, message_id=envelope.message_id,
                            mail_from=settings.mail_from, rcpt_to=envelope.to_addr, raw=composed.raw,
                            attempts=1 if claim else 0, next_attempt_at=now + LEASE if claim else now)
    session.add(outbound)
    session.flush()
    session.add(Message(appeal_id=appeal.id, direction="out", created_at=now, outbound_id=outbound.id,
                        message_id=envelope.message_id, sender=settings.mail_from, subject=composed.subject,
                        text=composed.text))
    session.add(Event(appeal_id=appeal.id, at=now, actor="robot", action=f"{template}_queued",
                      detail={"outbound_id": outbound.id, "to": envelope.to_addr}))
    return outbound
