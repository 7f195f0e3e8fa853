"""Load routing_rules.yaml and say exactly what is wrong with it: file, line, column, problem.

A file with errors is refused whole; warnings (a rule that can never match, …) are reported
but do not stop it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from robot.routing.schema import RulesFile


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    message: str
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"


class RulesError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class LoadedRules:
    rules: RulesFile
    version: str  # sha256 of the file's bytes: stored with every routing decision
    path: Path
    warnings: list[Problem] = field(default_factory=list)


def load_rules(path: Path) -> LoadedRules:
    """Parse and check ``path``; raise RulesError listing every error found."""
    data_bytes = path.read_bytes()
    text = data_bytes.decode("utf-8")
    name = str(path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise RulesError([Problem(name, line, column, f"YAML: {error.problem or error}")]) from None
    if not isinstance(data, dict):
        raise RulesError([Problem(name, 1, 1, "the file must be a mapping with branches, units, regions, "
                                              "queues and rules")])
    try:
        rules = RulesFile.model_validate(data)
    except ValidationError as error:
        raise RulesError([_located(name, root, err["loc"], _message(err)) for err in error.errors()]) from None
    problems = list(_cross_check(name, root, rules))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise RulesError(errors)
    return LoadedRules(rules, hashlib.sha256(data_bytes).hexdigest()[:16], path,
                       [p for p in problems if p.severity == "warning"])


def _message(err: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in err["loc"] if not str(part).startswith(("literal[", "list[", "str")))
    if err["type"] == "extra_forbidden":
        return f"unknown key {where!r}"
    return f"{where}: {err['msg']}"


def _node_at(root: yaml.Node | None, loc: tuple[Any, ...] | list[Any]) -> yaml.Node | None:
    """The YAML node at a pydantic error location (as deep as the location can be followed)."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            key = "continue" if part == "continue_" else part
            match = next(((k, v) for k, v in node.value if k.value == key), None)
            if match is None:
                break
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return node


def _located(name: str, root: yaml.Node | None, loc: tuple[Any, ...] | list[Any], message: str,
             severity: str = "error") -> Problem:
    node = _node_at(root, loc)
    mark = node.start_mark if node is not None else None
    return Problem(name, mark.line + 1 if mark else 1, mark.column + 1 if mark else 1, message, severity)


def _cross_check(name: str, root: yaml.Node | None, rules: RulesFile) -> Iterator[Problem]:
    def at(loc: list[Any], message: str, severity: str = "error") -> Problem:
        return _located(name, root, loc, message, severity)

    branches = {b.code for b in rules.branches}
    units: dict[str, int] = {}
    for i, unit in enumerate(rules.units):
        if unit.code in units:
            yield at(["units", i, "code"], f"unit {unit.code!r} is defined twice")
        units[unit.code] = i
        if unit.branch not in branches:
            yield at(["units", i, "branch"], f"unit {unit.code!r}: no branch {unit.branch!r}")
    queues: dict[str, int] = {}
    for i, queue in enumerate(rules.queues):
        if queue.name in queues:
            yield at(["queues", i, "name"], f"queue {queue.name!r} is defined twice")
        queues[queue.name] = i
    if rules.default_queue not in queues:
        yield at(["default_queue"], f"no queue {rules.default_queue!r}")
    places: dict[str, str] = {}
    for r, region in enumerate(rules.regions):
        for d, district in enumerate(region.districts):
            if district.unit not in units:
                yield at(["regions", r, "districts", d, "unit"], f"{district.name}: no unit {district.unit!r}")
            for kind in ("streets", "settlements"):
                for p, place in enumerate(getattr(district, kind)):
                    key = f"{region.name}|{normalise_place(place.name)}"
                    if key in places and places[key] != district.name:
                        yield at(["regions", r, "districts", d, kind, p, "name"],
                                 f"{place.name} is assigned to both {places[key]} and {district.name}")
                    places.setdefault(key, district.name)
    catch_all_at: int | None = None
    for i, rule in enumerate(rules.rules):
        if rule.then.queue and rule.then.queue not in queues:
            yield at(["rules", i, "then", "queue"], f"rule {rule.name!r}: no queue {rule.then.queue!r}")
        for field_name in ("unit", "branch"):
            wanted = getattr(rule.when, field_name)
            known = units if field_name == "unit" else branches
            for value in [wanted] if isinstance(wanted, str) else wanted or []:
                if value not in known:
                    yield at(["rules", i, "when", field_name], f"rule {rule.name!r}: no {field_name} {value!r}")
        if rule.when.text_matches is not None:
            try:
                re.compile(rule.when.text_matches)
            except re.error as error:
                yield at(["rules", i, "when", "text_matches"], f"rule {rule.name!r}: bad regular expression: {error}")
        if catch_all_at is not None:
            yield at(["rules", i], f"rule {rule.name!r} can never match: rule "
                                   f"{rules.rules[catch_all_at].name!r} before it matches everything", "warning")
        if not rule.when.model_dump(exclude_none=True) and not rule.continue_ and catch_all_at is None:
            catch_all_at = i
    if rules.rules and any(r.then.queue_of_unit for r in rules.rules):
        for code in units:
            if code not in queues:
                yield at(["units", units[code], "code"], f"unit {code!r} has no queue of its own "
                                                         "(a rule routes to the unit's queue)")


_ABBREVIATIONS = re.compile(
    r"\b(улица|ул|проспект|пр-т|пр|переулок|пер|бульвар|б-р|площадь|пл|шоссе|набережная|наб|"
    r"микрорайон|мкр|город|г|село|с|деревня|дер|д|поселок|посёлок|пос|п|рабочий поселок|р\.п|рп|"
    r"район|р-н|округ|административный округ|снт)\b\.?",
    re.I,
)


def normalise_place(name: str) -> str:
    """A place name reduced for matching: lower case, «ё» as «е», no kind words, single spaces."""
    text = name.lower().replace("ё", "е")
    text = _ABBREVIATIONS.sub(" ", text)
    text = re.sub(r"[^\w\s-]", " ", text)
    return " ".join(text.replace("-", " ").split())
