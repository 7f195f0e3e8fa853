"""Compose the robot's outgoing mail from templates: text and HTML parts, threading, loop guards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from jinja2 import Environment


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


def compose(env: Environment, template: str, envelope: Envelope, context: dict[str, Any]) -> EmailMessage:
    """Render ``mail/{template}.subject|txt|html.j2`` into a multipart/alternative message."""
    subject = env.get_template(f"mail/{template}.subject.j2").render(context)
    text = env.get_template(f"mail/{template}.txt.j2").render(context)
    html = env.get_template(f"mail/{template}.html.j2").render(context)

    msg = EmailMessage()
    msg["From"] = Address(envelope.from_name, addr_spec=envelope.mail_from)
    msg["To"] = _address(envelope.to_name, envelope.to_addr)
    # Subjects come partly from the customer; the header registry refuses CR/LF, and we strip them
    # before that so a hostile subject cannot even make composing fail.
    msg["Subject"] = " ".join(subject.split())
    msg["Date"] = format_datetime(envelope.date)
    msg["Message-ID"] = envelope.message_id
    if envelope.in_reply_to:
        msg["In-Reply-To"] = envelope.in_reply_to
    references = [*envelope.references, *([envelope.in_reply_to] if envelope.in_reply_to else [])]
    if references:
        msg["References"] = " ".join(dict.fromkeys(references))
    # RFC 3834: mark every automatic message so that well-behaved responders do not answer it.
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def _address(name: str | None, addr: str) -> Address | str:
    clean = " ".join((name or "").split())
    try:
        return Address(clean, addr_spec=addr)
    except (ValueError, IndexError):
        # An address the header registry cannot hold as a mailbox: send to the bare address.
        return addr
