"""What a call says to one recipient: the scenario spoken with their variables, with any
pre-recorded sound files (``[[sound:NAME]]``, robot/informer/phone_sounds.py) in their places, as
one WAV.

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

from robot.informer.phone_sounds import resolve, split_body
from robot.informer.sound import (
    Sound,
    check_phone_message,
    concatenate,
    convert,
    synthesise,
)
from robot.informer.speech import make_speech_sandbox
from robot.storage.models import Campaign, CampaignRecipient, Customer


def context(campaign: Campaign, customer: Customer, variables: dict[str, Any] | None) -> dict[str, Any]:
    """The names a phone scenario may use, as the e-mail planner gives them (robot/informer/planner.py)."""
    common: dict[str, Any] = dict(campaign.variables or {})
    if campaign.outage_starts_at:
        common.update(outage_start=campaign.outage_starts_at, outage_end=campaign.outage_ends_at)
    return {**common, "name": customer.name, "account_number": customer.account_number,
            "address": customer.address or "", "unit": customer.unit or "", **(variables or {})}


def _compiled(campaign: Campaign, tz: ZoneInfo) -> list[tuple[str, Any]]:
    """The body's parts, each spoken part a compiled template (robot/informer/phone_sounds.py)."""
    env = make_speech_sandbox(tz)
    return [(kind, env.from_string(value) if kind == "text" else value) for kind, value in split_body(campaign.body)]


def _parts(compiled: list[tuple[str, Any]], names: dict[str, Any]) -> list[tuple[str, str]]:
    parts = []
    for kind, value in compiled:
        if kind == "sound":
            parts.append(("sound", value))
            continue
        text = " ".join(value.render(names).split())
        if text:
            parts.append(("text", text))
    return parts


def message_parts(campaign: Campaign, customer: Customer, variables: dict[str, Any] | None,
                  tz: ZoneInfo) -> list[tuple[str, str]]:
    """The recipient's message in order: ``("text", words)`` and ``("sound", file name)``."""
    return _parts(_compiled(campaign, tz), context(campaign, customer, variables))


def speech_text(campaign: Campaign, customer: Customer, variables: dict[str, Any] | None, tz: ZoneInfo) -> str:
    """The recipient's spoken words as one line for the synthesiser (recordings left out)."""
    return " ".join(value for kind, value in message_parts(campaign, customer, variables, tz) if kind == "text")


def mix(parts: list[tuple[str, str]], output: Path, sounds: Path | None = None) -> Sound:
    """Speak the text parts, convert the recordings (sox: 8 kHz 16-bit mono) and join them in order
    into ``output``. CampaignError for a recording that is refused, missing or unreadable."""
    if not parts:
        raise ValueError("nothing to say: the message is empty")
    with tempfile.TemporaryDirectory(prefix="mailrobot-message-") as tmp:
        files = []
        for index, (kind, value) in enumerate(parts):
            path = Path(tmp) / f"part{index}.wav"
            if kind == "text":
                synthesise(value, path)
            else:
                convert(resolve(value, sounds), path)
            files.append(path)
        return concatenate(files, output)


def render(campaign: Campaign, customer: Customer, variables: dict[str, Any] | None, tz: ZoneInfo,
           output: Path, *, sounds: Path | None = None) -> Sound:
    """Make the recipient's message into ``output`` and check it (CampaignError when refused)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    mix(message_parts(campaign, customer, variables, tz), output, sounds)
    return check_phone_message(output)


def check_longest(session: Session, campaign: Campaign, tz: ZoneInfo, *, sounds: Path | None = None) -> Sound:
    """Approval's check: the longest pending recipient's message, recordings included, lasts at most
    a minute; every recording it names is there and readable."""
    longest: tuple[int, list[tuple[str, str]]] = (-1, [])
    compiled = _compiled(campaign, tz)
    rows = session.execute(select(CampaignRecipient.variables, Customer)
                           .join(Customer, Customer.id == CampaignRecipient.customer_id)
                           .where(CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.state == "pending")
                           .execution_options(yield_per=2000))
    for variables, customer in rows:
        parts = _parts(compiled, context(campaign, customer, variables))
        size = sum(len(value) for kind, value in parts if kind == "text")
        if size > longest[0]:
            longest = (size, parts)
    with tempfile.TemporaryDirectory(prefix="mailrobot-approve-") as tmp:
        path = Path(tmp) / "longest.wav"
        mix(longest[1], path, sounds)
        return check_phone_message(path)
