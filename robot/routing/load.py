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

from classifiers.result import FLAGS, TOPICS
from robot.routing.schema import RulesFile

#: The pipeline's decisions (robot/pipeline/decide.py) and the intakes' channels: what `status`
#: and `channel` conditions may name.
STATUSES = ("registered", "triage", "no_action", "closed", "not_considered")
CHANNELS = ("email", "imap", "web", "operator")
#: libyaml when it is there: a file of 10,000 streets loads in a fraction of the pure-Python time.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    #: A hash of each top-level section's text (when it was parsed by sections): what changed.
    fingerprints: dict[str, str] = field(default_factory=dict)


def load_rules(path: Path, templates_dir: Path | None = None, parsed: dict[str, Any] | None = None) -> LoadedRules:
    """Parse and check ``path``; raise RulesError listing every error found.

    With ``templates_dir``, a rule's ``reply`` must name templates that exist there. ``parsed``:
    the top-level sections parsed by an earlier load, by their text (a reload parses only the
    sections that changed; parsing is most of a load's time). It is updated.
    """
    data_bytes = path.read_bytes()
    text = data_bytes.decode("utf-8")
    name = str(path)
    fingerprints: dict[str, str] = {}
    try:
        data = _parse(text, parsed, fingerprints)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        offset = getattr(error, "line_offset", 0)
        line, column = (mark.line + 1 + offset, mark.column + 1) if mark else (1, 1)
        raise RulesError([Problem(name, line, column, f"YAML: {error.problem or error}")]) from None
    if not isinstance(data, dict):
        raise RulesError([Problem(name, 1, 1, "the file must be a mapping with branches, units, regions, "
                                              "queues and rules")])
    # The node tree (with line numbers) is built only to locate problems: it costs as much as the load.
    nodes = _Nodes(text)
    try:
        rules = RulesFile.model_validate(data)
    except ValidationError as error:
        raise RulesError([_located(name, nodes.root, err["loc"], _message(err)) for err in error.errors()]) from None
    problems = list(_cross_check(name, nodes, rules, templates_dir))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise RulesError(errors)
    return LoadedRules(rules, hashlib.sha256(data_bytes).hexdigest()[:16], path,
                       [p for p in problems if p.severity == "warning"], fingerprints)


#: A top-level key at the start of a line; what else starts a line at column 0 (a document marker,
#: a directive, flow style, an anchor …) but a comment or a list item makes the file be parsed whole.
_SECTION = re.compile(r"^(?:([A-Za-z_][\w-]*)[ \t]*:|(---|\.\.\.|[^\s#-]))", re.MULTILINE)


def _parse(text: str, parsed: dict[str, Any] | None, fingerprints: dict[str, str]) -> Any:
    """The file's data; section by section when it has plain top-level keys, reusing ``parsed``."""
    starts: list[tuple[int, str]] = []
    for match in _SECTION.finditer(text):
        if match.group(1) is None:
            return yaml.load(text, Loader=_Loader)
        starts.append((match.start(), match.group(1)))
    if parsed is None or not starts or len({key for _, key in starts}) != len(starts):
        return yaml.load(text, Loader=_Loader)
    data: dict[str, Any] = {}
    fresh: dict[str, Any] = {}
    # The chunks each section was parsed from (the `regions` section's districts), under the one
    # key no section or chunk can be: a section kept whole keeps its chunks for the next edit.
    chunks_of: dict[str, list[str]] = parsed.get("", {})
    fresh_chunks: dict[str, list[str]] = {}
    bounds = [start for start, _ in starts][1:] + [len(text)]
    for (start, key), end in zip(starts, bounds, strict=True):
        # Comments before the first key belong to no section; each section parses on its own.
        section = text[start:end]
        if section not in parsed:
            before = text.count("\n", 0, start)
            own: dict[str, Any] = {}
            value = _places(section, key, parsed, own, before) if key == "regions" else None
            if value is None:
                value = _load(section, before)
                if not isinstance(value, dict) or list(value) != [key]:
                    return yaml.load(text, Loader=_Loader)
                value = value[key]
            parsed[section] = value
            chunks_of[section] = list(own)
        for chunk in chunks_of.get(section, ()):
            fresh[chunk] = parsed[chunk]
            fresh_chunks.setdefault(section, []).append(chunk)
        fresh[section] = parsed[section]
        data[key] = parsed[section]
        fingerprints[key] = hashlib.sha256(section.encode()).hexdigest()
    parsed.clear()
    parsed.update(fresh)  # only the sections of this file (and their chunks) are worth keeping
    parsed[""] = fresh_chunks
    return data


def _load(chunk: str, lines_before: int) -> Any:
    try:
        return yaml.load(chunk, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        error.line_offset = lines_before  # type: ignore[attr-defined]
        raise


#: A list item, and a `districts:` key with nothing after it, in the `regions` section.
_ITEM = re.compile(r"^( *)- ", re.MULTILINE)
_DISTRICTS = re.compile(r"^( *)districts:[ \t]*$", re.MULTILINE)


def _places(section: str, key: str, parsed: dict[str, Any], fresh: dict[str, Any], lines_before: int) -> Any:
    """The `regions` section parsed district by district, each district's text parsed once.

    Places are most of the file (thousands of streets): after an admin adds a street, only that
    district is parsed again. Anything not in the plain block layout (regions as `- ` items, each
    with a `districts:` block of `- ` items) returns None, and the section is parsed whole.
    """
    body_start = section.find("\n") + 1
    if section[:body_start].strip() != f"{key}:":
        return None
    body = section[body_start:]
    items = list(_ITEM.finditer(body))
    if not items:
        return None
    indent = min(len(m.group(1)) for m in items)
    starts = [m.start() for m in items if len(m.group(1)) == indent]
    if body[:starts[0]].strip(" \n") and not all(line.lstrip().startswith("#")
                                                  for line in body[:starts[0]].splitlines() if line.strip()):
        return None
    regions: list[Any] = []
    for region_start, region_end in zip(starts, [*starts[1:], len(body)], strict=True):
        region = body[region_start:region_end]
        offset = lines_before + 1 + body.count("\n", 0, region_start)
        districts_key = _DISTRICTS.search(region)
        if districts_key is None:
            return None
        block = region[districts_key.end() + 1:]
        inner = list(_ITEM.finditer(block))
        # The districts' items: deeper than the key, or level with it (PyYAML's indentless lists).
        if not inner or len(inner[0].group(1)) < len(districts_key.group(1)):
            return None
        depth = len(inner[0].group(1))
        for line in block.splitlines():
            stripped = line.lstrip(" ")
            if not stripped or stripped.startswith("#"):
                continue
            shallower = len(line) - len(stripped)
            # Anything at the items' level but an item, or above it, is not the districts' (a key
            # of the region after them): parse the section whole.
            if shallower < depth or (shallower == depth and not stripped.startswith("- ")):
                return None
        cuts = [m.start() for m in inner if len(m.group(1)) == depth]
        head_text = region[:districts_key.start()] + f"{districts_key.group(1)}districts: []\n"
        head = _cached(head_text, parsed, fresh, offset)
        if not isinstance(head, list) or len(head) != 1 or not isinstance(head[0], dict):
            return None
        districts: list[Any] = []
        block_offset = offset + region.count("\n", 0, districts_key.end() + 1)
        for cut, cut_end in zip(cuts, [*cuts[1:], len(block)], strict=True):
            value = _cached(block[cut:cut_end], parsed, fresh, block_offset + block.count("\n", 0, cut))
            if not isinstance(value, list) or len(value) != 1:
                return None
            districts.append(value[0])
        regions.append({**head[0], "districts": districts})
    return regions


def _cached(chunk: str, parsed: dict[str, Any], fresh: dict[str, Any], lines_before: int) -> Any:
    # Chunks keep their indentation: YAML reads an indented block sequence at the top as a list.
    if chunk not in parsed:
        parsed[chunk] = _load(chunk, lines_before)
    fresh[chunk] = parsed[chunk]
    return parsed[chunk]


class _Nodes:
    def __init__(self, text: str) -> None:
        self.text = text
        self._root: yaml.Node | None = None

    @property
    def root(self) -> yaml.Node | None:
        if self._root is None:
            self._root = yaml.compose(self.text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return self._root


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
            key = {"continue_": "continue", "from_": "from"}.get(part, part)
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


def _cross_check(name: str, nodes: _Nodes, rules: RulesFile, templates_dir: Path | None) -> Iterator[Problem]:
    def at(loc: list[Any], message: str, severity: str = "error") -> Problem:
        return _located(name, nodes.root, loc, message, severity)

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
    # People are named by login in queues (members, supervisor); a rule may assign only to them.
    people = {login for q in rules.queues for login in [*q.members, *([q.supervisor] if q.supervisor else [])]}
    if rules.default_queue not in queues:
        yield at(["default_queue"], f"no queue {rules.default_queue!r}")
    try:
        re.compile(rules.account_pattern)
    except re.error as error:
        yield at(["account_pattern"], f"bad regular expression: {error}")
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
    named: dict[str, int] = {}
    catch_all_at: int | None = None
    for i, rule in enumerate(rules.rules):
        yield from _check_rule(at, i, rule, named, queues, units, branches, people, templates_dir)
        named.setdefault(rule.name, i)
        if catch_all_at is not None:
            yield at(["rules", i], f"rule {rule.name!r} can never match: rule "
                                   f"{rules.rules[catch_all_at].name!r} before it matches everything", "warning")
        if not rule.when.model_dump(exclude_none=True) and not rule.continue_ and rule.then.stop \
                and catch_all_at is None:
            catch_all_at = i
    if rules.rules and any(r.then.queue_of_unit for r in rules.rules):
        for code, index in units.items():
            if code not in queues:
                yield at(["units", index, "code"], f"unit {code!r} has no queue of its own "
                                                         "(a rule routes to the unit's queue)")
    for i, case in enumerate(rules.tests):
        if case.expect_queue not in queues:
            yield at(["tests", i, "expect_queue"], f"test {i + 1}: no queue {case.expect_queue!r}")


def _names(value: str | list[str] | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _check_rule(at: Any, i: int, rule: Any, named: dict[str, int], queues: dict[str, int], units: dict[str, int],
                branches: set[str], people: set[str], templates_dir: Path | None) -> Iterator[Problem]:
    """Every name a rule uses must exist: queues, units, branches, people, topics, templates …"""
    where = ["rules", i]
    if rule.name in named:
        yield at([*where, "name"], f"rule {rule.name!r} is defined twice (rules are told apart by name)")
    when, then = rule.when, rule.then
    if then.queue and then.queue not in queues:
        yield at([*where, "then", "queue"], f"rule {rule.name!r}: no queue {then.queue!r}")
    if then.assign and then.assign not in people:
        yield at([*where, "then", "assign"], f"rule {rule.name!r}: no person {then.assign!r} "
                                              "(not a member or supervisor of any queue)")
    if then.topic and then.topic not in TOPICS:
        yield at([*where, "then", "topic"], f"rule {rule.name!r}: no topic {then.topic!r} ({', '.join(TOPICS)})")
    if then.reply and templates_dir is not None:
        absent = [f"mail/{then.reply}.{part}.j2" for part in ("subject", "txt", "html")
                  if not (templates_dir / "mail" / f"{then.reply}.{part}.j2").is_file()]
        if absent:
            yield at([*where, "then", "reply"], f"rule {rule.name!r}: no template {', '.join(absent)} "
                                                 f"in {templates_dir}")
    known = {"unit": units, "branch": branches, "topic": TOPICS, "flag": FLAGS, "status": STATUSES,
             "channel": CHANNELS}
    for field_name, values in known.items():
        for value in _names(getattr(when, field_name)):
            if value not in values:
                yield at([*where, "when", field_name], f"rule {rule.name!r}: no {field_name} {value!r}")
    for field_name in ("text_matches", "subject_matches"):
        pattern = getattr(when, field_name)
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                yield at([*where, "when", field_name], f"rule {rule.name!r}: bad regular expression: {error}")
    if when.keywords is not None and not [w for w in when.keywords if w.strip()]:
        yield at([*where, "when", "keywords"], f"rule {rule.name!r}: keywords is empty")


_ABBREVIATIONS = re.compile(
    r"\b(улица|ул|проспект|пр-т|пр|переулок|пер|бульвар|б-р|площадь|пл|шоссе|набережная|наб|"
    r"микрорайон|мкр|город|г|село|с|деревня|дер|д|поселок|посёлок|пос|п|рабочий поселок|р\.п|рп|"
    r"район|р-н|округ|административный округ|снт)\b\.?",
    re.IGNORECASE,
)


def normalise_place(name: str) -> str:
    """A place name reduced for matching: lower case, «ё» as «е», no kind words, single spaces."""
    text = name.lower().replace("ё", "е")
    text = _ABBREVIATIONS.sub(" ", text)
    text = re.sub(r"[^\w\s-]", " ", text)
    return " ".join(text.replace("-", " ").split())
