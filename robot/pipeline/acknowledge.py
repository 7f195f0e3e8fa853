"""The robot's first reply to an appeal: the acknowledgement (R6), the R7 notice or the R9 reply.

Each carries the registration number, is threaded to the customer's message (In-Reply-To and
References) and is marked as automatic.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from robot.app import Robot
from robot.mail.compose import Envelope, compose
from robot.mail.deliver import LEASE
from robot.mail.parse import ParsedMail
from robot.mail.tokens import make_message_id
from robot.pipeline.decide import Decision
from robot.storage.models import Appeal, Event, Message, OutboundMail
from robot.storage.rows import add_row, add_rows


def first_reply(robot: Robot, session: Session, appeal: Appeal, mail: ParsedMail, decision: Decision, *,
                claim: bool = False) -> int:
    """Render the reply ``decision`` asks for and store it as mail due for delivery now; returns its id.

    With ``claim`` the mail is stored already claimed by the caller, who delivers it right after
    the commit (saving a transaction); should the caller die, the claim's lease runs out and the
    reconciler hands the mail to another worker.
    """
    assert decision.reply is not None
    settings = robot.settings
    now = robot.clock.now()
    domain = settings.mail_from.rpartition("@")[2] or settings.smtp_hostname
    envelope = Envelope(
        mail_from=settings.mail_from,
        from_name=settings.mail_from_name,
        to_addr=appeal.customer_email or "",
        to_name=appeal.customer_name,
        message_id=make_message_id(robot.signing_key, appeal.id, domain),
        date=now.astimezone(settings.tz),
        in_reply_to=mail.message_id,
        references=tuple(mail.references),
    )
    context = {
        "number": appeal.number,
        "kind": decision.shown_kind,
        "due_at": appeal.due_at,
        "reason": decision.reason,
        "repeat_of": decision.repeat_of,
        "customer_name": appeal.customer_name,
        "customer_subject": appeal.subject,
        "missing": list(appeal.missing_fields or []),  # what ask_missing asks for (R10)
    }
    composed = compose(robot.templates, decision.reply, envelope, context)
    outbound_id = add_row(session, OutboundMail, {
        "appeal_id": appeal.id, "purpose": decision.reply, "created_at": now, "message_id": envelope.message_id,
        "mail_from": settings.mail_from, "rcpt_to": envelope.to_addr, "raw": composed.raw,
        "attempts": 1 if claim else 0, "next_attempt_at": now + LEASE if claim else now,
    })
    add_row(session, Message, {
        "appeal_id": appeal.id, "direction": "out", "created_at": now, "outbound_id": outbound_id,
        "message_id": envelope.message_id, "sender": settings.mail_from, "subject": composed.subject,
        "text": composed.text,
    })
    add_rows(session, Event, [{"appeal_id": appeal.id, "at": now, "actor": "robot", "action": f"{decision.reply}_queued",
                               "detail": {"outbound_id": outbound_id, "to": envelope.to_addr}}])
    return outbound_id
