"""The audit log (R26): who saw an appeal's personal data, who changed what, who logged in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from robot.storage.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """A member of staff acting in the desk (or at the command line)."""

    login: str
    name: str = ""
    ip: str | None = None


def record(session: Session, actor: Actor | str, action: str, *, at: datetime, appeal_id: int | None = None,
           target: str | None = None, detail: dict[str, Any] | None = None) -> None:
    if isinstance(actor, str):
        actor = Actor(actor)
    session.add(AuditEntry(at=at, actor=actor.login, action=action, appeal_id=appeal_id,
                           target=(target or None) and target[:255], ip=actor.ip, detail=detail or {}))


def failed_logins(session: Session, *, login: str, ip: str | None, since: datetime) -> int:
    """Failed logins for this login, or from this address, since ``since`` (the rate limit counts them)."""
    who = AuditEntry.target == login
    if ip:
        who = or_(who, AuditEntry.ip == ip)
    return session.scalar(
        select(func.count()).select_from(AuditEntry)
        .where(AuditEntry.action == "login_failed", AuditEntry.at >= since, who)
    ) or 0


def entries(session: Session, *, actor: str | None = None, appeal_id: int | None = None,
            action: str | None = None, limit: int = 200) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if appeal_id is not None:
        query = query.where(AuditEntry.appeal_id == appeal_id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(session.scalars(query))
