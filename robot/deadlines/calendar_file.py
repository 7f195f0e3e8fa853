"""Read calendar.yaml — the company's changes to the production calendar and to the answer limits —
and say exactly what is wrong with it: file, line, the value.

A file with an error is refused whole. Dates are read from the YAML text as written (the YAML
loader's own date parsing would fail on 2026-02-30 without saying where).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from robot.deadlines.calendar import Overrides
from robot.deadlines.limits import LIMIT_KEYS

_DAY_LISTS = ("days_off", "working_days", "shortened_days", "full_days")
_TOP = (*_DAY_LISTS, "limits", "calendars")


class CalendarError(ValueError):
    """calendar.yaml is malformed; the message names the file, the line and the value."""


@dataclass(frozen=True)
class CalendarFile:
    company: Overrides = field(default_factory=Overrides)
    #: Named override sets; a queue names one with ``calendar:`` in routing_rules.yaml.
    sets: dict[str, Overrides] = field(default_factory=dict)
    #: Answer limits in working days that replace the Standard's (by kind, or ``post``).
    limits: dict[str, int] = field(default_factory=dict)
    #: sha256 of the file's bytes (empty without a file): part of the deadline rules' fingerprint.
    version: str = ""


def load_calendar_file(path: Path | None) -> CalendarFile:
    if path is None:
        return CalendarFile()
    data = path.read_bytes()
    name = str(path)
    try:
        root = yaml.compose(data.decode("utf-8"), Loader=yaml.SafeLoader)
    except (yaml.MarkedYAMLError, UnicodeDecodeError) as error:
        mark = getattr(error, "problem_mark", None)
        raise CalendarError(f"{name}:{mark.line + 1 if mark else 1}: not valid YAML: {error}") from None
    version = hashlib.sha256(data).hexdigest()[:16]
    if root is None:
        return CalendarFile(version=version)
    reader = _Reader(name)
    top = reader.mapping(root, _TOP, "the file")
    sets = {}
    if "calendars" in top:
        node = top["calendars"]
        for key, value in reader.items(node, "calendars"):
            sets[key] = reader.overrides(reader.mapping(value, _DAY_LISTS, f"calendar {key!r}"))
    limits = {}
    if "limits" in top:
        for key, value in reader.items(top["limits"], "limits"):
            if key not in LIMIT_KEYS:
                raise reader.error(value, f"unknown limit {key!r}; known: {', '.join(LIMIT_KEYS)}")
            limits[key] = reader.positive(value, f"limit {key!r}")
    return CalendarFile(company=reader.overrides(top), sets=sets, limits=limits, version=version)


class _Reader:
    def __init__(self, name: str) -> None:
        self.name = name

    def error(self, node: yaml.Node, message: str) -> CalendarError:
        return CalendarError(f"{self.name}:{node.start_mark.line + 1}: {message}")

    def items(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping")
        out = []
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or not key.value:
                raise self.error(key, f"{what}: a key must be a name")
            out.append((key.value, value))
        return out

    def mapping(self, node: yaml.Node, allowed: tuple[str, ...], what: str) -> dict[str, yaml.Node]:
        found = dict(self.items(node, what))
        for key, value in self.items(node, what):
            if key not in allowed:
                raise self.error(value, f"{what}: unknown key {key!r}; known: {', '.join(allowed)}")
        return found

    def dates(self, node: yaml.Node, what: str) -> frozenset[date]:
        if isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null"):
            return frozenset()
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"{what} must be a list of dates (YYYY-MM-DD)")
        days = set()
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode):
                raise self.error(item, f"{what}: each item must be a date (YYYY-MM-DD)")
            try:
                if len(item.value) != 10:
                    raise ValueError("write it as YYYY-MM-DD")
                days.add(date.fromisoformat(item.value))
            except ValueError as error:
                raise self.error(item, f"{what}: {item.value!r} is not a date (YYYY-MM-DD): {error}") from None
        return frozenset(days)

    def overrides(self, found: dict[str, yaml.Node]) -> Overrides:
        lists = {key: self.dates(found[key], key) if key in found else frozenset() for key in _DAY_LISTS}
        for first, second in (("days_off", "working_days"), ("shortened_days", "full_days")):
            both = lists[first] & lists[second]
            if both:
                day = min(both)
                raise self.error(found[second], f"{day.isoformat()} is in both {first} and {second}")
        return Overrides(**lists)

    def positive(self, node: yaml.Node, what: str) -> int:
        value = node.value if isinstance(node, yaml.ScalarNode) else None
        if value is None or not value.isdigit() or int(value) < 1:
            raise self.error(node, f"{what}: {value!r} is not a whole number of working days (1 or more)")
        return int(value)
