"""No mail loops: which mail a machine wrote, and when the robot may answer automatically.

RFC 3834 asks an automatic responder not to answer automatic mail, not to answer the same sender
too often, and to mark its own replies (``compose`` adds ``Auto-Submitted: auto-replied``). Two
questions are kept apart here, because their answers lead to different things (RELIABILITY §4):

- :func:`automatic_reason`: did a machine write this? Out-of-office replies, bounces, mailing-list
  traffic, our own mail coming back. Such mail is stored and linked to its appeal where it names
  one, but it is not a customer's appeal and is never answered.
- :func:`quiet_reason` and :func:`auto_reply_block`: a person may have written it, so it is
  registered, but no automatic reply goes out — the sender asked for none
  (``X-Auto-Response-Suppress``, which Exchange puts on mail a person sends from some setups; it is
  a request, not a sign of a robot), the address bounces, or the sender has had their share of
  automatic replies in the window (counted from the database, so every worker sees the same count).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from robot.config import Settings
from robot.mail.parse import ParsedMail
from robot.mail.tokens import looks_like_ours
from robot.storage.models import BouncingAddress, OutboundMail

_ROBOT_LOCALPARTS = re.compile(
    r"^(mailer[-_]?daemon|postmaster|no[-_.]?reply|do[-_.]?not[-_.]?reply|bounces?)([+\-._].*)?$", re.IGNORECASE)
#: Headers that only automatic responders and list managers set (their mere presence counts).
_AUTOMATIC_HEADERS = ("list-id", "list-unsubscribe", "x-autoreply", "x-autorespond", "x-autoresponse")


def normalise_address(address: str | None) -> str | None:
    """An address as the robot compares and stores it: trimmed, without angle brackets, lower case.

    Lower case for the local part too: RFC 5321 lets it be case-sensitive, but no mail system our
    customers use treats it so, and a customer must not become a stranger by typing a capital.
    """
    if not address:
        return None
    value = address.strip().strip("<>").strip().lower()
    return value if "@" in value else None


def automatic_reason(mail: ParsedMail, envelope_from: str | None, *, own_address: str | None = None,
                     own_domain: str | None = None) -> str | None:
    """Why ``mail`` was written by a machine, or None when a person may have written it."""
    headers = mail.headers
    auto = headers.get("auto-submitted", "").strip().lower()
    # RFC 3834 §5: any value but "no" (parameters such as "auto-replied; owner-email=…" included).
    keyword = auto.split(";")[0].strip()
    if keyword and keyword != "no":
        return f"Auto-Submitted: {keyword[:40]}"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in _AUTOMATIC_HEADERS:
        if name in headers:
            return f"{name} header"
    if headers.get("content-type", "").strip().lower().startswith("multipart/report"):
        # Delivery status notifications and read receipts (RFC 6522).
        return "delivery status notification"
    if envelope_from is not None and envelope_from.strip() in ("", "<>"):
        return "empty return path"
    if headers.get("return-path", "").replace(" ", "") == "<>":
        return "empty return path"
    for sender in (mail.from_addr, normalise_address(envelope_from)):
        if sender and _ROBOT_LOCALPARTS.match(sender.partition("@")[0]):
            return f"robot sender {sender}"
    if mail.message_id and own_domain and looks_like_ours(mail.message_id, own_domain):
        return "our own Message-ID"
    if own_address and mail.from_addr == normalise_address(own_address):
        return "our own address"
    return None


def quiet_reason(mail: ParsedMail) -> str | None:
    """Why the sender of a mail a person may have written asked for no automatic reply, or None."""
    if "x-auto-response-suppress" in mail.headers:
        value = mail.headers["x-auto-response-suppress"].strip()
        return f"X-Auto-Response-Suppress: {value[:60]}"
    return None


def auto_reply_block(session: Session, settings: Settings, address: str | None, now: datetime) -> str | None:
    """Why the robot must not send automatic mail to ``address`` now, or None when it may.

    Call it inside the transaction that stores the reply, so that replies stored earlier in the
    same transaction count too.
    """
    address = normalise_address(address)
    if address is None:
        return "no_reply_address"
    # Mail added earlier in this transaction and not yet flushed must count; anything else it
    # added (an appeal being registered, its events) is neither a bounce nor sent mail, and
    # flushing it here would cost a flush of its own.
    if any(isinstance(pending, (OutboundMail, BouncingAddress)) for pending in session.new):
        session.flush()
    with session.no_autoflush:
        bouncing = session.get(BouncingAddress, address)
        if bouncing is not None and bouncing.last_bounce_at > now - timedelta(days=settings.bounce_hold_days):
            return "address_bouncing"
        since = now - timedelta(hours=settings.auto_reply_window_h)
        sent = session.scalar(select(func.count()).select_from(OutboundMail)
                              .where(OutboundMail.rcpt_to == address, OutboundMail.created_at > since))
    if sent is not None and sent >= settings.auto_reply_limit:
        return "auto_reply_limit"
    return None
