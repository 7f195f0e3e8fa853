"""The system of record: raw input, appeals, messages, attachments, outgoing mail, history.

Redis only executes work; everything due can be re-derived from these tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from robot.storage.types import UTCDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class RawMessage(Base):
    """Input exactly as it arrived, committed before the sender is told "accepted"."""

    __tablename__ = "raw_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | imap | web | operator
    received_at: Mapped[datetime]
    peer: Mapped[str | None] = mapped_column(String(255))
    mail_from: Mapped[str | None] = mapped_column(String(512))
    rcpt_to: Mapped[list[Any]] = mapped_column(default=list)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    #: Message-ID plus a hash of the content without trace headers; a redelivery has the same key.
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    size: Mapped[int]
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    #: received → processed | automatic | quarantined
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    processed_at: Mapped[datetime | None]
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"))


class ImapMailbox(Base):
    """Where the IMAP intake stands in one folder: its UIDVALIDITY and the highest UID stored.

    A changed UIDVALIDITY means every UID the robot knew is void; the folder is read again from
    the start, and what was stored already is recognised as a redelivery.
    """

    __tablename__ = "imap_mailboxes"
    __table_args__ = (UniqueConstraint("host", "username", "folder", name="uq_imap_mailboxes_folder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    username: Mapped[str] = mapped_column(String(255))
    folder: Mapped[str] = mapped_column(String(255))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime]


class RegistrationCounter(Base):
    """The last registration number issued in a year; incremented inside the registering transaction."""

    __tablename__ = "registration_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


class Appeal(Base):
    """One appeal (обращение) and the journal columns of R19."""

    __tablename__ = "appeals"
    __table_args__ = (UniqueConstraint("year", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int]
    seq: Mapped[int]
    channel: Mapped[str] = mapped_column(String(16))
    registered_at: Mapped[datetime]
    due_at: Mapped[datetime]
    #: Deadlines (robot/deadlines): the kind whose limit set ``due_at`` (None: ``kind``); a version
    #: that every change of ``due_at`` bumps (a due action of an older version never fires); the one
    #: extension; the escalation at the due moment; when the answer went out.
    deadline_kind: Mapped[str | None] = mapped_column(String(16))
    deadline_version: Mapped[int] = mapped_column(default=0, server_default="0")
    extension_days: Mapped[int] = mapped_column(default=0, server_default="0")
    extended_at: Mapped[datetime | None]
    extended_by: Mapped[str | None] = mapped_column(String(128))
    extension_reason: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None]
    escalated_to: Mapped[str | None] = mapped_column(String(128))
    answered_at: Mapped[datetime | None]
    kind: Mapped[str] = mapped_column(String(16))  # question | application | complaint
    kind_confidence: Mapped[float | None]
    classification: Mapped[dict[str, Any]] = mapped_column(default=dict)
    topic: Mapped[str | None] = mapped_column(String(64))
    scope: Mapped[str | None] = mapped_column(String(16))
    flags: Mapped[list[Any]] = mapped_column(default=list)
    #: registered → (later issues) routed → answered → closed
    status: Mapped[str] = mapped_column(String(24), default="registered", index=True)
    subject: Mapped[str | None] = mapped_column(Text)

    customer_name: Mapped[str | None] = mapped_column(String(255))
    customer_email: Mapped[str | None] = mapped_column(String(320), index=True)
    customer_phone: Mapped[str | None] = mapped_column(String(64))
    customer_address: Mapped[str | None] = mapped_column(Text)
    account_number: Mapped[str | None] = mapped_column(String(64))

    #: Where routing put the appeal, and why (rules version, territory evidence, rule hits/misses).
    queue: Mapped[str | None] = mapped_column(String(64), index=True)
    assignee: Mapped[str | None] = mapped_column(String(128))
    routing: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: low | normal | high | urgent (a routing rule may set it).
    priority: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    #: Fields the kind requires that the customer has not given (R10: the routing specialist's checklist);
    #: when the robot asks for them, the status is awaiting_customer.
    missing_fields: Mapped[list[Any]] = mapped_column(default=list)

    # Journal columns (R19); territory and people are filled by routing and the desk.
    region: Mapped[str | None] = mapped_column(String(128))
    city_district: Mapped[str | None] = mapped_column(String(128))
    branch: Mapped[str | None] = mapped_column(String(32))  # ПЭС: ЗЭС, ВЭС, СЭС
    unit: Mapped[str | None] = mapped_column(String(128))  # РЭС
    reason: Mapped[str | None] = mapped_column(Text)
    dispatcher: Mapped[str | None] = mapped_column(String(128))
    responsible: Mapped[str | None] = mapped_column(String(128))
    measures_taken: Mapped[str | None] = mapped_column(Text)
    executed_at: Mapped[datetime | None]
    delay_reason: Mapped[str | None] = mapped_column(Text)
    answer_text: Mapped[str | None] = mapped_column(Text)
    gratitude: Mapped[str | None] = mapped_column(Text)
    #: Replies of the customer that joined the appeal since the desk last showed it to the assignee.
    unread_replies: Mapped[int] = mapped_column(default=0, server_default="0")

    messages: Mapped[list[Message]] = relationship(back_populates="appeal", order_by="Message.id")
    events: Mapped[list[Event]] = relationship(back_populates="appeal", order_by="Event.id")


class Message(Base):
    """A readable message of an appeal's thread, in either direction."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    created_at: Mapped[datetime]
    raw_message_id: Mapped[int | None] = mapped_column(ForeignKey("raw_messages.id"))
    outbound_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_mail.id"))
    message_id: Mapped[str | None] = mapped_column(String(998))
    sender: Mapped[str | None] = mapped_column(String(512))
    subject: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)
    defects: Mapped[list[Any]] = mapped_column(default=list)

    appeal: Mapped[Appeal] = relationship(back_populates="messages")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="message", order_by="Attachment.id")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(512))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)

    message: Mapped[Message] = relationship(back_populates="attachments")


class OutboundMail(Base):
    """A message the robot sends. Rendered once; delivery is retried until the relay takes it."""

    __tablename__ = "outbound_mail"
    __table_args__ = (Index("ix_outbound_due", "status", "next_attempt_at"),
                      # The per-sender cap on automatic replies counts a recipient's recent mail.
                      Index("ix_outbound_rcpt_created", "rcpt_to", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))  # ack | ...
    created_at: Mapped[datetime]
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    mail_from: Mapped[str] = mapped_column(String(320))
    rcpt_to: Mapped[str] = mapped_column(String(320))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    #: pending → sent | failed (permanent refusal by the relay); sent → bounced (a DSN came back)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


class BouncingAddress(Base):
    """An address our mail bounced from: the robot sends it no automatic mail for a while.

    Set by a delivery status notification (or a permanent refusal of the relay); its time lets
    the hold run out (``bounce_hold_days``), so a mailbox that was full last month gets mail again.
    """

    __tablename__ = "bouncing_addresses"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    first_bounce_at: Mapped[datetime]
    last_bounce_at: Mapped[datetime]
    bounces: Mapped[int] = mapped_column(default=1)
    last_outbound_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_mail.id"))
    #: The enhanced status code and the remote server's words, as the report gave them.
    last_status: Mapped[str | None] = mapped_column(String(32))
    last_diagnostic: Mapped[str | None] = mapped_column(Text)


class DueAction(Base):
    """Something due at a moment for an appeal: a reminder, the escalation, a notice to the customer.

    The database is the schedule; RQ only runs what falls due soon (robot/deadlines/schedule.py).
    ``version`` is the appeal's ``deadline_version`` the row was planned for: a row of an older
    version is superseded, never fired.
    """

    __tablename__ = "due_actions"
    # The reconciler's one query: pending rows by due moment.
    __table_args__ = (Index("ix_due_actions_state_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), index=True)
    action: Mapped[str] = mapped_column(String(24))  # remind | escalate | notify_customer
    due_at: Mapped[datetime]
    #: The appeal's due moment the row was planned for: if the appeal's has moved since (by any
    #: code), the row is stale and the plan is made again.
    deadline_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=0)
    #: pending → done | cancelled (answered, closed) | superseded (the deadline changed) | failed
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class DeadlineRules(Base):
    """The fingerprint of the calendars and limits that open deadlines were last computed with."""

    __tablename__ = "deadline_rules"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    fingerprint: Mapped[str] = mapped_column(String(128))
    applied_at: Mapped[datetime]


class Correction(Base):
    """A specialist's correction of what the classifier said; training material for the next model."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    field: Mapped[str] = mapped_column(String(16))  # kind | topic | scope
    old: Mapped[str | None] = mapped_column(String(64))
    new: Mapped[str] = mapped_column(String(64))


class Event(Base):
    """History: every state change, who made it and when."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"), index=True)
    raw_message_id: Mapped[int | None] = mapped_column(ForeignKey("raw_messages.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    appeal: Mapped[Appeal | None] = relationship(back_populates="events")


class User(Base):
    """A member of staff: a login, a role and the queues they work in.

    Routing rules, queues (members, supervisor) and appeals (assignee) name staff by login; the
    e-mail address for staff notifications is looked up here.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(32))  # specialist | routing | manager | admin
    queues: Mapped[list[Any]] = mapped_column(default=list)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class Customer(Base):
    """A customer with a contract, as the billing system exports them (R24).

    The e-mail is kept only when the customer gave it voluntarily (``email_consent_at``); the
    phone is the one from the contract.
    """

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    email_consent_at: Mapped[datetime | None]
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(Text)
    #: The network unit (РЭС) code the territory resolved to, from routing_rules.yaml.
    unit: Mapped[str | None] = mapped_column(String(64), index=True)
    territory: Mapped[str | None] = mapped_column(String(255))
    #: File and line the row was last imported from.
    source: Mapped[str | None] = mapped_column(String(512))
    imported_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AuditEntry(Base):
    """Who saw or changed what (R26): every view of an appeal's personal data, every change, every login."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_target_at", "action", "target", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(128))  # a login, or "-" before one is known
    action: Mapped[str] = mapped_column(String(64))  # appeal_viewed, answered, login_failed, ...
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"), index=True)
    #: What the action was about besides an appeal: a login tried, an attachment, an export.
    target: Mapped[str | None] = mapped_column(String(255))
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Publication(Base):
    """An answer, or a complaint's short summary, marked for the Internet reception (R17)."""

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # answer | summary
    title: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))


class ConsentText(Base):
    """One wording of the personal-data consent (152-FZ) that a web form showed, kept verbatim."""

    __tablename__ = "consent_texts"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    first_used_at: Mapped[datetime]


class WebSubmission(Base):
    """A web form or API submission: its validated fields and the consent given with it.

    Committed before its raw message; the raw message's Message-ID names the submission, so the
    pipeline finds the form's kind and territory, and a resent form (same nonce) is recognised.
    """

    __tablename__ = "web_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The confirmation page's address: unguessable, shows the number and due date only.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    #: The form's one-time nonce (or the API's idempotency key): a second send of it is the same submission.
    nonce: Mapped[str] = mapped_column(String(128), unique=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    source: Mapped[str] = mapped_column(String(8))  # form | api
    form: Mapped[str] = mapped_column(String(16))  # question | application | complaint | review
    created_at: Mapped[datetime]
    customer_email: Mapped[str] = mapped_column(String(320))
    #: name, phone, address, region, district, account — as the customer gave them, validated.
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    consent_version: Mapped[str] = mapped_column(String(32))
    consent_sha256: Mapped[str] = mapped_column(ForeignKey("consent_texts.sha256"))
    consent_at: Mapped[datetime]
    consent_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))


# The desk's queue page lists a queue's open appeals by due date (bench/desk.py measures it).
Index("ix_appeals_queue_status_due", Appeal.queue, Appeal.status, Appeal.due_at)
Index("ix_appeals_due_at", Appeal.due_at)


class Campaign(Base):
    """An auto-informer campaign (R21–R25): a scenario, its recipients, a window and a state.

    draft → approved → running → finished | stopped. ``approved_hash`` is the hash of what a
    manager approved (scenario, window, recipients); the planner sends only while it equals the
    hash of what the campaign is now, so any change after approval needs a new approval (R24).
    """

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    #: info | debt | tariff | action | suspension | outage | survey
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))  # email | phone
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: {"all": bool, "units": [codes]}: customers the campaign takes besides an imported list.
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    #: Planned outages (R21): when it was decided, and the outage itself.
    decided_at: Mapped[datetime | None]
    outage_starts_at: Mapped[datetime | None]
    outage_ends_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    recipients_hash: Mapped[str] = mapped_column(String(64), default="")
    approved_hash: Mapped[str | None] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(128))
    approved_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    source: Mapped[str | None] = mapped_column(String(512))


class CampaignRecipient(Base):
    """One customer of a campaign, the variables of their message, and where they stand.

    pending (sends due every 7 days, R23) → positive (confirmed | replied | paid | marked)
    | bounced (hard bounce: no more sends) | excluded (no consented e-mail, survey cap) | ended.
    """

    __tablename__ = "campaign_recipients"
    __table_args__ = (UniqueConstraint("campaign_id", "customer_id"),
                      Index("ix_campaign_recipients_due", "campaign_id", "state", "next_due_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    next_due_at: Mapped[datetime | None]
    last_sent_at: Mapped[datetime | None]
    positive_at: Mapped[datetime | None]
    added_at: Mapped[datetime]
    source: Mapped[str | None] = mapped_column(String(512))


class CampaignAttempt(Base):
    """One send to one recipient: its channel, address, the mail that carries it and its result.

    ``seq`` numbers a recipient's sends (the first, the resend of week 2, …): unique per recipient,
    so a send can never be planned twice. For e-mail the attempt and its OutboundMail are stored in
    one transaction; a phone attempt carries its call's outcome here instead (robot/phone).
    """

    __tablename__ = "campaign_attempts"
    __table_args__ = (UniqueConstraint("recipient_id", "seq"),
                      Index("ix_campaign_attempts_campaign_result", "campaign_id", "result"),
                      # The rate limit counts the sends of the last minute.
                      Index("ix_campaign_attempts_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("campaign_recipients.id"))
    seq: Mapped[int]
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    outbound_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_mail.id"), unique=True)
    created_at: Mapped[datetime]
    #: queued → sent | failed | bounced (e-mail); queued → calling → answered | operator | no_answer |
    #: busy | hung_up | unreachable | interrupted (phone: robot/informer/phone_policy.py)
    result: Mapped[str] = mapped_column(String(16), default="queued")
    result_at: Mapped[datetime | None]
    #: Phone: when the dialler took the call, on which line, baresip's call id and closing reason.
    started_at: Mapped[datetime | None]
    line: Mapped[str | None] = mapped_column(String(32))
    call_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(255))
