"""A campaign's progress and report (R22): counted live from the rows, never from Redis.

The result of a send is read through its OutboundMail (pending → sent | failed | bounced), so a
page polled every few seconds shows deliveries as they happen, between the planner's ticks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from robot.informer.phone_policy import NEGATIVE, POSITIVE
from robot.storage.models import (
    Campaign,
    CampaignAttempt,
    CampaignRecipient,
    Customer,
    OutboundMail,
)


@dataclass
class Progress:
    campaign_id: int
    state: str
    channel: str = "email"
    recipients: int = 0
    pending: int = 0
    positive: int = 0
    confirmed: int = 0
    replied: int = 0
    paid: int = 0
    marked: int = 0
    bounced: int = 0
    excluded: int = 0
    ended: int = 0
    sends: int = 0
    sent: int = 0
    queued: int = 0
    failed: int = 0
    next_resend: datetime | None = None
    last_sent: datetime | None = None
    #: Pending recipients to whom nothing has been sent yet.
    never_sent: int = 0
    #: Phone: calls by outcome (queued, calling — in progress now —, answered, operator, no_answer, …).
    calls: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Recipients the campaign can reach (the excluded never get a message)."""
        return self.recipients - self.excluded

    @property
    def reached(self) -> int:
        """Of those: written to at least once, or resolved without a send."""
        return self.total - self.never_sent

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(total=self.total, reached=self.reached)
        for key in ("next_resend", "last_sent"):
            data[key] = data[key].isoformat() if data[key] else None
        if self.channel == "phone":  # flat, for the live page's fields; a count back to 0 must show 0
            for result in ("queued", "calling", *sorted(POSITIVE | NEGATIVE)):
                data[f"calls_{result}"] = self.calls.get(result, 0)
        return data


def _result() -> Any:
    """A send's result as it is now: the attempt's own, or its mail's state when that moved on."""
    return case((OutboundMail.status.in_(("sent", "failed", "bounced")), OutboundMail.status),
                else_=CampaignAttempt.result)


def progress(session: Session, campaign_id: int) -> Progress:
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    found = Progress(campaign_id, campaign.state, campaign.channel)
    for state, reason, count in session.execute(
            select(CampaignRecipient.state, CampaignRecipient.reason, func.count())
            .where(CampaignRecipient.campaign_id == campaign_id)
            .group_by(CampaignRecipient.state, CampaignRecipient.reason)):
        found.recipients += count
        if state in ("pending", "positive", "bounced", "excluded", "ended"):
            setattr(found, state, getattr(found, state) + count)
        if state == "positive" and reason in ("confirmed", "replied", "paid", "marked"):
            setattr(found, reason, getattr(found, reason) + count)
    result = _result()
    for value, count in session.execute(
            select(result, func.count()).select_from(CampaignAttempt)
            .outerjoin(OutboundMail, OutboundMail.id == CampaignAttempt.outbound_id)
            .where(CampaignAttempt.campaign_id == campaign_id).group_by(result)):
        found.sends += count
        if found.channel == "phone":
            found.calls[value] = found.calls.get(value, 0) + count
        if value in ("sent",):
            found.sent += count
        elif value in ("failed", "bounced", *NEGATIVE):
            found.failed += count
        elif value in POSITIVE:
            found.sent += count
        else:
            found.queued += count
    found.next_resend, found.last_sent = session.execute(
        select(func.min(case((CampaignRecipient.state == "pending", CampaignRecipient.next_due_at))),
               func.max(CampaignRecipient.last_sent_at))
        .where(CampaignRecipient.campaign_id == campaign_id)).one()
    found.never_sent = session.scalar(select(func.count()).select_from(CampaignRecipient).where(
        CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.attempts == 0,
        CampaignRecipient.state == "pending")) or 0
    return found


COLUMNS = ("account_number", "name", "email", "state", "reason", "attempts", "first_sent", "last_sent",
           "positive_at", "results")


def report_rows(session: Session, campaign_id: int, *, names: Any, tz) -> Iterator[dict[str, Any]]:
    """One row per recipient: who, where things stand, every send with its date and result."""
    def when(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%d.%m.%Y %H:%M") if value else ""

    sends: dict[int, list[str]] = {}
    first: dict[int, datetime] = {}
    result = _result()
    for recipient_id, created_at, value in session.execute(
            select(CampaignAttempt.recipient_id, CampaignAttempt.created_at, result)
            .outerjoin(OutboundMail, OutboundMail.id == CampaignAttempt.outbound_id)
            .where(CampaignAttempt.campaign_id == campaign_id).order_by(CampaignAttempt.id)):
        sends.setdefault(recipient_id, []).append(f"{when(created_at)} {names.result(value)}")
        first.setdefault(recipient_id, created_at)
    rows = session.execute(
        select(CampaignRecipient, Customer.account_number, Customer.name, Customer.email)
        .join(Customer, Customer.id == CampaignRecipient.customer_id)
        .where(CampaignRecipient.campaign_id == campaign_id).order_by(Customer.account_number)
        .execution_options(yield_per=2000))
    for recipient, account, name, email in rows:
        yield {
            "account_number": account, "name": name, "email": email or "",
            "state": str(names.recipient(recipient.state)), "reason": str(names.reason(recipient.reason)),
            "attempts": recipient.attempts, "first_sent": when(first.get(recipient.id)),
            "last_sent": when(recipient.last_sent_at), "positive_at": when(recipient.positive_at),
            "results": "; ".join(sends.get(recipient.id, [])),
        }


def write_csv(rows: Iterator[dict[str, Any]], headers: dict[str, str]) -> bytes:
    """CSV for Excel in a Russian locale: UTF-8 with a BOM, ';' separated."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow([headers[c] for c in COLUMNS])
    for row in rows:
        writer.writerow([row[c] for c in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_xlsx(rows: Iterator[dict[str, Any]], headers: dict[str, str], title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31] or "Кампания")
    sheet.append([headers[c] for c in COLUMNS])
    for row in rows:
        sheet.append([row[c] for c in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
