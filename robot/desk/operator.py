"""Operator entry (R3): an appeal that came by phone, by post or in person, into the same journal.

Registered here directly rather than through ``robot.intake.accept`` and the worker: the operator
states the kind (there is nothing to classify and nobody to acknowledge by e-mail), and the caller
on the phone must hear the registration number at once, which only a synchronous registration can
give. The rule that matters still holds: the input is committed — as a raw record of what the
operator typed, beside the appeal — before anyone is told its number. Routing is the same as for
mail: the router reads the address and text for the territory.

Every appeal is registered (Standard § 2), an anonymous letter too: one with no name, phone,
address, e-mail or account, in the fields or in its text, is registered as not considered, with
nothing planned and nothing sent (R8).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass

from classifiers.detectors import detect_flags
from robot.app import Robot
from robot.deadlines.limits import due_at
from robot.deadlines.plan import register_deadlines
from robot.desk.audit import Actor, record
from robot.pipeline.register import next_number
from robot.routing import Facts
from robot.storage.models import Appeal, Event, Message, RawMessage

CHANNELS = ("phone", "post", "in_person")
KINDS = ("question", "application", "complaint")


class EntryError(ValueError):
    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True)
class Entry:
    channel: str
    kind: str
    text: str
    customer_name: str = ""
    customer_phone: str = ""
    customer_email: str = ""
    customer_address: str = ""
    account_number: str = ""
    subject: str = ""
    topic: str = ""

    @property
    def anonymous(self) -> bool:
        """No contact details in the fields, nor in the text (R8: not considered, nothing sent)."""
        fields = (self.customer_name, self.customer_phone, self.customer_address, self.customer_email,
                  self.account_number)
        return not any(f.strip() for f in fields) and "no_contact" in detect_flags(self.subject, self.text)

    def check(self) -> None:
        if self.channel not in CHANNELS:
            raise EntryError("channel")
        if self.kind not in KINDS:
            raise EntryError("kind")
        if not self.text.strip():
            raise EntryError("text")
        if self.customer_email and "@" not in self.customer_email:
            raise EntryError("customer_email")


@dataclass(frozen=True)
class Registered:
    number: str
    queue: str | None  # where routing sent it
    status: str  # registered, or not_considered (R8: anonymous)


def register(robot: Robot, entry: Entry, actor: Actor) -> Registered:
    """Register ``entry``."""
    entry.check()
    now = robot.clock.now()
    text = entry.text.strip()
    subject = entry.subject.strip() or text.split("\n", 1)[0][:120]
    status, flags = ("not_considered", ["no_contact"]) if entry.anonymous else ("registered", [])
    routing = robot.router.route(Facts(
        subject=subject, text=f"{text}\n{entry.customer_address}", kind=entry.kind, topic=entry.topic or "other",
        scope="in", flags=flags, status=status, channel=entry.channel, sender=entry.customer_email or None,
        account=entry.account_number or None))
    territory = routing.territory
    raw = json.dumps({"operator": actor.login, **asdict(entry)}, ensure_ascii=False, indent=1).encode()
    with robot.unit_of_work() as session:
        raw_row = RawMessage(channel=entry.channel, received_at=now, peer=actor.ip, mail_from=None, rcpt_to=[],
                             message_id=None, sha256=hashlib.sha256(raw).hexdigest(),
                             dedupe_key=f"operator:{secrets.token_hex(16)}", size=len(raw), raw=raw,
                             status="processed", processed_at=now)
        session.add(raw_row)
        year = now.astimezone(robot.settings.tz).year
        seq, number = next_number(session, year)
        appeal = Appeal(
            number=number, year=year, seq=seq, channel=entry.channel, registered_at=now,
            due_at=due_at(robot.calendar, now, entry.kind), kind=entry.kind, kind_confidence=None,
            classification={"source": "operator"}
            | ({"decision": {"status": status, "reason": "no_contact"}} if flags else {}),
            status=status, topic=entry.topic or None, scope="in", flags=flags, subject=subject,
            customer_name=entry.customer_name.strip() or None,
            customer_email=entry.customer_email.strip().lower() or None,
            customer_phone=entry.customer_phone.strip() or None,
            customer_address=entry.customer_address.strip() or None,
            account_number=entry.account_number.strip() or None,
            queue=routing.queue, assignee=routing.assignee, routing=routing.as_dict(),
            region=territory.region, city_district=territory.district, branch=territory.branch,
            unit=territory.unit_name, reason=subject, dispatcher=actor.name or actor.login,
        )
        session.add(appeal)
        session.flush()
        register_deadlines(robot, session, appeal, now=now)  # R14's limit for post; due actions planned
        raw_row.appeal_id = appeal.id
        session.add(Message(appeal_id=appeal.id, direction="in", created_at=now, raw_message_id=raw_row.id,
                            sender=entry.customer_email or None, subject=subject, text=text))
        session.add(Event(appeal_id=appeal.id, raw_message_id=raw_row.id, at=now, actor=actor.login,
                          action="registered", detail={"number": number, "kind": entry.kind, "status": status,
                                                       "channel": entry.channel, "by": "operator"}))
        session.add(Event(appeal_id=appeal.id, at=now, actor="robot", action="routed",
                          detail={"queue": routing.queue, "hits": [h["rule"] for h in routing.hits]}))
        record(session, actor, "registered", at=now, appeal_id=appeal.id, target=number,
               detail={"channel": entry.channel, "kind": entry.kind})
    return Registered(number, routing.queue, status)
