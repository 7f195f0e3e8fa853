"""A campaign's life cycle: draft → approved → running → finished | stopped (R22, R24).

Every step is a function of a session the caller commits, and leaves an Event (``campaign_*``,
``detail.campaign_id``). A refusal is a :class:`CampaignError` with a code and its parameters;
``templates/informer/refusal.txt.j2`` words it in Russian for the manager.

Approval is of a content hash: the scenario, the window, the outage, the recipients with their
variables and a call's sound files. Any change after approval puts the campaign back to draft
(``approval_revoked``), and the planner also compares the hashes before every send, so nothing
unapproved is ever sent.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from robot.informer.customers import (
    HEADERS,
    ImportFileError,
    _normalise_header,
    read_table,
)
from robot.informer.phone_policy import contract_number
from robot.informer.scenario import CUSTOMER_FIELDS, Spec, needed_variables
from robot.informer.window import SendingWindow
from robot.storage.models import (
    Campaign,
    CampaignAttempt,
    CampaignRecipient,
    Customer,
    Event,
    User,
)

#: R23: without a positive result the message goes again after this long.
RESEND_AFTER = timedelta(days=7)
#: R21: a planned outage reaches customers within 3 days of the decision, 24 h before it at the latest.
OUTAGE_WITHIN = timedelta(days=3)
OUTAGE_NOTICE = timedelta(hours=24)
#: R25: one passive survey per customer at most every 3 months, at least once a year.
SURVEY_MIN_GAP_DAYS = 91
SURVEY_MAX_GAP_DAYS = 365
EDITABLE = ("draft", "approved", "running")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CampaignError(Exception):
    """A step refused; ``code`` names the reason (templates/informer/refusal.txt.j2 words it)."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code, params)
        self.code = code
        self.params = params

    def __str__(self) -> str:
        return f"{self.code} {self.params}" if self.params else self.code


def _event(session: Session, campaign: Campaign, action: str, actor: str, at: datetime, **detail: Any) -> None:
    session.add(Event(at=at, actor=actor, action=f"campaign_{action}", detail={"campaign_id": campaign.id, **detail}))


def campaign_hash(campaign: Campaign) -> str:
    """The hash of everything a manager approves (R24); for a call, also the sha256 of each
    pre-recorded sound file it plays (robot/informer/phone_sounds.py)."""
    content = {
        "name": campaign.name, "kind": campaign.kind, "channel": campaign.channel, "subject": campaign.subject,
        "body": campaign.body, "variables": campaign.variables, "audience": campaign.audience,
        "window": [_iso(campaign.starts_at), _iso(campaign.ends_at)],
        "outage": [_iso(campaign.decided_at), _iso(campaign.outage_starts_at), _iso(campaign.outage_ends_at)],
        "recipients": campaign.recipients_hash,
    }
    if campaign.channel == "phone" and "[[" in (campaign.body or ""):
        # The recordings a call plays are approved too: replacing one changes the hash.
        from robot.informer.phone_sounds import digests

        sounds = digests(campaign.body)
        if sounds:
            content["sounds"] = sounds
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def is_approved(campaign: Campaign) -> bool:
    return campaign.approved_hash is not None and campaign.approved_hash == campaign_hash(campaign)


def get(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignError("no_campaign", id=campaign_id)
    return campaign


# --- creating and changing -------------------------------------------------------------------


def create(session: Session, spec: Spec, *, actor: str, now: datetime, source: str | None = None) -> Campaign:
    campaign = Campaign(created_at=now, updated_at=now, created_by=actor, source=source, state="draft")
    _apply(campaign, spec)
    session.add(campaign)
    session.flush()
    _event(session, campaign, "created", actor, now, source=source)
    added = add_audience(session, campaign, now)
    refresh_recipients_hash(session, campaign)
    _event(session, campaign, "audience_added", actor, now, added=added)
    return campaign


def _apply(campaign: Campaign, spec: Spec) -> None:
    for key in ("name", "kind", "channel", "subject", "body", "variables", "audience", "starts_at", "ends_at",
                "decided_at", "outage_starts_at", "outage_ends_at"):
        setattr(campaign, key, getattr(spec, key))


def update_scenario(session: Session, campaign: Campaign, spec: Spec, *, actor: str, now: datetime) -> bool:
    """Replace the scenario; returns whether anything changed (a change revokes an approval)."""
    _editable(campaign)
    before = campaign_hash(campaign)
    old_start, old_audience = campaign.starts_at, campaign.audience
    _apply(campaign, spec)
    if spec.audience != old_audience:
        add_audience(session, campaign, now)
        refresh_recipients_hash(session, campaign)
    if campaign.starts_at != old_start:
        session.execute(update(CampaignRecipient).where(
            CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.state == "pending",
            CampaignRecipient.attempts == 0).values(next_due_at=campaign.starts_at))
    changed = campaign_hash(campaign) != before
    if changed:
        campaign.updated_at = now
        _event(session, campaign, "changed", actor, now)
        _revoke(session, campaign, actor, now)
    return changed


def _editable(campaign: Campaign) -> None:
    if campaign.state not in EDITABLE:
        raise CampaignError("not_editable", state=campaign.state)


def _revoke(session: Session, campaign: Campaign, actor: str, now: datetime) -> None:
    """A change after approval: back to draft; the planner sends nothing until a new approval."""
    if campaign.state in ("approved", "running") and not is_approved(campaign):
        _event(session, campaign, "approval_revoked", actor, now, was=campaign.state)
        campaign.state = "draft"


def _eligible(campaign: Campaign, customer: Customer) -> str | None:
    """Why a customer cannot get this campaign's messages (R24), or None."""
    if campaign.channel == "email" and not (customer.email and customer.email_consent_at):
        return "no_email"
    if campaign.channel == "phone" and contract_number(customer.phone) is None:
        return "no_phone"  # R24: only the contract's own number is called
    return None


def _new_recipient(campaign: Campaign, customer: Customer, now: datetime, variables: dict[str, Any],
                   source: str | None) -> CampaignRecipient:
    reason = _eligible(campaign, customer)
    return CampaignRecipient(campaign_id=campaign.id, customer_id=customer.id, variables=variables,
                             state="excluded" if reason else "pending", reason=reason, attempts=0,
                             next_due_at=None if reason else campaign.starts_at, added_at=now, source=source)


def add_audience(session: Session, campaign: Campaign, now: datetime) -> int:
    """Add the customers the campaign's filter names (all, or units) that are not in it yet."""
    audience = campaign.audience or {}
    if not audience.get("all") and not audience.get("units"):
        return 0
    query = select(Customer).where(~Customer.id.in_(
        select(CampaignRecipient.customer_id).where(CampaignRecipient.campaign_id == campaign.id)))
    if not audience.get("all"):
        query = query.where(Customer.unit.in_(audience["units"]))
    added = 0
    for customer in session.scalars(query.order_by(Customer.id).execution_options(yield_per=2000)):
        session.add(_new_recipient(campaign, customer, now, {}, f"filter:{customer.unit or '-'}"))
        added += 1
        if added % 2000 == 0:
            session.flush()
    session.flush()
    return added


def refresh_recipients_hash(session: Session, campaign: Campaign) -> None:
    digest = hashlib.sha256()
    rows = session.execute(select(CampaignRecipient.customer_id, CampaignRecipient.variables)
                           .where(CampaignRecipient.campaign_id == campaign.id)
                           .order_by(CampaignRecipient.customer_id))
    for customer_id, variables in rows:
        digest.update(f"{customer_id}:{json.dumps(variables, sort_keys=True, ensure_ascii=False)}\n".encode())
    campaign.recipients_hash = digest.hexdigest()


# --- imported lists --------------------------------------------------------------------------


@dataclass(frozen=True)
class ListProblem:
    line: int
    field: str
    code: str  # unknown_account | duplicate | missing | bad_column (templates/informer/list_report.txt.j2)
    value: str = ""


@dataclass
class ListReport:
    source: str
    lines: int = 0
    added: int = 0
    updated: int = 0
    marked: int = 0
    excluded: int = 0
    problems: list[ListProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _account_column(header: list[str]) -> int:
    aliases = set(HEADERS["account_number"])
    for index, cell in enumerate(header):
        if _normalise_header(cell or "") in aliases:
            return index
    raise ImportFileError(f"no column for the account number (лицевой счёт) in the header line: {header!r}")


def _read_list(path: Path) -> tuple[list[str], Iterable[tuple[int, list[str]]]]:
    table = iter(read_table(path))
    for _, cells in table:
        if any(c.strip() for c in cells):
            return cells, table
    raise ImportFileError("the file is empty: no header line")


def import_recipients(session: Session, campaign: Campaign, path: Path, *, actor: str, now: datetime) -> ListReport:
    """Add (or update) the recipients an imported list names, with their variables (e.g. each debt).

    Only customers with a contract (R24): an account number that is not a customer is refused with
    its line. Columns other than the account number become variables under their header's name.
    """
    _editable(campaign)
    report = ListReport(source=path.name)
    header, rows = _read_list(path)
    account_at = _account_column(header)
    names: dict[int, str] = {}
    for index, cell in enumerate(header):
        if index == account_at or not cell.strip():
            continue
        name = cell.strip()
        if not _IDENTIFIER.match(name):
            report.problems.append(ListProblem(1, name, "bad_column", name))
            continue
        names[index] = name
    wanted: dict[str, tuple[int, dict[str, str]]] = {}
    for number, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        report.lines += 1
        account = (cells[account_at] if account_at < len(cells) else "").strip().replace(" ", "")
        if not account:
            report.problems.append(ListProblem(number, "account_number", "missing"))
            continue
        if account in wanted:
            report.problems.append(ListProblem(number, "account_number", "duplicate", account))
            continue
        wanted[account] = (number, {name: cells[i].strip() for i, name in names.items() if i < len(cells)})
    customers = _customers_by_account(session, list(wanted))
    existing = {r.customer_id: r for r in session.scalars(select(CampaignRecipient).where(
        CampaignRecipient.campaign_id == campaign.id,
        CampaignRecipient.customer_id.in_([c.id for c in customers.values()])))} if customers else {}
    for account, (number, variables) in wanted.items():
        customer = customers.get(account)
        if customer is None:
            report.problems.append(ListProblem(number, "account_number", "unknown_account", account))
            continue
        recipient = existing.get(customer.id)
        if recipient is None:
            recipient = _new_recipient(campaign, customer, now, variables, f"{path.name}:{number}")
            session.add(recipient)
            report.added += 1
            report.excluded += recipient.state == "excluded"
        elif recipient.variables != variables:
            recipient.variables = {**recipient.variables, **variables}
            recipient.source = f"{path.name}:{number}"
            report.updated += 1
    session.flush()
    refresh_recipients_hash(session, campaign)
    campaign.updated_at = now
    _event(session, campaign, "recipients_imported", actor, now, source=path.name, added=report.added,
           updated=report.updated, problems=len(report.problems))
    _revoke(session, campaign, actor, now)
    return report


def _customers_by_account(session: Session, accounts: list[str]) -> dict[str, Customer]:
    found: dict[str, Customer] = {}
    for start in range(0, len(accounts), 1000):
        chunk = accounts[start:start + 1000]
        found.update((c.account_number, c) for c in session.scalars(
            select(Customer).where(Customer.account_number.in_(chunk))))
    return found


# --- positive results by list or by hand -----------------------------------------------------


def mark_positive(session: Session, recipient: CampaignRecipient, via: str, now: datetime) -> bool:
    """The recipient's result is positive (confirmed | replied | paid | marked): no more sends."""
    if recipient.state == "positive" or recipient.state == "excluded":
        return False
    recipient.state, recipient.reason, recipient.positive_at, recipient.next_due_at = "positive", via, now, None
    return True


def mark_accounts(session: Session, campaign: Campaign, accounts: Iterable[str], *, via: str, actor: str,
                  now: datetime) -> tuple[int, list[str]]:
    """Mark the recipients with these account numbers positive; (marked, accounts not in the campaign)."""
    accounts = [a.strip().replace(" ", "") for a in accounts if a.strip()]
    customers = _customers_by_account(session, accounts)
    recipients = {r.customer_id: r for r in session.scalars(select(CampaignRecipient).where(
        CampaignRecipient.campaign_id == campaign.id,
        CampaignRecipient.customer_id.in_([c.id for c in customers.values()])))} if customers else {}
    marked, unknown = 0, []
    for account in accounts:
        customer = customers.get(account)
        recipient = recipients.get(customer.id) if customer else None
        if recipient is None:
            unknown.append(account)
            continue
        marked += mark_positive(session, recipient, via, now)
    _event(session, campaign, "marked", actor, now, via=via, marked=marked, unknown=len(unknown))
    return marked, unknown


def import_paid(session: Session, campaign: Campaign, path: Path, *, actor: str, now: datetime) -> ListReport:
    """The campaign's condition cleared for the accounts of a "paid" list (an export of payments)."""
    report = ListReport(source=path.name)
    header, rows = _read_list(path)
    account_at = _account_column(header)
    accounts: dict[str, int] = {}
    for number, cells in rows:
        account = (cells[account_at] if account_at < len(cells) else "").strip().replace(" ", "")
        if not account:
            continue
        report.lines += 1
        accounts.setdefault(account, number)
    marked, unknown = mark_accounts(session, campaign, list(accounts), via="paid", actor=actor, now=now)
    report.marked = marked
    report.problems = [ListProblem(accounts[a], "account_number", "not_in_campaign", a) for a in unknown]
    return report


# --- approval and running --------------------------------------------------------------------


def approve(session: Session, campaign: Campaign, *, manager: str, now: datetime, window: SendingWindow,
            rate_per_s: float) -> None:
    """A manager approves the list of information and of recipients (R24, Прил. 3 §11)."""
    user = session.scalar(select(User).where(User.login == manager))
    if user is None or not user.active or user.role != "manager":
        raise CampaignError("not_a_manager", login=manager)
    if campaign.state not in ("draft", "approved"):
        raise CampaignError("not_approvable", state=campaign.state)
    pending = session.scalar(select(func.count()).select_from(CampaignRecipient).where(
        CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.state == "pending")) or 0
    if pending == 0:
        raise CampaignError("no_recipients")
    check_variables(session, campaign)
    check_window(session, campaign, now, window, rate_per_s, pending)
    if campaign.channel == "phone":
        # R23: the message is spoken and timed before a manager's approval counts.
        from robot.informer.phone_message import check_longest

        check_longest(session, campaign, window.calendar.tz)
    campaign.approved_hash, campaign.approved_by, campaign.approved_at = campaign_hash(campaign), user.login, now
    campaign.state = "approved"
    _event(session, campaign, "approved", user.login, now, hash=campaign.approved_hash, recipients=pending)


def check_variables(session: Session, campaign: Campaign) -> None:
    """Every pending recipient has every variable the templates use (else refused, with examples)."""
    needed = needed_variables(campaign.subject, campaign.body, phone=campaign.channel == "phone") \
        - set(campaign.variables) - set(CUSTOMER_FIELDS) - {"outage_start", "outage_end", "confirm_url"}
    if not needed:
        return
    missing: list[str] = []
    rows = session.execute(select(CampaignRecipient.variables, Customer.account_number)
                           .join(Customer, Customer.id == CampaignRecipient.customer_id)
                           .where(CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.state == "pending"))
    for variables, account in rows:
        lacking = needed - set(variables or {})
        if lacking:
            missing.append(f"{account}: {', '.join(sorted(lacking))}")
    if missing:
        raise CampaignError("missing_variables", count=len(missing), examples=missing[:5])


def check_window(session: Session, campaign: Campaign, now: datetime, window: SendingWindow, rate_per_s: float,
                 pending: int | None = None) -> None:
    """The window must leave sending hours; a planned outage's must meet R21."""
    first = window.next_allowed(max(campaign.starts_at, now))
    if first >= campaign.ends_at:
        raise CampaignError("window_closed", first=first, ends=campaign.ends_at)
    if campaign.kind != "outage":
        return
    assert campaign.decided_at and campaign.outage_starts_at
    deadline = min(campaign.decided_at + OUTAGE_WITHIN, campaign.outage_starts_at - OUTAGE_NOTICE)
    if campaign.ends_at > campaign.outage_starts_at:
        raise CampaignError("outage_window_after_outage", ends=campaign.ends_at, outage=campaign.outage_starts_at)
    if first > deadline:
        raise CampaignError("outage_too_late", first=first, deadline=deadline, decided=campaign.decided_at,
                            outage=campaign.outage_starts_at)
    if pending is None:
        pending = session.scalar(select(func.count()).select_from(CampaignRecipient).where(
            CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.state == "pending")) or 0
    seconds = window.sending_seconds(first, min(deadline, campaign.ends_at))
    if pending / rate_per_s > seconds:
        raise CampaignError("outage_too_many", pending=pending, seconds=int(seconds), rate=rate_per_s,
                            deadline=deadline)


def start(session: Session, campaign: Campaign, *, actor: str, now: datetime, window: SendingWindow,
          rate_per_s: float) -> None:
    if campaign.state != "approved" or not is_approved(campaign):
        raise CampaignError("not_approved", state=campaign.state)
    check_window(session, campaign, now, window, rate_per_s)
    campaign.state, campaign.started_at = "running", now
    _event(session, campaign, "started", actor, now)


def stop(session: Session, campaign: Campaign, *, actor: str, now: datetime) -> None:
    if campaign.state in ("finished", "stopped"):
        raise CampaignError("already_ended", state=campaign.state)
    _end(session, campaign, "stopped", now)
    _event(session, campaign, "stopped", actor, now)


def _end(session: Session, campaign: Campaign, state: str, now: datetime) -> None:
    campaign.state, campaign.ended_at = state, now
    session.execute(update(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id,
                                                    CampaignRecipient.state == "pending")
                    .values(state="ended", next_due_at=None))
    # Phone calls queued and not yet placed are not placed (calls going on finish and are stored).
    session.execute(update(CampaignAttempt).where(CampaignAttempt.campaign_id == campaign.id,
                                                  CampaignAttempt.channel == "phone",
                                                  CampaignAttempt.result == "queued")
                    .values(result="cancelled", result_at=now))


def finish_due(session: Session, now: datetime) -> list[int]:
    """Running campaigns whose window is over, or with nobody left to send to, are finished."""
    done = []
    for campaign in session.scalars(select(Campaign).where(Campaign.state == "running")):
        left = session.scalar(select(CampaignRecipient.id).where(
            CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.state == "pending").limit(1))
        if campaign.ends_at <= now or left is None:
            _end(session, campaign, "finished", now)
            _event(session, campaign, "finished", "robot", now, reason="window_over" if left else "no_one_left")
            done.append(campaign.id)
    return done


# --- surveys (R25) ---------------------------------------------------------------------------


def last_surveys(session: Session, customer_ids: list[int] | None = None, *,
                 exclude_campaign: int | None = None) -> dict[int, datetime]:
    """Each customer's last passive survey: the first send of a survey campaign to them."""
    query = (select(CampaignRecipient.customer_id, func.max(CampaignAttempt.created_at))
             .join(CampaignAttempt, CampaignAttempt.recipient_id == CampaignRecipient.id)
             .join(Campaign, Campaign.id == CampaignRecipient.campaign_id)
             .where(Campaign.kind == "survey", CampaignAttempt.seq == 0)
             .group_by(CampaignRecipient.customer_id))
    if customer_ids is not None:
        query = query.where(CampaignRecipient.customer_id.in_(customer_ids))
    if exclude_campaign is not None:
        query = query.where(CampaignRecipient.campaign_id != exclude_campaign)
    return dict(session.execute(query).all())


def surveys_due(session: Session, now: datetime, *, within_days: int = 30) -> list[tuple[Customer, datetime | None,
                                                                                       datetime]]:
    """Customers with a consented e-mail whose yearly survey (R25) falls due within ``within_days``:
    (customer, last survey, due by), most overdue first."""
    last = last_surveys(session)
    horizon = now + timedelta(days=within_days)
    due = []
    query = select(Customer).where(Customer.email.is_not(None), Customer.email_consent_at.is_not(None))
    for customer in session.scalars(query.order_by(Customer.account_number)):
        previous = last.get(customer.id)
        by = (previous + timedelta(days=SURVEY_MAX_GAP_DAYS)) if previous else customer.imported_at
        if by <= horizon:
            due.append((customer, previous, by))
    due.sort(key=lambda row: row[2])
    return due
