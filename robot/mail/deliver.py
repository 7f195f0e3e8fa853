"""Deliver the robot's outgoing mail: through the relay, or into the local outbox.

A row is claimed by pushing its ``next_attempt_at`` forward by a lease before talking to the
relay, so two workers never send the same row at once, and a worker killed mid-send leaves a row
that becomes due again when the lease runs out. A relay that is down delays mail, with growing
pauses between tries; it never loses it. (Between the relay's 250 and our commit a crash can
still send a message twice — the same window every MTA has.)
"""

from __future__ import annotations

import logging
import os
import smtplib
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update

from robot.app import Robot
from robot.dispatch import DELIVER_MAIL
from robot.mail.bounces import mark_bouncing
from robot.storage.models import Event, OutboundMail
from robot.storage.rows import add_rows

log = logging.getLogger("robot.mail.deliver")

#: How long a claimed row is ours before another worker may try it.
LEASE = timedelta(minutes=5)
#: After this long without success the mail is given up and shown as failed (as MTAs do).
GIVE_UP_AFTER = timedelta(days=5)


def backoff(attempts: int) -> timedelta:
    """Pause before the next try: 30 s, 1 min, 2 min, … capped at 30 min."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 1800))


def deliver_job_id(outbound_id: int, attempts: int) -> str:
    """One job id per try, so a scheduled retry and a reconciler's re-enqueue coincide."""
    return f"deliver-{outbound_id}-{attempts}"


class PermanentFailure(Exception):
    """The relay refused the message for good (5xx)."""


#: How a permanent refusal of the recipient starts; such an address is marked as bouncing.
RECIPIENT_REFUSED = "relay refused the recipient"


def deliver(robot: Robot, outbound_id: int, *, claimed: bool = False) -> str:
    """Try to deliver one outgoing mail now. Returns what happened: sent|retry|failed|skipped.

    ``claimed``: the caller already holds the claim (the mail was stored claimed).
    """
    return deliver_many(robot, [outbound_id], claimed=claimed)[0]


def deliver_many(robot: Robot, outbound_ids: Sequence[int], *, claimed: bool = False) -> list[str]:
    """Deliver several mails over the kept relay connection; one transaction records the outcomes."""
    now = robot.clock.now()
    ids = list(outbound_ids)
    if claimed:
        with robot.sessions() as session:
            mails = {m.id: m for m in session.scalars(select(OutboundMail).where(OutboundMail.id.in_(ids)))}
    else:
        with robot.unit_of_work() as session:
            taken = session.scalars(
                update(OutboundMail)
                .where(OutboundMail.id.in_(ids), OutboundMail.status == "pending",
                       OutboundMail.next_attempt_at <= now)
                .values(next_attempt_at=now + LEASE, attempts=OutboundMail.attempts + 1)
                .returning(OutboundMail.id)
            ).all()
            mails = {m.id: m for m in session.scalars(select(OutboundMail).where(OutboundMail.id.in_(taken)))}

    outcomes: dict[int, tuple[str, str | None, datetime | None]] = {}
    for outbound_id in ids:
        mail = mails.get(outbound_id)
        if mail is None or mail.status != "pending":
            continue
        try:
            _send(robot, mail)
        except PermanentFailure as error:
            outcomes[mail.id] = ("failed", str(error), None)
        except (OSError, smtplib.SMTPException) as error:
            if now - mail.created_at > GIVE_UP_AFTER:
                outcomes[mail.id] = ("failed", f"gave up after {mail.attempts} tries: {error}", None)
            else:
                outcomes[mail.id] = ("retry", str(error)[:1000], now + backoff(mail.attempts))
        else:
            outcomes[mail.id] = ("sent", None, None)
    if outcomes:
        _record_outcomes(robot, mails, outcomes)
    return [outcomes[i][0] if i in outcomes else "skipped" for i in ids]


def _record_outcomes(robot: Robot, mails: dict[int, OutboundMail],
                     outcomes: dict[int, tuple[str, str | None, datetime | None]]) -> None:
    now = robot.clock.now()
    table = OutboundMail.__table__
    sent = [outbound_id for outbound_id, (status, _, _) in outcomes.items() if status == "sent"]
    events: list[dict[str, object]] = []
    # A few rows, and this worker's next job waits for them: ahead of the other worker's
    # registrations (bench/ingest.py: end-to-end 100-102 -> 103-106 msg/s).
    with robot.unit_of_work(priority=True) as session:
        if sent:  # the usual case, one statement for all
            session.execute(update(table).where(table.c.id.in_(sent)).values(status="sent", sent_at=now, last_error=None))
        for outbound_id, (status, error, retry_at) in outcomes.items():
            mail = mails[outbound_id]
            if status == "retry":
                session.execute(update(table).where(table.c.id == outbound_id)
                                .values(next_attempt_at=retry_at, last_error=error))
                continue
            if status != "sent":
                session.execute(update(table).where(table.c.id == outbound_id)
                                .values(status=status, sent_at=None, last_error=error))
            if status == "failed" and error and error.startswith(RECIPIENT_REFUSED):
                # The same news as a bounce, only sooner: no more automatic mail to the address.
                mark_bouncing(session, mail.rcpt_to, now, outbound_id=mail.id, status=None, diagnostic=error[:1000])
            events.append({"appeal_id": mail.appeal_id, "at": now, "actor": "robot", "action": f"mail_{status}",
                           "detail": {"outbound_id": mail.id, "purpose": mail.purpose, "to": mail.rcpt_to,
                                      **({"error": error} if error else {})}})
        add_rows(session, Event, events)
    for outbound_id, (status, error, retry_at) in outcomes.items():
        mail = mails[outbound_id]
        if status == "retry":
            assert retry_at is not None
            log.warning("delivery of outbound %s failed (try %s), next at %s: %s", mail.id, mail.attempts,
                        retry_at.astimezone(robot.settings.tz).isoformat(), error)
            robot.dispatcher.enqueue(DELIVER_MAIL, mail.id, job_id=deliver_job_id(mail.id, mail.attempts), at=retry_at)
        else:
            log.info("outbound %s (%s to %s): %s", mail.id, mail.purpose, mail.rcpt_to, status)


def _send(robot: Robot, mail: OutboundMail) -> None:
    if not robot.settings.outbound_smtp_host:
        _write_outbox(robot, mail)
        return
    try:
        robot.relay.send(mail.mail_from, mail.rcpt_to, mail.raw)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        if all(500 <= code < 600 for code in codes):
            raise PermanentFailure(f"{RECIPIENT_REFUSED}: {error.recipients}") from error
        raise
    except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as error:
        if 500 <= error.smtp_code < 600:
            raise PermanentFailure(f"relay refused the message: {error.smtp_code} {error.smtp_error!r}") from error
        raise


def _write_outbox(robot: Robot, mail: OutboundMail) -> None:
    """Write the mail as an .eml file; write-then-rename so a reader never sees half a file."""
    outbox = robot.settings.outbox_dir
    outbox.mkdir(parents=True, exist_ok=True)
    final = outbox / f"{mail.id:08d}-{mail.purpose}.eml"
    temp = final.with_suffix(".tmp")
    with open(temp, "wb") as handle:
        handle.write(mail.raw)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, final)
