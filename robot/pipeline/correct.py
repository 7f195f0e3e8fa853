"""A specialist corrects what the classifier said about an appeal: kind, topic or scope.

The correction is applied to the appeal (a new kind means a new due date, counted from the same
registration), kept in the history, and stored as training material for the next model.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from classifiers import KINDS, TOPICS
from classifiers.corpus import Example
from robot.app import Robot
from robot.deadlines.plan import replan
from robot.storage.models import Appeal, Correction, Event, Message

_ALLOWED = {"kind": KINDS, "topic": TOPICS, "scope": ("in", "out")}


class NoSuchAppeal(LookupError):
    pass


@dataclass(frozen=True)
class Corrected:
    number: str
    changed: dict[str, tuple[str | None, str]]


def correct(robot: Robot, number: str, *, actor: str, **values: str | None) -> Corrected:
    """Set kind/topic/scope of appeal ``number``; values that are None or unchanged are skipped."""
    for field, value in values.items():
        if field not in _ALLOWED:
            raise ValueError(f"cannot correct {field!r}; only {', '.join(_ALLOWED)}")
        if value is not None and value not in _ALLOWED[field]:
            raise ValueError(f"{field} must be one of {', '.join(_ALLOWED[field])}, not {value!r}")
    now = robot.clock.now()
    with robot.unit_of_work() as session:
        appeal = session.scalar(select(Appeal).where(Appeal.number == number))
        if appeal is None:
            raise NoSuchAppeal(number)
        changed: dict[str, tuple[str | None, str]] = {}
        for field, value in values.items():
            old = getattr(appeal, field)
            if value is None or value == old:
                continue
            setattr(appeal, field, value)
            changed[field] = (old, value)
            session.add(Correction(appeal_id=appeal.id, at=now, actor=actor, field=field, old=old, new=value))
        if "kind" in changed:
            appeal.deadline_kind = None  # a person has decided the kind: its own limit applies
            replan(robot, session, appeal, now=now)
        if changed:
            session.add(Event(appeal_id=appeal.id, at=now, actor=actor, action="corrected",
                              detail={field: {"from": old, "to": new} for field, (old, new) in changed.items()}
                              | {"due_at": appeal.due_at.isoformat()}))
    return Corrected(number, changed)


def corrected_examples(robot: Robot) -> list[Example]:
    """Every corrected appeal as a labelled example: its first inbound text, its labels as corrected."""
    with robot.sessions() as session:
        appeal_ids = session.scalars(select(Correction.appeal_id).distinct()).all()
        rows = session.execute(
            select(Appeal.number, Appeal.kind, Appeal.topic, Appeal.scope, Message.subject, Message.text)
            .join(Message, (Message.appeal_id == Appeal.id) & (Message.direction == "in"))
            .where(Appeal.id.in_(appeal_ids))
            .order_by(Appeal.id, Message.id)
        ).all()
    examples: dict[str, Example] = {}
    for number, kind, topic, scope, subject, text in rows:
        examples.setdefault(number, Example(id=f"correction:{number}", subject=subject or "", text=text,
                                            kind=kind, topic=topic, scope=scope))
    return list(examples.values())
