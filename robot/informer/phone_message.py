"""What a call says to one recipient: the scenario spoken with their variables, as a WAV.

The approval check (R23: at most a minute) renders the text of every pending recipient — cheap,
it is only Jinja — and synthesises the longest one: the same voice and speed make a longer text
a longer sound, so if it fits, all fit. The dialler renders each call's own file just before the
call and checks it again, so a message that changed is never played unchecked.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from robot.informer.sound import Sound, check_phone_message, synthesise
from robot.informer.speech import make_speech_sandbox
from robot.storage.models import Campaign, CampaignRecipient, Customer


def context(campaign: Campaign, customer: Customer, variables: dict[str, Any] | None) -> dict[str, Any]:
    """The names a phone scenario may use, as the e-mail planner gives them (robot/informer/planner.py)."""
    common: dict[str, Any] = dict(campaign.variables or {})
    if campaign.outage_starts_at:
        common.update(outage_start=campaign.outage_starts_at, outage_end=campaign.outage_ends_at)
    return {**common, "name": customer.name, "account_number": customer.account_number,
            "address": customer.address or "", "unit": customer.unit or "", **(variables or {})}


def speech_text(campaign: Campaign, customer: Customer, variables: dict[str, Any] | None, tz: ZoneInfo) -> str:
    """The recipient's message as one line of words for the synthesiser."""
    text = make_speech_sandbox(tz).from_string(campaign.body).render(context(campaign, customer, variables))
    return " ".join(text.split())


def render(campaign: Campaign, customer: Customer, variables: dict[str, Any] | None, tz: ZoneInfo,
           output: Path) -> Sound:
    """Speak the recipient's message into ``output`` and check it (CampaignError when refused)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    synthesise(speech_text(campaign, customer, variables, tz), output)
    return check_phone_message(output)


def check_longest(session: Session, campaign: Campaign, tz: ZoneInfo) -> Sound:
    """Approval's check: the longest pending recipient's message lasts at most a minute."""
    longest: tuple[int, str] = (-1, "")
    template = make_speech_sandbox(tz).from_string(campaign.body)
    rows = session.execute(select(CampaignRecipient.variables, Customer)
                           .join(Customer, Customer.id == CampaignRecipient.customer_id)
                           .where(CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.state == "pending")
                           .execution_options(yield_per=2000))
    for variables, customer in rows:
        text = " ".join(template.render(context(campaign, customer, variables)).split())
        if len(text) > longest[0]:
            longest = (len(text), text)
    with tempfile.TemporaryDirectory(prefix="mailrobot-approve-") as tmp:
        path = Path(tmp) / "longest.wav"
        synthesise(longest[1], path)
        return check_phone_message(path)
