"""The confirmation link of campaign mail: a signed token per recipient, one click to confirm.

The link opens a page with one button; the POST of that button confirms. A GET never confirms by
itself: mail scanners and link previews (Outlook Safe Links, antivirus gateways) fetch every link
in a message, and would otherwise confirm for a customer who never read it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime

from sqlalchemy.orm import Session

from robot.app import Robot
from robot.informer.campaigns import mark_positive
from robot.storage.models import Campaign, CampaignRecipient, Event

_TOKEN = re.compile(r"^(\d{1,12})\.([0-9a-f]{24})$")


def _sign(key: bytes, recipient_id: int) -> str:
    return hmac.new(key, f"informer.confirm.{recipient_id}".encode(), hashlib.sha256).hexdigest()[:24]


def make_token(key: bytes, recipient_id: int) -> str:
    return f"{recipient_id}.{_sign(key, recipient_id)}"


def read_token(key: bytes, token: str) -> int | None:
    """The recipient a token names, or None when it is malformed or forged."""
    match = _TOKEN.match(token or "")
    if not match:
        return None
    recipient_id = int(match.group(1))
    return recipient_id if hmac.compare_digest(match.group(2), _sign(key, recipient_id)) else None


def confirm_url(robot: Robot, recipient_id: int) -> str:
    return f"{robot.settings.informer_link_base.rstrip('/')}/informer/confirm/{make_token(robot.signing_key, recipient_id)}"


def lookup(session: Session, key: bytes, token: str) -> tuple[CampaignRecipient, Campaign] | None:
    recipient_id = read_token(key, token)
    recipient = session.get(CampaignRecipient, recipient_id) if recipient_id is not None else None
    if recipient is None:
        return None
    campaign = session.get(Campaign, recipient.campaign_id)
    assert campaign is not None
    return recipient, campaign


def confirm(session: Session, key: bytes, token: str, now: datetime, *, ip: str | None = None) -> Campaign | None:
    """Record the customer's confirmation; the campaign, or None for a bad token. A second click is
    harmless (the first one's moment stays)."""
    found = lookup(session, key, token)
    if found is None:
        return None
    recipient, campaign = found
    if mark_positive(session, recipient, "confirmed", now):
        session.add(Event(at=now, actor="customer", action="campaign_confirmed",
                          detail={"campaign_id": campaign.id, "recipient_id": recipient.id, "ip": ip}))
    return campaign
