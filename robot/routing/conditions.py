"""The conditions a rule may set under ``when:``, found by name in one registry.

Each condition says what it checks (``description``) and, when it does not hold, why — that
reason is the rule's "miss" in the trace that ``routes explain`` and the desk show. A condition's
value is prepared once when the rules load (regular expressions compiled, lists made sets), so
that a thousand rules are tried in well under a millisecond.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from robot.routing.facts import Facts
from robot.routing.territory import Territory

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class Seen:
    """One appeal as the conditions see it: the facts and what routing worked out from them."""

    facts: Facts
    territory: Territory
    missing: list[str]
    #: The time of receipt in the company's time zone; None when unknown.
    local: datetime | None
    #: Received on a working day within working hours; None when the time is unknown.
    working: bool | None

    @cached_property
    def domains(self) -> tuple[str, frozenset[str]]:
        """The sender's domain and every domain it is a subdomain of (mail.example.ru: example.ru, ru)."""
        domain = (self.facts.sender or "").rpartition("@")[2].lower()
        parts = domain.split(".")
        return domain, frozenset(".".join(parts[i:]) for i in range(len(parts)))


#: (prepared value, the appeal) → None if the condition holds, else why not.
Check = Callable[[Any, Seen], "str | None"]


@dataclass(frozen=True)
class Condition:
    name: str
    description: str
    check: Check
    prepare: Callable[[Any], Any]


CONDITIONS: dict[str, Condition] = {}


def _as_set(value: Any) -> frozenset[str]:
    return frozenset([value] if isinstance(value, str) else value)


def condition(name: str, description: str, prepare: Callable[[Any], Any] = _as_set) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        if name in CONDITIONS:
            raise ValueError(f"condition {name!r} is registered twice")
        CONDITIONS[name] = Condition(name, description, check, prepare)
        return check

    return register


def _plain(name: str, description: str, get: Callable[[Seen], str | None]) -> None:
    def prepare(value: Any) -> tuple[frozenset[str], str]:
        wanted = _as_set(value)
        return wanted, " or ".join(map(repr, sorted(wanted)))

    def check(prepared: tuple[frozenset[str], str], seen: Seen) -> str | None:
        actual = get(seen)
        if actual in prepared[0]:
            return None
        return f"{name} is {actual!r}, not {prepared[1]}"

    condition(name, description, prepare)(check)


_plain("kind", "The appeal's kind (question, application, complaint).", lambda s: s.facts.kind)
_plain("topic", "The classifier's topic.", lambda s: s.facts.topic)
_plain("status", "The pipeline's decision: registered, triage, no_action, closed, not_considered.",
       lambda s: s.facts.status)
_plain("channel", "How the appeal came: email, imap, web, operator.", lambda s: s.facts.channel)
_plain("region", "The territory's region (a city or the oblast).", lambda s: s.territory.region)
_plain("district", "The territory's district (a city okrug or a municipal district).", lambda s: s.territory.district)
_plain("branch", "The territory's network branch (ПЭС).", lambda s: s.territory.branch)
_plain("unit", "The territory's district networks unit (РЭС) code.", lambda s: s.territory.unit)


@condition("scope", "In or out of the company's business (the classifier's view).", prepare=str)
def _scope(wanted: str, seen: Seen) -> str | None:
    return None if seen.facts.scope == wanted else f"scope is {seen.facts.scope!r}, not {wanted!r}"


@condition("flag", "Any of these classifier flags (obscene, threat, unreadable, no_contact).")
def _flag(wanted: frozenset[str], seen: Seen) -> str | None:
    return None if wanted & set(seen.facts.flags) else f"none of the flags {sorted(wanted)} is set"


@condition("sender", "The sender's address, any of these (case does not matter).",
           prepare=lambda value: frozenset(v.lower() for v in _as_set(value)))
def _sender(wanted: frozenset[str], seen: Seen) -> str | None:
    sender = (seen.facts.sender or "").lower()
    return None if sender in wanted else f"the sender is {sender or 'unknown'}"


@condition("sender_domain", "The sender's domain or a subdomain of it.",
           prepare=lambda value: frozenset(v.lower().lstrip("@") for v in _as_set(value)))
def _sender_domain(wanted: frozenset[str], seen: Seen) -> str | None:
    domain, suffixes = seen.domains
    return None if wanted & suffixes else f"sender's domain is {domain!r}"


def _words(value: list[str]) -> tuple[re.Pattern[str], list[str]]:
    alternatives = "|".join(re.escape(" ".join(word.split())).replace(r"\ ", r"\s+") for word in value)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE), value


@condition("keywords", "Any of these words or phrases in the subject or the text (case does not matter).",
           prepare=_words)
def _keywords(prepared: tuple[re.Pattern[str], list[str]], seen: Seen) -> str | None:
    pattern, words = prepared
    if pattern.search(seen.facts.subject) or pattern.search(seen.facts.text):
        return None
    return f"none of the keywords {words} is in the subject or text"


def _regex(value: str) -> re.Pattern[str]:
    return re.compile(value, re.IGNORECASE)


@condition("subject_matches", "A regular expression found in the subject (case does not matter).", prepare=_regex)
def _subject_matches(pattern: re.Pattern[str], seen: Seen) -> str | None:
    return None if pattern.search(seen.facts.subject) else f"the subject does not match /{pattern.pattern}/"


@condition("text_matches", "A regular expression found in the subject or the text (case does not matter).",
           prepare=_regex)
def _text_matches(pattern: re.Pattern[str], seen: Seen) -> str | None:
    if pattern.search(seen.facts.subject) or pattern.search(seen.facts.text):
        return None
    return f"the text does not match /{pattern.pattern}/"


@condition("territory_known", "Whether the territory (its unit) was found.", prepare=bool)
def _territory_known(wanted: bool, seen: Seen) -> str | None:
    if seen.territory.known == wanted:
        return None
    return "the territory is " + ("known" if seen.territory.known else "unknown")


@condition("data_complete", "Whether every field the kind requires (`required:`) is given.", prepare=bool)
def _data_complete(wanted: bool, seen: Seen) -> str | None:
    complete = not seen.missing
    if complete == wanted:
        return None
    return "the data is complete" if complete else f"missing: {', '.join(seen.missing)}"


def _when(seen: Seen) -> str:
    assert seen.local is not None
    return f"{WEEKDAYS[seen.local.weekday()]} {seen.local:%Y-%m-%d %H:%M}"


@condition("working_hours", "Received on a working day of the production calendar within `working_hours`.",
           prepare=bool)
def _working_hours(wanted: bool, seen: Seen) -> str | None:
    if seen.working is None:
        return "the time of receipt is unknown"
    if seen.working == wanted:
        return None
    return f"received {_when(seen)}, " + ("within" if seen.working else "outside") + " working hours"


@condition("weekday", "Received on one of these days of the week (mon … sun), company time.")
def _weekday(wanted: frozenset[str], seen: Seen) -> str | None:
    if seen.local is None:
        return "the time of receipt is unknown"
    return None if WEEKDAYS[seen.local.weekday()] in wanted else f"received {_when(seen)}"


@condition("hours", "Received between two times of day, company time (`from` after `to` spans midnight).",
           prepare=lambda hours: (hours.from_, hours.to))
def _hours(span: tuple[Any, Any], seen: Seen) -> str | None:
    if seen.local is None:
        return "the time of receipt is unknown"
    start, end = span
    moment = seen.local.time()
    inside = start <= moment < end if start <= end else (moment >= start or moment < end)
    return None if inside else f"received {_when(seen)}, not {start:%H:%M}–{end:%H:%M}"


@condition("dates", "Received between two dates, both included, company time.",
           prepare=lambda dates: (dates.from_, dates.to))
def _dates(span: tuple[Any, Any], seen: Seen) -> str | None:
    if seen.local is None:
        return "the time of receipt is unknown"
    start, end = span
    if start <= seen.local.date() <= end:
        return None
    return f"received {_when(seen)}, not {start:%Y-%m-%d}–{end:%Y-%m-%d}"
