"""Apply the ordered rules to one appeal and record why: every rule's hit or miss with its reason.

First match wins, unless the rule says ``continue``; an appeal no rule places goes to the
default queue. The decision carries the rules' version and the territory's evidence, so the
desk and ``mailrobot routes explain`` can say why an appeal went where it did.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from robot.routing.load import LoadedRules, RulesError, load_rules
from robot.routing.schema import Rule
from robot.routing.territory import Gazetteer, Territory

log = logging.getLogger("robot.routing")


@dataclass(frozen=True)
class Facts:
    """What routing may look at."""

    subject: str
    text: str
    kind: str
    topic: str
    scope: str
    flags: list[str]
    status: str
    channel: str
    sender: str | None = None
    account: str | None = None


@dataclass
class Routing:
    queue: str
    assignee: str | None
    territory: Territory
    rules_version: str
    #: Every rule in order: {"rule", "verdict": hit|miss, and "queue" (hit) or "reason" (miss)}.
    trace: list[dict[str, str]] = field(default_factory=list)

    @property
    def hits(self) -> list[dict[str, str]]:
        return [step for step in self.trace if step["verdict"] == "hit"]

    @property
    def misses(self) -> list[dict[str, str]]:
        return [step for step in self.trace if step["verdict"] == "miss"]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _values(value: str | list[str] | None) -> list[str] | None:
    return None if value is None else [value] if isinstance(value, str) else list(value)


def _check(rule: Rule, facts: Facts, territory: Territory) -> str | None:
    """None if every condition of ``rule`` holds; otherwise the first one that does not, in words."""
    when = rule.when
    plain = {"kind": facts.kind, "topic": facts.topic, "status": facts.status, "channel": facts.channel,
             "region": territory.region, "district": territory.district, "branch": territory.branch,
             "unit": territory.unit}
    for name, actual in plain.items():
        wanted = _values(getattr(when, name))
        if wanted is not None and actual not in wanted:
            return f"{name} is {actual!r}, not {' or '.join(map(repr, wanted))}"
    if when.scope is not None and facts.scope != when.scope:
        return f"scope is {facts.scope!r}, not {when.scope!r}"
    wanted = _values(when.flag)
    if wanted is not None and not set(wanted) & set(facts.flags):
        return f"none of the flags {wanted} is set"
    wanted = _values(when.sender_domain)
    if wanted is not None:
        domain = (facts.sender or "").rpartition("@")[2].lower()
        if domain not in [w.lower() for w in wanted]:
            return f"sender's domain is {domain!r}"
    if when.text_matches is not None and not re.search(when.text_matches, f"{facts.subject}\n{facts.text}", re.I):
        return f"the text does not match /{when.text_matches}/"
    if when.territory_known is not None and territory.known != when.territory_known:
        return "the territory is " + ("known" if territory.known else "unknown")
    return None


def route(loaded: LoadedRules, gazetteer: Gazetteer, facts: Facts) -> Routing:
    territory = gazetteer.detect(facts.subject, facts.text, facts.account)
    rules = loaded.rules
    routing = Routing(queue=rules.default_queue, assignee=None, territory=territory, rules_version=loaded.version)
    placed = False
    for rule in rules.rules:
        if placed:
            routing.trace.append({"rule": rule.name, "verdict": "miss", "reason": "not reached: an earlier rule stopped"})
            continue
        reason = _check(rule, facts, territory)
        if reason is not None:
            routing.trace.append({"rule": rule.name, "verdict": "miss", "reason": reason})
            continue
        then = rule.then
        if then.queue:
            routing.queue = then.queue
        elif then.queue_of_unit and territory.unit:
            routing.queue = territory.unit
        if then.assign:
            routing.assignee = then.assign
        routing.trace.append({"rule": rule.name, "verdict": "hit", "queue": routing.queue})
        placed = then.stop and not rule.continue_
    return routing


class Router:
    """The rules in force, reloaded when the file changes: a valid file is swapped in whole;
    an invalid one is refused, logged, and the rules in force stay."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._loaded = load_rules(path)
        self._gazetteer = Gazetteer(self._loaded.rules)
        self._mtime = path.stat().st_mtime_ns
        self.last_error: RulesError | None = None

    @property
    def version(self) -> str:
        return self._loaded.version

    def _refresh(self) -> None:
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError as error:
            log.error("routing rules %s unreadable (%s); the rules in force stay", self.path, error)
            return
        if mtime == self._mtime:
            return
        with self._lock:
            if mtime == self._mtime:
                return
            self._mtime = mtime
            try:
                loaded = load_rules(self.path)
            except (RulesError, OSError, UnicodeDecodeError) as error:
                self.last_error = error if isinstance(error, RulesError) else None
                log.error("routing rules %s refused; the rules in force (%s) stay:\n%s", self.path,
                          self._loaded.version, error)
                return
            self._loaded, self._gazetteer, self.last_error = loaded, Gazetteer(loaded.rules), None
            log.info("routing rules %s reloaded: version %s", self.path, loaded.version)

    def route(self, facts: Facts) -> Routing:
        self._refresh()
        return route(self._loaded, self._gazetteer, facts)
