"""A customer's reply to campaign mail is a positive result (R23): they got the message.

Campaign mail carries our signed Message-ID of appeal 0 (``robot.mail.tokens``: it belongs to no
appeal), stored on its OutboundMail; a reply names it in In-Reply-To or References. The reply
counts only when it comes from the address the campaign wrote to, and not from a machine (an
out-of-office reply is no proof the customer read anything).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from robot.informer.campaigns import mark_positive
from robot.mail.loops import normalise_address
from robot.mail.parse import ParsedMail
from robot.storage.models import CampaignAttempt, CampaignRecipient, Event, OutboundMail

_AUTOMATIC = ("auto-submitted", "list-id", "x-autoreply", "x-autorespond", "x-autoresponse")


def _referenced(mail: ParsedMail) -> list[str]:
    return list(dict.fromkeys([*([mail.in_reply_to] if mail.in_reply_to else []), *reversed(mail.references)]))


def match_reply(session: Session, mail: ParsedMail, now: datetime) -> bool:
    """Whether ``mail`` answers campaign mail; if so, its recipient's result becomes positive.

    For the pipeline to call on every inbound mail (in its transaction). True means: the mail
    was a reply to a campaign message from its recipient — the pipeline may still register it as
    an appeal when it asks something, but it names no appeal of ours to join.
    """
    ids = [i.strip() for i in _referenced(mail) if i and i.strip()]
    if not ids:
        return False
    auto = mail.headers.get("auto-submitted", "").strip().lower()
    if (auto and auto.split(";")[0].strip() != "no") or any(h in mail.headers for h in _AUTOMATIC[1:]):
        return False
    sender = normalise_address(mail.from_addr)
    rows = session.execute(
        select(CampaignAttempt, OutboundMail.rcpt_to).join(OutboundMail, OutboundMail.id == CampaignAttempt.outbound_id)
        .where(OutboundMail.message_id.in_(ids[:20]), OutboundMail.purpose == "campaign")).all()
    for attempt, address in rows:
        if sender is None or normalise_address(address) != sender:
            continue
        recipient = session.get(CampaignRecipient, attempt.recipient_id)
        assert recipient is not None
        if mark_positive(session, recipient, "replied", now):
            session.add(Event(at=now, actor="customer", action="campaign_replied",
                              detail={"campaign_id": attempt.campaign_id, "recipient_id": recipient.id,
                                      "message_id": mail.message_id}))
        return True
    return False
