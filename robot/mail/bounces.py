"""Bounces of our own mail: read a delivery status notification, remember addresses that bounce.

A DSN (RFC 3464) is a ``multipart/report`` whose ``message/delivery-status`` part holds one field
block per recipient (``Final-Recipient``, ``Action``, ``Status``, ``Diagnostic-Code``), followed by
the returned message or its headers. We find which of our mails it is about by the signed
Message-ID quoted there; failing that (a report that returns nothing), by the recipient it names.
Bounces that are not DSNs (old qmail, some Exchange servers) are plain text from the
mailer-daemon that quotes our mail: recognised by our Message-ID in the text, and taken as
permanent, as their senders mean them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from robot.mail.loops import normalise_address
from robot.mail.tokens import find_message_ids
from robot.storage.models import BouncingAddress

_DAEMON = re.compile(r"(^|[<\s\"])(mailer-daemon|postmaster)@", re.IGNORECASE)


@dataclass(frozen=True)
class Recipient:
    address: str
    action: str  # failed | delayed | delivered | relayed | expanded
    status: str | None  # the enhanced status code, e.g. 5.1.1
    diagnostic: str | None


@dataclass
class Bounce:
    """What a bounce says about our mail."""

    #: Our Message-IDs the bounce quotes (unverified here; the caller checks the signature).
    message_ids: list[str] = field(default_factory=list)
    recipients: list[Recipient] = field(default_factory=list)
    #: False for a report that is not a DSN: its meaning is guessed, not read.
    structured: bool = True

    @property
    def failed(self) -> list[Recipient]:
        """The recipients our mail will never reach (a delay or a success report names none)."""
        return [r for r in self.recipients if r.action == "failed"]


def read_bounce(raw: bytes, own_domain: str) -> Bounce | None:
    """The bounce ``raw`` is, when it is one about mail of ``own_domain``; None otherwise."""
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    # Our ids in the body only: an out-of-office reply names our mail in In-Reply-To, a bounce
    # quotes it in the body.
    end = re.search(rb"\r?\n\r?\n", raw)
    body = raw[end.end():] if end else b""
    message_ids = find_message_ids(body.decode("utf-8", "replace"), own_domain)
    if msg.get_content_type() == "multipart/report":
        recipients = [r for part in msg.walk() if part.get_content_type() == "message/delivery-status"
                      for r in _recipients(part)]
        if recipients or message_ids:
            return Bounce(message_ids, recipients)
        return None
    sender = str(msg.get("From", ""))
    if message_ids and _DAEMON.search(sender):
        # Not a DSN: the whole mail stands for one failed delivery of the mail it quotes.
        return Bounce(message_ids, [], structured=False)
    return None


def _recipients(part: Message) -> list[Recipient]:
    """The per-recipient field blocks of a ``message/delivery-status`` part."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the parser split the blocks into messages of headers
        blocks = [{k.lower(): str(v) for k, v in block.items()} for block in payload]
    else:
        blocks = [_fields(chunk) for chunk in re.split(r"\r?\n\s*\r?\n", str(payload))]
    found = []
    for fields in blocks:
        recipient = fields.get("final-recipient") or fields.get("original-recipient")
        action = fields.get("action", "").strip().lower()
        if not recipient or not action:
            continue  # the per-message block, or a broken one
        address = normalise_address(recipient.partition(";")[2] or recipient)
        if address is None:
            continue
        status = fields.get("status", "").strip() or None
        diagnostic = " ".join(fields.get("diagnostic-code", "").split()) or None
        found.append(Recipient(address, action, status[:32] if status else None,
                               diagnostic[:1000] if diagnostic else None))
    return found


def _fields(chunk: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    name = None
    for line in chunk.splitlines():
        if line[:1] in (" ", "\t") and name:
            fields[name] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            fields[name] = value.strip()
    return fields


def mark_bouncing(session: Session, address: str, at: datetime, *, outbound_id: int | None,
                  status: str | None, diagnostic: str | None) -> BouncingAddress:
    """Remember that mail to ``address`` bounced (see ``loops.auto_reply_block``)."""
    row = session.get(BouncingAddress, address)
    if row is None:
        try:
            # A savepoint: another worker may be marking the same address right now.
            with session.begin_nested():
                row = BouncingAddress(address=address, first_bounce_at=at, last_bounce_at=at, bounces=1)
                session.add(row)
        except IntegrityError:
            row = session.get(BouncingAddress, address, populate_existing=True)
            assert row is not None
            row.bounces += 1
    else:
        row.bounces += 1
    row.last_bounce_at = max(row.last_bounce_at, at)
    row.last_outbound_id, row.last_status, row.last_diagnostic = outbound_id, status, diagnostic
    return row
