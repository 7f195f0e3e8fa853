"""Compose the robot's outgoing mail from templates: text and HTML parts, threading, loop guards.

Built with the stdlib's classic MIME classes (``compat32``): the modern policy refolds every
header through its parser when serialising, which cost more than everything else the robot does
for a message. Values that came from outside are stripped of line breaks before they reach a
header (RELIABILITY §6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import encoders
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from typing import Any

from jinja2 import Environment

_UTF8_BODY = Charset("utf-8")
_UTF8_BODY.body_encoding = BASE64
_UTF8_HEADER = Charset("utf-8")
_UTF8_HEADER.header_encoding = QP


@dataclass(frozen=True)
class Envelope:
    mail_from: str
    from_name: str
    to_addr: str
    to_name: str | None
    message_id: str
    date: datetime
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class Upload:
    """A file attached to outgoing mail."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Composed:
    raw: bytes
    subject: str
    text: str


def compose(env: Environment, template: str, envelope: Envelope, context: dict[str, Any], *,
            folder: str = "mail", auto_submitted: str | None = "auto-replied",
            attachments: Sequence[Upload] = ()) -> Composed:
    """Render ``{folder}/{template}.subject|txt|html.j2`` into a multipart/alternative message.

    ``folder``: ``mail`` for customers, ``staff`` for staff notifications. ``auto_submitted``:
    RFC 3834's value — ``auto-generated`` for mail that answers nothing (a reminder, a notice);
    None for a letter a person wrote (a specialist's answer). ``attachments`` make it
    multipart/mixed.
    """
    subject = _one_line(env.get_template(f"{folder}/{template}.subject.j2").render(context))
    text = env.get_template(f"{folder}/{template}.txt.j2").render(context)
    html = env.get_template(f"{folder}/{template}.html.j2").render(context)

    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText(text, "plain", _UTF8_BODY))
    alternative.attach(MIMEText(html, "html", _UTF8_BODY))
    msg = _with_attachments(alternative, attachments) if attachments else alternative
    msg["From"] = formataddr((_one_line(envelope.from_name), envelope.mail_from), charset="utf-8")
    msg["To"] = formataddr((_one_line(envelope.to_name or ""), _one_line(envelope.to_addr)), charset="utf-8")
    msg["Subject"] = Header(subject, _UTF8_HEADER) if not subject.isascii() else subject
    msg["Date"] = format_datetime(envelope.date)
    msg["Message-ID"] = envelope.message_id
    if envelope.in_reply_to:
        msg["In-Reply-To"] = _one_line(envelope.in_reply_to)
    references = [*envelope.references, *([envelope.in_reply_to] if envelope.in_reply_to else [])]
    if references:
        msg["References"] = _one_line(" ".join(dict.fromkeys(references)))
    if auto_submitted is not None:
        # RFC 3834: mark every automatic message so that well-behaved responders do not answer it.
        msg["Auto-Submitted"] = auto_submitted
        msg["X-Auto-Response-Suppress"] = "All"
    raw = msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return Composed(raw=raw, subject=subject, text=text)


def _with_attachments(body: MIMEMultipart, attachments: Sequence[Upload]) -> MIMEMultipart:
    msg = MIMEMultipart("mixed")
    msg.attach(body)
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
    return msg


def _one_line(value: str) -> str:
    return " ".join(value.split())
