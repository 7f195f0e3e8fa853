"""Phone campaigns in the informer's tick: due recipients become queued calls; outcomes are applied.

Like the e-mail channel (robot/informer/planner.py) the database is the schedule: a due recipient
gets one ``CampaignAttempt`` row (channel ``phone``, the contract's number, result ``queued``),
unique per recipient and call number, in the transaction that moves the recipient's due moment
away; the dialler claims queued rows (``calling``) and stores each outcome with the next call's
moment from ``phone_policy.next_call_at``. A call whose outcome was lost (a dialler killed
mid-call) stays ``calling`` until ``resolve_stale`` marks it ``interrupted`` — negative, so the
recipient is called again 1 h 30 min later, once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from robot.app import Robot
from robot.informer import campaigns as life
from robot.informer import phone_policy as policy
from robot.informer.sound import MAX_SECONDS
from robot.informer.window import SendingWindow
from robot.storage.models import (
    Campaign,
    CampaignAttempt,
    CampaignRecipient,
    Customer,
    Event,
)

log = logging.getLogger("robot.informer")

#: Calls queued ahead of the lines, per line: enough to keep every line busy between ticks.
QUEUED_PER_LINE = 4


#: An answered call that reports no end this long after its message should have ended is ended
#: by the dialler (robot/phone/call.py), its outcome unknown.
AFTER_MESSAGE_S = 30.0


def stale_after(ringing_timeout_s: float) -> timedelta:
    """How long a call may stay ``calling``: ringing, the longest message, and a margin for the
    line's own timeouts. After that nobody is on it any more; its outcome was lost."""
    return timedelta(seconds=ringing_timeout_s + MAX_SECONDS + AFTER_MESSAGE_S + 60)


def plan_calls(robot: Robot, campaign_ids: list[int], now: datetime) -> int:
    """Queue the due calls of running phone campaigns, as many as the lines can take soon."""
    settings = robot.settings
    window = SendingWindow(robot.calendar)
    planned = 0
    with robot.unit_of_work() as session:
        resolve_stale(session, now, stale_after(settings.phone_ringing_timeout_s), window, settings.phone_max_attempts)
        waiting = session.scalar(select(func.count()).select_from(CampaignAttempt).where(
            CampaignAttempt.channel == "phone", CampaignAttempt.result.in_(policy.PENDING))) or 0
        budget = settings.phone_lines * QUEUED_PER_LINE - waiting
        for campaign_id in campaign_ids:
            if budget <= 0:
                break
            campaign = session.get(Campaign, campaign_id)
            if campaign is None or campaign.state != "running" or not life.is_approved(campaign) \
                    or campaign.ends_at <= now:
                continue
            rows = session.execute(
                select(CampaignRecipient, Customer).join(Customer, Customer.id == CampaignRecipient.customer_id)
                .where(CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.state == "pending",
                       CampaignRecipient.next_due_at <= now)
                .order_by(CampaignRecipient.next_due_at, CampaignRecipient.id).limit(budget)).all()
            for recipient, customer in rows:
                number = policy.contract_number(customer.phone)
                if number is None:  # the contract's number was removed since the recipient was added
                    recipient.state, recipient.reason, recipient.next_due_at = "excluded", "no_phone", None
                    continue
                if recipient.attempts >= settings.phone_max_attempts:
                    recipient.state, recipient.reason, recipient.next_due_at = "ended", "max_attempts", None
                    continue
                session.add(CampaignAttempt(campaign_id=campaign_id, recipient_id=recipient.id,
                                            seq=recipient.attempts, channel="phone", address=number,
                                            created_at=now, result="queued"))
                recipient.attempts += 1
                # Pending until the outcome: the dialler sets the next call's moment (phone_policy).
                recipient.last_sent_at, recipient.next_due_at = now, None
                planned += 1
                budget -= 1
    if planned:
        log.info("auto-informer: %s call(s) queued", planned)
    return planned


def resolve_stale(session: Session, now: datetime, bound: timedelta, window: SendingWindow,
                  max_attempts: int) -> int:
    """Calls ``calling`` for longer than ``bound``: their outcome is lost; mark them ``interrupted``."""
    stale = list(session.scalars(select(CampaignAttempt).where(
        CampaignAttempt.channel == "phone", CampaignAttempt.result == "calling",
        CampaignAttempt.started_at < now - bound)))
    for attempt in stale:
        apply_outcome(session, attempt, "interrupted", now, window=window, max_attempts=max_attempts,
                      detail="outcome lost (the dialler stopped during the call)")
    if stale:
        session.add(Event(at=now, actor="robot", action="campaign_calls_interrupted",
                          detail={"attempts": [a.id for a in stale]}))
    return len(stale)


def apply_outcome(session: Session, attempt: CampaignAttempt, result: str, now: datetime, *,
                  window: SendingWindow, max_attempts: int, detail: str = "", call_id: str = "") -> None:
    """Store a call's outcome and the recipient's next call (R23), in the caller's transaction."""
    if result not in policy.POSITIVE | policy.NEGATIVE:
        raise ValueError(f"not a call outcome: {result!r}")
    attempt.result, attempt.result_at = result, now
    attempt.detail = detail[:255] or None
    attempt.call_id = call_id[:64] or attempt.call_id
    recipient = session.get(CampaignRecipient, attempt.recipient_id)
    campaign = session.get(Campaign, attempt.campaign_id)
    assert recipient is not None and campaign is not None
    if recipient.state != "pending":
        return  # paid, marked or ended while the call went on: nothing more to plan
    if result in policy.POSITIVE and campaign.kind not in policy.NEEDED_UNTIL_CLEARED:
        life.mark_positive(session, recipient, f"call_{result}", now)
        return
    calls = [policy.Call(at=a.started_at or a.created_at, result=a.result) for a in session.scalars(
        select(CampaignAttempt).where(CampaignAttempt.recipient_id == recipient.id))]
    following = policy.next_call_at(calls, now=now, window=window, max_attempts=max_attempts,
                                    still_needed=campaign.state == "running")
    if following is not None and following >= campaign.ends_at:
        following = None
    recipient.next_due_at = following
    if following is None and campaign.state == "running":
        recipient.state = "ended"
        recipient.reason = "max_attempts" if len(calls) >= max_attempts else "window_over"
