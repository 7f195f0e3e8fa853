"""The system of record: raw input, appeals, messages, attachments, outgoing mail, history.

Redis only executes work; everything due can be re-derived from these tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
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
    __table_args__ = (Index("ix_outbound_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))  # ack | ...
    created_at: Mapped[datetime]
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    mail_from: Mapped[str] = mapped_column(String(320))
    rcpt_to: Mapped[str] = mapped_column(String(320))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    #: pending → sent | failed (permanent refusal by the relay)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


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
