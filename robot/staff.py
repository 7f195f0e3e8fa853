"""Staff accounts and what each member of staff may see (R26: access limited to those who need it).

Roles: a *specialist* answers the appeals of their queues; a *routing* specialist completes and
forwards from the routing and triage queues; a *manager* watches the queues they supervise; an
*admin* sees everything and manages users. Queues come from routing_rules.yaml (members and
supervisor are logins) and from the user's own list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from robot.routing.load import load_rules
from robot.storage.models import Appeal, User

ROLES = ("specialist", "routing", "manager", "admin")
#: Queues a routing specialist works in besides their own (R10: completeness check and triage).
ROUTING_QUEUES = ("routing", "triage", "no-action", "out-of-scope")

_HASHER = PasswordHasher()
#: Verified when a login does not exist, so that "no such user" takes as long as "wrong password".
_DUMMY_HASH = _HASHER.hash("not a password")


class StaffError(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise StaffError("the password must have at least 8 characters")
    return _HASHER.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def add_user(session: Session, *, login: str, role: str, password: str, now, queues: list[str] | None = None,
             name: str = "", email: str | None = None) -> User:
    """Create a user, or update the role, queues and password of an existing login."""
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    login = login.strip()
    if not login or any(ch.isspace() for ch in login):
        raise StaffError("a login is one word")
    user = session.scalar(select(User).where(User.login == login))
    if user is None:
        user = User(login=login, created_at=now, role=role)
        session.add(user)
    user.role = role
    user.queues = sorted(set(queues or []))
    user.name = name or user.name or login
    user.email = email or user.email
    user.password_hash = hash_password(password)
    user.active = True
    session.flush()
    return user


def authenticate(session: Session, login: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.login == login))
    if user is None or not user.active:
        check_password(None, password)  # same work either way
        return None
    return user if check_password(user.password_hash, password) else None


@dataclass(frozen=True)
class QueueInfo:
    name: str
    title: str
    members: tuple[str, ...]
    supervisor: str | None


class QueueDirectory:
    """The queues of routing_rules.yaml, re-read when the file changes (as the router does)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime: int | None = None
        self._queues: dict[str, QueueInfo] = {}

    @property
    def queues(self) -> dict[str, QueueInfo]:
        mtime = self.path.stat().st_mtime_ns
        if mtime != self._mtime:
            rules = load_rules(self.path).rules
            self._queues = {q.name: QueueInfo(q.name, q.title, tuple(q.members), q.supervisor) for q in rules.queues}
            self._mtime = mtime
        return self._queues

    def title(self, name: str | None) -> str:
        info = self.queues.get(name or "")
        return info.title if info else (name or "—")


def visible_queues(user: User, directory: QueueDirectory) -> set[str] | None:
    """The queues whose appeals ``user`` may see; None means all (an admin)."""
    if user.role == "admin":
        return None
    mine = set(user.queues or [])
    for queue in directory.queues.values():
        if user.login in queue.members:
            mine.add(queue.name)
        if user.role == "manager" and queue.supervisor == user.login:
            mine.add(queue.name)
    if user.role == "routing":
        mine.update(ROUTING_QUEUES)
    return mine


def can_see(user: User, appeal: Appeal, directory: QueueDirectory) -> bool:
    queues = visible_queues(user, directory)
    return queues is None or appeal.queue in queues
