"""Letters a specialist writes to a customer: the answer, and the request for missing data (R10).

Unlike the robot's acknowledgements these are written by a person, so they are not marked
``Auto-Submitted`` (RFC 3834: a human's reply is "no"), and they may carry attachments. They are
threaded to the customer's messages and carry our signed Message-ID, so a reply finds its appeal.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import encoders
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from typing import Any

from robot.app import Robot
from robot.mail.tokens import make_message_id
from robot.storage.models import Appeal

_UTF8_BODY = Charset("utf-8")
_UTF8_BODY.body_encoding = BASE64
_UTF8_HEADER = Charset("utf-8")
_UTF8_HEADER.header_encoding = QP
#: At most this many earlier Message-IDs go into References (RFC 5322 lets us trim the middle).
_MAX_REFERENCES = 10


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    content: bytes


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
    now = robot.clock.now()
    domain = settings.mail_from.rpartition("@")[2] or settings.smtp_hostname
    thread = [m.message_id for m in appeal.messages if m.message_id]
    inbound = [m.message_id for m in appeal.messages if m.direction == "in" and m.message_id]
    context: dict[str, Any] = {"number": appeal.number, "body": body, "author": author,
                               "customer_name": appeal.customer_name, "customer_subject": appeal.subject,
                               "registered_at": appeal.registered_at, "due_at": appeal.due_at}
    env = robot.templates
    subject = _one_line(env.get_template(f"mail/{template}.subject.j2").render(context))
    text = env.get_template(f"mail/{template}.txt.j2").render(context)
    html = env.get_template(f"mail/{template}.html.j2").render(context)

    message_id = make_message_id(robot.signing_key, appeal.id, domain)
    to_addr = _one_line(appeal.customer_email or "")
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText(text, "plain", _UTF8_BODY))
    alternative.attach(MIMEText(html, "html", _UTF8_BODY))
    if attachments:
        msg = MIMEMultipart("mixed")
        msg.attach(alternative)
        for upload in attachments:
            maintype, _, subtype = upload.content_type.partition("/")
            if not maintype or not subtype or maintype in ("text", "multipart", "message"):
                # Sent as opaque bytes: a text attachment must not be re-encoded, nor a part nested.
                maintype, subtype = "application", "octet-stream"
            part = MIMEBase(maintype, subtype)
            part.set_payload(upload.content)
            encoders.encode_base64(part)
            part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", _one_line(upload.filename)))
            msg.attach(part)
    else:
        msg = alternative
    msg["From"] = formataddr((_one_line(settings.mail_from_name), settings.mail_from), charset="utf-8")
    msg["To"] = formataddr((_one_line(appeal.customer_name or ""), to_addr), charset="utf-8")
    msg["Subject"] = Header(subject, _UTF8_HEADER) if not subject.isascii() else subject
    msg["Date"] = format_datetime(now.astimezone(settings.tz))
    msg["Message-ID"] = message_id
    if inbound:
        msg["In-Reply-To"] = _one_line(inbound[-1])
    if thread:
        msg["References"] = _one_line(" ".join(dict.fromkeys([*thread[:1], *thread[1:][-(_MAX_REFERENCES - 1):]])))
    raw = msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return Letter(raw=raw, message_id=message_id, subject=subject, text=text, to_addr=to_addr)


def _one_line(value: str) -> str:
    return " ".join(value.split())
