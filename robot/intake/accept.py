"""The one entry point of every intake: store the raw input, commit, then hand it to the workers."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from robot.app import Robot
from robot.dispatch import PROCESS_MESSAGES, process_job_id
from robot.mail.parse import content_fingerprint, sniff_message_id
from robot.storage.models import Event, RawMessage
from robot.storage.rows import add_rows

log = logging.getLogger("robot.intake")


@dataclass(frozen=True)
class Accepted:
    raw_id: int
    duplicate: bool


@dataclass(frozen=True)
class Incoming:
    """One piece of raw input, as an intake received it."""

    raw: bytes
    channel: str
    mail_from: str | None = None
    rcpt_to: list[str] = field(default_factory=list)
    peer: str | None = None
    #: Rows that belong with this input, added in the same transaction once it is stored (a web
    #: submission's consent record); not called for a duplicate. An IntegrityError it causes fails
    #: the input as a whole, as a storage error would.
    also: Callable[[Session, RawMessage], None] | None = field(default=None, compare=False)

    @property
    def message_id(self) -> str | None:
        return sniff_message_id(self.raw)


def dedupe_key(message_id: str | None, raw: bytes) -> str:
    """Message-ID plus content: a redelivery matches, a different mail reusing an id does not."""
    return hashlib.sha256(f"{message_id or ''}\n{content_fingerprint(raw)}".encode()).hexdigest()


def accept(robot: Robot, raw: bytes, *, channel: str, mail_from: str | None = None,
           rcpt_to: list[str] | None = None, peer: str | None = None) -> Accepted:
    """Commit ``raw`` durably (or raise); only then may the caller acknowledge the sender."""
    return accept_many(robot, [Incoming(raw, channel, mail_from, list(rcpt_to or []), peer)])[0]


def accept_many(robot: Robot, items: Sequence[Incoming]) -> list[Accepted]:
    """Commit several inputs in one transaction (group commit); then enqueue their processing.

    Raises if storage fails: then none of them is stored and every sender must be told to retry.
    """
    keyed = [(item, item.message_id) for item in items]
    keys = [dedupe_key(message_id, item.raw) for item, message_id in keyed]
    try:
        results = _store(robot, keyed, keys)
    except IntegrityError:
        if len(items) == 1:
            # Two concurrent deliveries of the same message: the other one committed first.
            with robot.sessions() as session:
                existing = session.scalar(select(RawMessage.id).where(RawMessage.dedupe_key == keys[0]))
            if existing is None:
                raise
            return [Accepted(existing, duplicate=True)]
        # Someone else stored one of these meanwhile; sort the batch out one by one.
        return [result for item in items for result in accept_many(robot, [item])]
    fresh = list(dict.fromkeys(result.raw_id for result in results if not result.duplicate))
    if fresh:
        # One job for what arrived together: the worker processes it in one transaction too.
        robot.dispatcher.enqueue(PROCESS_MESSAGES, fresh, job_id=process_job_id(fresh))
    return results


_RAWS = RawMessage.__table__
_EXISTING = select(_RAWS.c.dedupe_key, _RAWS.c.id).where(_RAWS.c.dedupe_key.in_(bindparam("keys", expanding=True)))
_INSERT_RAW = insert(_RAWS).returning(_RAWS.c.id, sort_by_parameter_order=True)


def _store(robot: Robot, keyed: list[tuple[Incoming, str | None]], keys: list[str]) -> list[Accepted]:
    # Core inserts, not ORM objects: the gateway's commit thread stores every message that arrives,
    # and the unit-of-work bookkeeping of an ORM flush cost as much as the rest of the commit.
    with robot.unit_of_work(priority=True) as session:  # a sender waits for this commit
        # Core on the session's connection, the statements built once: the ORM's way through
        # Session.execute cost more than the statements (the commit thread answers every sender).
        connection = session.connection()
        existing = dict(connection.execute(_EXISTING, {"keys": list(set(keys))}).all())
        now = robot.clock.now()
        rows: list[dict[str, object]] = []
        fresh: dict[str, int] = {}  # dedupe key → index in rows
        for (item, message_id), key in zip(keyed, keys):
            if key in existing:
                log.info("duplicate delivery of raw message %s (message-id %s)", existing[key], message_id)
            elif key not in fresh:  # the same message twice in one batch is stored once
                fresh[key] = len(rows)
                rows.append({"channel": item.channel, "received_at": now, "peer": item.peer,
                             "mail_from": item.mail_from, "rcpt_to": list(item.rcpt_to), "message_id": message_id,
                             "sha256": hashlib.sha256(item.raw).hexdigest(), "dedupe_key": key,
                             "size": len(item.raw), "raw": item.raw, "status": "received", "attempts": 0})
        ids: list[int] = []
        if rows:
            ids = list(connection.execute(_INSERT_RAW, rows).scalars())
            add_rows(session, Event, [
                {"raw_message_id": raw_id, "appeal_id": None, "at": now, "actor": f"intake:{row['channel']}",
                 "action": "received", "detail": {"size": row["size"], "peer": row["peer"]}}
                for raw_id, row in zip(ids, rows)])
        for (item, _), key in zip(keyed, keys):
            if item.also is not None and key in fresh and key not in existing:
                raw = session.get(RawMessage, ids[fresh[key]])
                assert raw is not None
                item.also(session, raw)
    results: list[Accepted] = []
    first: set[str] = set()
    for key in keys:
        if key in existing:
            results.append(Accepted(existing[key], duplicate=True))
        else:
            results.append(Accepted(ids[fresh[key]], duplicate=key in first))
            first.add(key)
    return results
