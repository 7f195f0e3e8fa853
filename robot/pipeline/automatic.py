"""Mail a machine wrote: kept, never answered, and put on the appeal it is about.

No automatic mail becomes an appeal of its own: nobody wrote to the company, and a registered
out-of-office reply would only earn a deadline nobody can meet. What it says is not lost:

- a bounce of our mail (a DSN, or a mailer-daemon's text quoting our signed Message-ID) marks the
  outbound mail bounced, is recorded on its appeal, and marks the customer's address as bouncing,
  so the robot sends it no more automatic mail for a while (``loops.auto_reply_block``); a delay
  report is only recorded;
- an automatic reply to our mail (an out-of-office reply of the customer, another company's robot)
  is recorded on the appeal our signed Message-ID names — shown in its history, not as an unread
  reply, and it neither reopens the appeal nor gets a notice;
- the rest (newsletters, list mail, notifications) stays in the raw store with its reason.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from robot.app import Robot
from robot.mail.bounces import Bounce, Recipient, mark_bouncing, read_bounce
from robot.mail.parse import ParsedMail
from robot.mail.tokens import verify_message_id
from robot.pipeline.thread import own_domain, referenced_ids
from robot.storage.models import Appeal, Event, OutboundMail, RawMessage

log = logging.getLogger("robot.pipeline.automatic")

#: A report without our Message-ID is matched to mail we sent its recipient this recently:
#: MTAs give up on a message after 5 days (Postfix, Exim), so its bounce comes within that.
BOUNCE_WINDOW = timedelta(days=6)


def record_automatic(robot: Robot, session: Session, raw: RawMessage, mail: ParsedMail, reason: str) -> None:
    now = robot.clock.now()
    raw.status, raw.error, raw.processed_at = "automatic", reason, now
    bounce = read_bounce(raw.raw, own_domain(robot.settings))
    appeal_id = _record_bounce(robot, session, raw, bounce) if bounce is not None else None
    if appeal_id is None and bounce is None:
        appeal_id = _record_reply(robot, session, raw, mail, reason)
    raw.appeal_id = appeal_id
    session.add(Event(raw_message_id=raw.id, appeal_id=appeal_id, at=now, actor="robot", action="automatic",
                      detail={"reason": reason}))
    log.info("raw message %s is automatic (%s); not registered%s", raw.id, reason,
             f", recorded on appeal {appeal_id}" if appeal_id else "")


def _record_bounce(robot: Robot, session: Session, raw: RawMessage, bounce: Bounce) -> int | None:
    """Record the bounce on the mail it returns; the appeal it was about, if found."""
    now = robot.clock.now()
    outbound = _bounced_mail(robot, session, bounce)
    if outbound is None:
        log.info("raw message %s reports on mail we cannot find; kept as automatic", raw.id)
        return None
    failed = [r for r in bounce.failed if r.address == outbound.rcpt_to] or bounce.failed
    permanent = bool(failed) or not bounce.structured
    detail = {"outbound_id": outbound.id, "to": outbound.rcpt_to, "purpose": outbound.purpose,
              "recipients": [_describe(r) for r in bounce.recipients], "structured": bounce.structured}
    if not permanent:
        # A delay or a success report: nothing to change, but the specialist may want to know.
        session.add(Event(appeal_id=outbound.appeal_id, raw_message_id=raw.id, at=now, actor="robot",
                          action="delivery_reported", detail=detail))
        return outbound.appeal_id
    if outbound.status == "sent":
        outbound.status = "bounced"
    first = failed[0] if failed else None
    outbound.last_error = ((first.diagnostic or first.status) if first else "bounced")[:1000]
    mark_bouncing(session, outbound.rcpt_to, now, outbound_id=outbound.id,
                  status=first.status if first else None, diagnostic=first.diagnostic if first else None)
    session.add(Event(appeal_id=outbound.appeal_id, raw_message_id=raw.id, at=now, actor="robot",
                      action="mail_bounced", detail=detail))
    log.warning("outbound %s (%s) bounced; address marked as bouncing", outbound.id, outbound.purpose)
    return outbound.appeal_id


def _bounced_mail(robot: Robot, session: Session, bounce: Bounce) -> OutboundMail | None:
    for message_id in bounce.message_ids:
        # Only a signed id counts: a forged report must not mark a customer's address.
        if verify_message_id(robot.signing_key, message_id) is None:
            continue
        found = session.scalar(select(OutboundMail).where(OutboundMail.message_id == message_id))
        if found is not None:
            return found
    if bounce.message_ids:
        return None
    since = robot.clock.now() - BOUNCE_WINDOW
    for recipient in bounce.failed:
        found = session.scalar(select(OutboundMail).where(
            OutboundMail.rcpt_to == recipient.address, OutboundMail.status == "sent",
            OutboundMail.created_at > since).order_by(OutboundMail.id.desc()).limit(1))
        if found is not None:
            return found
    return None


def _record_reply(robot: Robot, session: Session, raw: RawMessage, mail: ParsedMail, reason: str) -> int | None:
    """An automatic reply to our mail: recorded on the appeal it answers."""
    for message_id in referenced_ids(mail):
        appeal_id = verify_message_id(robot.signing_key, message_id)
        if appeal_id is None or session.get(Appeal, appeal_id) is None:
            continue
        session.add(Event(appeal_id=appeal_id, raw_message_id=raw.id, at=robot.clock.now(), actor="robot",
                          action="automatic_reply",
                          detail={"reason": reason, "from": mail.from_addr, "subject": mail.subject[:300],
                                  "text": mail.text[:1000]}))
        return appeal_id
    return None


def _describe(recipient: Recipient) -> dict[str, str | None]:
    return {"address": recipient.address, "action": recipient.action, "status": recipient.status,
            "diagnostic": recipient.diagnostic}
