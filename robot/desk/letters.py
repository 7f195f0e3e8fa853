"""Letters a specialist writes to a customer: the answer, and the request for missing data (R10).

Unlike the robot's acknowledgements these are written by a person, so they are not marked
``Auto-Submitted`` (RFC 3834: a human's reply is "no"), and they may carry attachments. They are
threaded to the customer's messages and carry our signed Message-ID, so a reply finds its appeal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from robot.app import Robot
from robot.mail.compose import Envelope, Upload, compose
from robot.mail.tokens import make_message_id
from robot.storage.models import Appeal

__all__ = ["Letter", "Upload", "write_letter"]

#: At most this many earlier Message-IDs go into References (RFC 5322 lets us trim the middle).
_MAX_REFERENCES = 10


@dataclass(frozen=True)
class Letter:
    raw: bytes
    message_id: str
    subject: str
    text: str
    to_addr: str


def write_letter(robot: Robot, appeal: Appeal, template: str, body: str, *, author: str,
                 attachments: list[Upload] | None = None) -> Letter:
    """Render ``mail/{template}.subject|txt|html.j2`` around ``body``, threaded to the appeal."""
    settings = robot.settings
    domain = settings.mail_from.rpartition("@")[2] or settings.smtp_hostname
    thread = [m.message_id for m in appeal.messages if m.message_id]
    inbound = [m.message_id for m in appeal.messages if m.direction == "in" and m.message_id]
    context: dict[str, Any] = {"number": appeal.number, "body": body, "author": author,
                               "customer_name": appeal.customer_name, "customer_subject": appeal.subject,
                               "registered_at": appeal.registered_at, "due_at": appeal.due_at}
    envelope = Envelope(
        mail_from=settings.mail_from, from_name=settings.mail_from_name,
        to_addr=appeal.customer_email or "", to_name=appeal.customer_name,
        message_id=make_message_id(robot.signing_key, appeal.id, domain),
        date=robot.clock.now().astimezone(settings.tz),
        in_reply_to=inbound[-1] if inbound else None,
        references=tuple(dict.fromkeys([*thread[:1], *thread[1:][-(_MAX_REFERENCES - 1):]])),
    )
    # A person wrote it: not Auto-Submitted (RFC 3834: a human's reply is "no").
    composed = compose(robot.templates, template, envelope, context, auto_submitted=None,
                       attachments=attachments or ())
    return Letter(raw=composed.raw, message_id=envelope.message_id, subject=composed.subject,
                  text=composed.text, to_addr=" ".join(envelope.to_addr.split()))
