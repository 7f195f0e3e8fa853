"""The auto-informer's tick: plan the sends that are due, within the window and the rate (R16, R23).

The database is the schedule. A recipient without a positive result has ``next_due_at``; when it
comes (inside the sending hours, the campaign running and still approved), one transaction
stores the attempt, its OutboundMail and the recipient's next due moment (7 days on). The
attempt is unique per recipient and send number, so two ticks at once plan a send once; the
OutboundMail is delivered by the ordinary idempotent delivery (robot/mail/deliver.py), so a
worker killed mid-send or an emptied Redis is repaired by the reconciler and never sends twice.
A due send that Redis lost is still due in the database: the next tick plans it.

The rate limit (``informer_rate_per_s``) counts the campaign mail planned in the last minute and
spaces the batches' delivery over the minute.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from robot.app import Robot
from robot.informer import campaigns as life
from robot.informer import mime
from robot.informer.confirm import confirm_url
from robot.informer.phone_plan import plan_calls
from robot.informer.scenario import make_sandbox
from robot.informer.window import SendingWindow
from robot.mail.tokens import make_message_id
from robot.storage.models import (
    BouncingAddress,
    Campaign,
    CampaignAttempt,
    CampaignRecipient,
    Customer,
    Event,
    OutboundMail,
)

log = logging.getLogger("robot.informer")

TICK = "workers.informer.tick"
DELIVER_BATCH = "workers.informer.deliver_batch"
#: The period the rate is counted over (the reconciler enqueues a tick every minute).
PERIOD = timedelta(seconds=60)
#: Recipients planned per transaction, and mails per delivery job.
CHUNK = 1000
BATCH = 100
PURPOSE = "campaign"
#: Sent attempts this recent are checked for a bounce that came back.
BOUNCES_WITHIN = timedelta(days=7)


@dataclass
class Ticked:
    planned: int = 0
    excluded: int = 0
    bounced: int = 0
    finished: list[int] = field(default_factory=list)
    revoked: list[int] = field(default_factory=list)
    jobs: int = 0


def enqueue_tick(robot: Robot) -> bool:
    """Enqueue a tick when a campaign is running (the reconciler calls this every minute)."""
    with robot.sessions() as session:
        running = session.scalar(select(Campaign.id).where(Campaign.state == "running").limit(1))
    if running is None:
        return False
    minute = int(robot.clock.now().timestamp() // PERIOD.total_seconds())
    return robot.dispatcher.enqueue(TICK, job_id=f"informer-tick-{minute}", unique=True)


def tick(robot: Robot) -> Ticked:
    now = robot.clock.now()
    done = Ticked()
    window = SendingWindow(robot.calendar)
    with robot.unit_of_work() as session:
        done.bounced = sync_results(session, now)
        done.finished = life.finish_due(session, now)
        running, calling = [], []
        for campaign in session.scalars(select(Campaign).where(Campaign.state == "running")):
            if not life.is_approved(campaign):
                # Changed behind the life cycle's back: nothing unapproved is sent (R24).
                life._event(session, campaign, "approval_revoked", "robot", now, was="running")
                campaign.state = "draft"
                done.revoked.append(campaign.id)
            elif campaign.starts_at <= now:
                (calling if campaign.channel == "phone" else running).append(campaign.id)
    if calling and window.allows(now):
        # Phone campaigns: due recipients become queued calls that the dialler places (robot/phone).
        done.planned += plan_calls(robot, calling, now)
    if not running or not window.allows(now):
        return done
    rate = robot.settings.informer_rate_per_s
    with robot.sessions() as session:
        recent = session.scalar(select(func.count()).select_from(CampaignAttempt)
                                .where(CampaignAttempt.created_at > now - PERIOD)) or 0
        # Back-pressure: campaign mail planned earlier and still not delivered counts against the budget.
        behind = session.scalar(select(func.count()).select_from(OutboundMail).where(
            OutboundMail.purpose == PURPOSE, OutboundMail.status == "pending",
            OutboundMail.created_at <= now - PERIOD)) or 0
    closes = window.closes_at(now)
    budget = int(min(rate * PERIOD.total_seconds() - recent - behind, rate * (closes - now).total_seconds()))
    spaced = 0
    for campaign_id in running:
        while budget > 0:
            planned, excluded, batches = _plan_chunk(robot, campaign_id, now, min(CHUNK, budget), spaced, rate)
            done.excluded += excluded
            if not planned and not excluded:
                break
            done.planned += planned
            budget -= planned
            spaced += planned
            for at, ids in batches:
                robot.dispatcher.enqueue(DELIVER_BATCH, ids, job_id=f"informer-deliver-{ids[0]}",
                                         at=at if at > now else None)
                done.jobs += 1
    if done.planned:
        log.info("auto-informer: %s send(s) planned in %s job(s)", done.planned, done.jobs)
    return done


class _Renderer:
    """A campaign's templates, compiled once per chunk."""

    def __init__(self, robot: Robot, campaign: Campaign) -> None:
        sandbox = make_sandbox(robot.settings.tz)
        self.subject = sandbox.from_string(campaign.subject)
        self.body = sandbox.from_string(campaign.body)
        self.common: dict[str, Any] = dict(campaign.variables)
        if campaign.outage_starts_at:
            self.common.update(outage_start=campaign.outage_starts_at, outage_end=campaign.outage_ends_at)

    def render(self, customer: Customer, variables: dict[str, Any], url: str) -> tuple[str, str]:
        context = {**self.common, "name": customer.name, "account_number": customer.account_number,
                   "address": customer.address or "", "unit": customer.unit or "", **variables, "confirm_url": url}
        return self.subject.render(context), self.body.render(context)


def _plan_chunk(robot: Robot, campaign_id: int, now: datetime, limit: int, spaced: int,
                rate: float) -> tuple[int, int, list[tuple[datetime, list[int]]]]:
    settings = robot.settings
    window = SendingWindow(robot.calendar)
    # The domain of our Message-IDs, as robot.pipeline.thread.own_domain has it (not imported: the
    # pipeline's imports load the classifier, which a planner does not need).
    domain = settings.mail_from.rpartition("@")[2] or settings.smtp_hostname
    key = robot.signing_key
    hold = timedelta(days=settings.bounce_hold_days)
    planned = excluded = 0
    batches: list[tuple[datetime, list[int]]] = []
    with robot.unit_of_work() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or campaign.state != "running" or not life.is_approved(campaign) or campaign.ends_at <= now:
            return 0, 0, []
        rows = session.execute(
            select(CampaignRecipient, Customer).join(Customer, Customer.id == CampaignRecipient.customer_id)
            .where(CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.state == "pending",
                   CampaignRecipient.next_due_at <= now)
            .order_by(CampaignRecipient.next_due_at, CampaignRecipient.id).limit(limit)).all()
        if not rows:
            return 0, 0, []
        addresses = [c.email for _, c in rows if c.email]
        bouncing = {b.address for b in session.scalars(select(BouncingAddress).where(
            BouncingAddress.address.in_(addresses), BouncingAddress.last_bounce_at > now - hold))} if addresses else set()
        surveyed: dict[int, datetime] = {}
        if campaign.kind == "survey":
            surveyed = life.last_surveys(session, [c.id for r, c in rows if r.attempts == 0],
                                         exclude_campaign=campaign_id)
        renderer = _Renderer(robot, campaign)
        next_due = window.next_allowed(now + life.RESEND_AFTER)
        pairs: list[tuple[CampaignRecipient, OutboundMail, str]] = []
        for recipient, customer in rows:
            reason = life._eligible(campaign, customer)
            if reason is None and customer.email in bouncing:
                recipient.state, recipient.reason, recipient.next_due_at = "bounced", "address_bouncing", None
                excluded += 1
                continue
            last = surveyed.get(customer.id)
            if reason is None and last is not None and last > now - timedelta(days=life.SURVEY_MIN_GAP_DAYS):
                reason = "survey_cap"  # R25: at most one passive survey per 3 months
            if reason is not None:
                recipient.state, recipient.reason, recipient.next_due_at = "excluded", reason, None
                excluded += 1
                continue
            at = now + timedelta(seconds=int((spaced + planned) // BATCH * BATCH / rate))
            message_id = make_message_id(key, 0, domain)  # appeal 0: campaign mail belongs to no appeal
            subject, body = renderer.render(customer, recipient.variables or {}, confirm_url(robot, recipient.id))
            url = confirm_url(robot, recipient.id)
            raw = mime.build(robot.templates, mail_from=settings.mail_from, from_name=settings.mail_from_name,
                             to_addr=customer.email, to_name=customer.name, message_id=message_id, date=now,
                             context={"subject": subject, "body": body, "confirm_url": url, "kind": campaign.kind,
                                      "customer": customer})
            outbound = OutboundMail(purpose=PURPOSE, created_at=now, message_id=message_id,
                                    mail_from=settings.mail_from, rcpt_to=customer.email, raw=raw,
                                    status="pending", attempts=0, next_attempt_at=at)
            session.add(outbound)
            pairs.append((recipient, outbound, customer.email))
            planned += 1
        session.flush()
        for recipient, outbound, address in pairs:
            session.add(CampaignAttempt(campaign_id=campaign_id, recipient_id=recipient.id, seq=recipient.attempts,
                                        channel=campaign.channel, address=address, outbound_id=outbound.id,
                                        created_at=now, result="queued"))
            recipient.attempts += 1
            recipient.last_sent_at, recipient.next_due_at = now, next_due
            at = outbound.next_attempt_at
            if not batches or batches[-1][0] != at or len(batches[-1][1]) >= BATCH:
                batches.append((at, []))
            batches[-1][1].append(outbound.id)
        if excluded:
            session.add(Event(at=now, actor="robot", action="campaign_recipients_dropped",
                              detail={"campaign_id": campaign_id, "count": excluded}))
    return planned, excluded, batches


def sync_results(session: Session, now: datetime) -> int:
    """Copy delivery outcomes onto attempts; a hard bounce ends the recipient's sends (reported).

    A bounce comes within days of the send (MTAs give up after 5), so sent attempts of the last
    week are looked at again. Returns how many recipients a bounce or a permanent refusal stopped.
    """
    outcome = select(OutboundMail.status).where(OutboundMail.id == CampaignAttempt.outbound_id).scalar_subquery()
    moved = exists().where(OutboundMail.id == CampaignAttempt.outbound_id,
                           OutboundMail.status.in_(("sent", "failed", "bounced")),
                           OutboundMail.status != CampaignAttempt.result)
    session.execute(update(CampaignAttempt).where(
        or_(CampaignAttempt.result == "queued",
            and_(CampaignAttempt.result == "sent", CampaignAttempt.created_at > now - BOUNCES_WITHIN)), moved)
        .values(result=outcome, result_at=now).execution_options(synchronize_session=False))
    hard = select(CampaignAttempt.recipient_id).where(CampaignAttempt.result.in_(("failed", "bounced")))
    stopped = session.execute(update(CampaignRecipient).where(
        CampaignRecipient.state == "pending", CampaignRecipient.id.in_(hard))
        .values(state="bounced", reason="hard_bounce", next_due_at=None)
        .execution_options(synchronize_session=False))
    return stopped.rowcount or 0
