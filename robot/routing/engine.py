"""Apply the ordered rules to one appeal and record why: every rule's hit or miss with its reason.

First match wins, unless the rule says ``continue``; an appeal no rule places goes to the
default queue. The decision carries the rules' version and the territory's evidence, so the
desk and ``mailrobot routes explain`` can say why an appeal went where it did.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from robot.routing.actions import ACTIONS, Action
from robot.routing.conditions import CONDITIONS, Check, Seen
from robot.routing.facts import Facts, Routing
from robot.routing.load import LoadedRules, RulesError, load_rules
from robot.routing.required import missing_fields
from robot.routing.schema import Actions, Conditions, Rule, WorkingHours
from robot.routing.territory import Gazetteer
from robot.watched import WatchedFile

log = logging.getLogger("robot.routing")

__all__ = ["Calendar", "Facts", "Router", "Routing", "Table"]


class Calendar(Protocol):
    """The company's calendar (robot.deadlines.calendar.WorkCalendar): its time zone and working days."""

    tz: ZoneInfo

    def is_working_day(self, day: date) -> bool: ...


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    checks: tuple[tuple[Check, Any], ...]
    actions: tuple[tuple[Action, Any], ...]
    stops: bool


#: Conditions that search the text: tried after every other condition of a rule, so that a rule
#: for another unit or kind misses on a set look-up before any of its regular expressions runs
#: (all conditions must hold, so their order changes only which miss is reported first).
_TEXT_SEARCHES = ("keywords", "subject_matches", "text_matches")
_ORDER = [name for name in Conditions.model_fields if name not in _TEXT_SEARCHES] + list(_TEXT_SEARCHES)


def _compile(rule: Rule) -> _Compiled:
    checks = tuple((CONDITIONS[name].check, CONDITIONS[name].prepare(value))
                   for name in _ORDER if (value := getattr(rule.when, name)) is not None)
    actions = tuple((ACTIONS[name], value) for name in Actions.model_fields
                    if name != "stop" and (value := getattr(rule.then, name)) not in (None, False))
    return _Compiled(rule, checks, actions, rule.then.stop and not rule.continue_)


# Every key the schema allows is a registered condition or action, and nothing else is: a key
# without a check would silently match everything.
assert set(Conditions.model_fields) == set(CONDITIONS), set(Conditions.model_fields) ^ set(CONDITIONS)
assert set(Actions.model_fields) == set(ACTIONS), set(Actions.model_fields) ^ set(ACTIONS)


def _same_sections(old: LoadedRules, new: LoadedRules, keys: tuple[str, ...]) -> bool:
    if not old.fingerprints or not new.fingerprints:
        return False
    return all(old.fingerprints.get(key) == new.fingerprints.get(key) for key in keys)


def _same_places(old: LoadedRules, new: LoadedRules) -> bool:
    return _same_sections(old, new, ("branches", "units", "regions", "account_pattern"))


class Table:
    """The rules of one file ready to route by: places indexed, every condition prepared."""

    def __init__(self, loaded: LoadedRules, calendar: Calendar, previous: Table | None = None) -> None:
        self.loaded = loaded
        self.calendar = calendar
        # The places index is the costly part; an edit of the rules alone keeps it.
        if previous is not None and _same_places(previous.loaded, loaded):
            self.gazetteer = previous.gazetteer
        else:
            self.gazetteer = Gazetteer(loaded.rules)
        # Likewise the rules' prepared conditions (a thousand regular expressions) after an edit
        # of the places alone: the same text of the `rules` section compiles to the same table.
        if previous is not None and _same_sections(previous.loaded, loaded, ("rules",)):
            self.compiled = previous.compiled
        else:
            self.compiled = [_compile(rule) for rule in loaded.rules.rules]

    @property
    def version(self) -> str:
        return self.loaded.version

    def _seen(self, facts: Facts) -> Seen:
        rules = self.loaded.rules
        territory = self.gazetteer.detect(facts.subject, facts.text, facts.account, form=facts.form,
                                          earlier=facts.earlier)
        missing = missing_fields(rules.required.get(facts.kind, []), facts, territory,  # type: ignore[call-overload]
                                 self.gazetteer.account)
        local: datetime | None = None
        working: bool | None = None
        if facts.received_at is not None:
            local = facts.received_at.astimezone(self.calendar.tz)
            hours = rules.working_hours
            within = getattr(self.calendar, "within_working_hours", None)
            if hours is None and within is not None:
                working = within(local)
            else:
                hours = hours or WorkingHours()
                working = self.calendar.is_working_day(local.date()) and hours.from_ <= local.time() < hours.to
        return Seen(facts, territory, missing, local, working)

    def route(self, facts: Facts) -> Routing:
        """First match wins unless the rule says ``continue``; no match: the default queue."""
        seen = self._seen(facts)
        routing = Routing(queue=self.loaded.rules.default_queue, assignee=None, territory=seen.territory,
                          rules_version=self.loaded.version, missing=seen.missing, inputs=facts.inputs())
        trace = routing.trace
        stopped = False
        for compiled in self.compiled:
            name = compiled.rule.name
            if stopped:
                trace.append({"rule": name, "verdict": "miss", "reason": "not reached: an earlier rule stopped"})
                continue
            reason = None
            for check, value in compiled.checks:
                reason = check(value, seen)
                if reason is not None:
                    break
            if reason is not None:
                trace.append({"rule": name, "verdict": "miss", "reason": reason})
                continue
            done = [act.apply(value, routing, seen) for act, value in compiled.actions]
            trace.append({"rule": name, "verdict": "hit", "queue": routing.queue, "actions": done})
            stopped = compiled.stops
        return routing


class Router:
    """The rules in force, reloaded when the file changes: a valid file is swapped in whole;
    an invalid one is refused, logged, and the rules in force stay."""

    def __init__(self, path: Path, calendar: Calendar, templates_dir: Path | None = None) -> None:
        self.path = path
        self.calendar = calendar
        self.templates_dir = templates_dir
        self._file = WatchedFile(path, "routing rules", log)
        self._parsed: dict[str, Any] = {}
        self._table = Table(load_rules(path, templates_dir, self._parsed), calendar)
        self.last_error: RulesError | None = None

    @property
    def version(self) -> str:
        return self._table.version

    @property
    def table(self) -> Table:
        """The rules in force now (checked for changes on the file first)."""
        self._refresh()
        return self._table

    def _refresh(self) -> None:
        with self._file.changed() as changed:
            if not changed:
                return
            try:
                table = Table(load_rules(self.path, self.templates_dir, self._parsed), self.calendar, self._table)
            except (RulesError, OSError, UnicodeDecodeError) as error:
                self.last_error = error if isinstance(error, RulesError) else None
                log.error("routing rules %s refused; the rules in force (%s) stay:\n%s", self.path,
                          self._table.version, error)
                return
            # One assignment: a decision in progress keeps the table it started with.
            self._table, self.last_error = table, None
            log.info("routing rules %s reloaded: version %s", self.path, table.version)

    def route(self, facts: Facts) -> Routing:
        return self.table.route(facts)

    def territory_choices(self) -> list[tuple[str, str]]:
        """(value, label) of the places a web form offers for its territory field (the web reception)."""
        return self.table.gazetteer.choices()
