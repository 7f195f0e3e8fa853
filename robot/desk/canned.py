"""Canned answers (``templates/answers/*.txt.j2``) that the composer offers, filled for one appeal."""

from __future__ import annotations

import re
from dataclasses import dataclass

from robot.app import Robot
from robot.storage.models import Appeal

_TITLE = re.compile(r"\{#-?\s*(.+?)\s*-?#\}")


@dataclass(frozen=True)
class Canned:
    name: str
    title: str


def available(robot: Robot) -> list[Canned]:
    folder = robot.settings.templates_dir / "answers"
    found = []
    for path in sorted(folder.glob("*.txt.j2")):
        first = path.read_text(encoding="utf-8").split("\n", 1)[0]
        match = _TITLE.match(first)
        found.append(Canned(path.name.removesuffix(".txt.j2"), match.group(1) if match else path.name))
    return found


def render(robot: Robot, name: str, appeal: Appeal, *, author: str) -> str:
    """The text of canned answer ``name`` for ``appeal``; KeyError if there is no such answer."""
    if name not in {c.name for c in available(robot)}:
        raise KeyError(name)
    template = robot.templates.get_template(f"answers/{name}.txt.j2")
    text = template.render(number=appeal.number, customer_name=appeal.customer_name,
                           customer_subject=appeal.subject, registered_at=appeal.registered_at,
                           due_at=appeal.due_at, author=author)
    return text.strip() + "\n"
