"""A campaign's scenario: the YAML file a specialist writes, checked with located errors, and the
Jinja2 subject and body it renders into Russian text («1 234,56 руб.», «14 января 2026 г.»).

The scenario's templates are written by staff, not by developers, so they run in Jinja2's
sandbox with StrictUndefined: a missing variable is an error before approval, never a blank in a
customer's letter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from robot.routing.load import Problem
from robot.templating import ru_date

KINDS = ("info", "tariff", "debt", "action", "suspension", "outage", "survey")
CHANNELS = ("email", "phone")
#: What every recipient's message may use besides the campaign's and the list's variables.
CUSTOMER_FIELDS = ("name", "account_number", "address", "unit")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ScenarioError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def parse_moment(value: object, tz: ZoneInfo, *, end: bool = False) -> datetime:
    """A moment as a scenario writes it: ``2026-01-12 08:00`` (the company's time), or a date
    (its start; as a window's end, the end of that day)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        day = value + timedelta(days=1) if end else value
        return datetime.combine(day, time(0, 0), tzinfo=tz)
    if isinstance(value, str):
        text = value.strip().replace("T", " ")
        for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M"):
            try:
                return datetime.strptime(text, pattern).replace(tzinfo=tz)
            except ValueError:
                pass
        for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
            try:
                return parse_moment(datetime.strptime(text, pattern).date(), tz, end=end)
            except ValueError:
                pass
    raise ValueError(f"not a date and time (write 2026-01-12 08:00): {value!r}")


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: Any
    end: Any


class Recipients(BaseModel):
    model_config = ConfigDict(extra="forbid")
    all: bool = False
    units: list[str] = Field(default_factory=list)


class Outage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decided: Any
    start: Any
    end: Any


class ScenarioFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=255)
    kind: Literal["info", "tariff", "debt", "action", "suspension", "outage", "survey"]
    channel: Literal["email", "phone"] = "email"
    window: Window
    recipients: Recipients = Field(default_factory=Recipients)
    #: E-mail only: a call has no subject.
    subject: str = ""
    body: str = Field(min_length=1)
    variables: dict[str, Any] = Field(default_factory=dict)
    outage: Outage | None = None

    @field_validator("variables")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not _IDENTIFIER.match(str(name)):
                raise ValueError(f"variable name {name!r} must be Latin letters, digits and _")
        return value

    @model_validator(mode="after")
    def _outage(self) -> ScenarioFile:
        if self.kind == "outage" and self.outage is None:
            raise ValueError("a campaign of kind outage needs an outage: section (decided, start, end)")
        if self.kind != "outage" and self.outage is not None:
            raise ValueError("an outage: section belongs to a campaign of kind outage only")
        if self.channel == "email" and not self.subject.strip():
            raise ValueError("an e-mail campaign needs a subject:")
        return self


@dataclass(frozen=True)
class Spec:
    """A checked scenario, its moments resolved in the company's time zone."""

    name: str
    kind: str
    channel: str
    subject: str
    body: str
    variables: dict[str, Any]
    audience: dict[str, Any]
    starts_at: datetime
    ends_at: datetime
    decided_at: datetime | None = None
    outage_starts_at: datetime | None = None
    outage_ends_at: datetime | None = None


def load_scenario(path: Path, tz: ZoneInfo, *, units: set[str] | None = None) -> Spec:
    """Read and check a scenario file; ScenarioError lists every problem with its line and column."""
    name = str(path)
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise ScenarioError([Problem(name, mark.line + 1 if mark else 1, mark.column + 1 if mark else 1,
                                     f"YAML: {error.problem or error}")]) from None
    if not isinstance(data, dict):
        raise ScenarioError([Problem(name, 1, 1, "the file must be a mapping: name, kind, window, recipients, "
                                                 "subject, body, variables")])
    root = yaml.compose(text, Loader=_Loader)

    def at(loc: tuple[Any, ...], message: str) -> Problem:
        node = _node_at(root, loc)
        mark = node.start_mark if node is not None else None
        return Problem(name, mark.line + 1 if mark else 1, mark.column + 1 if mark else 1, message)

    try:
        scenario = ScenarioFile.model_validate(data)
    except ValidationError as error:
        problems = []
        for err in error.errors():
            where = ".".join(str(p) for p in err["loc"])
            message = f"unknown key {where!r}" if err["type"] == "extra_forbidden" else f"{where or 'file'}: {err['msg']}"
            problems.append(at(tuple(err["loc"]), message))
        raise ScenarioError(problems) from None

    problems: list[Problem] = []
    moments: dict[str, datetime] = {}
    for key, loc, end in (("starts_at", ("window", "start"), False), ("ends_at", ("window", "end"), True),
                          ("decided_at", ("outage", "decided"), False), ("outage_starts_at", ("outage", "start"), False),
                          ("outage_ends_at", ("outage", "end"), False)):
        section = scenario.window if loc[0] == "window" else scenario.outage
        if section is None:
            continue
        try:
            moments[key] = parse_moment(getattr(section, loc[1]), tz, end=end)
        except ValueError as error:
            problems.append(at(loc, f"{'.'.join(loc)}: {error}"))
    if "starts_at" in moments and "ends_at" in moments and moments["ends_at"] <= moments["starts_at"]:
        problems.append(at(("window", "end"), "window.end: the window ends before it starts"))
    if "outage_starts_at" in moments and "outage_ends_at" in moments \
            and moments["outage_ends_at"] <= moments["outage_starts_at"]:
        problems.append(at(("outage", "end"), "outage.end: the outage ends before it starts"))
    if not scenario.recipients.all and not scenario.recipients.units:
        pass  # recipients come from an imported list (`mailrobot campaigns recipients ID FILE`)
    if scenario.recipients.all and scenario.recipients.units:
        problems.append(at(("recipients",), "recipients: either all: true or units, not both"))
    if units is not None:
        for i, unit in enumerate(scenario.recipients.units):
            if unit not in units:
                problems.append(at(("recipients", "units", i),
                                   f"recipients.units: no unit {unit!r} in routing_rules.yaml "
                                   f"(known: {', '.join(sorted(units))})"))
    for key in ("subject", "body"):
        node = _node_at(root, (key,))
        style = getattr(node, "style", None)  # a key not in the file finds the root mapping
        # A block scalar (body: |) starts on the line after its indicator.
        first = (node.start_mark.line + (1 if style in ("|", ">") else 0)) if node is not None else 0
        try:
            compile_template(getattr(scenario, key), phone=scenario.channel == "phone")
        except TemplateSyntaxError as error:
            line = first + (error.lineno or 1)
            problems.append(Problem(name, line, 1, f"{key}: template error: {error.message}"))
            continue
        if key == "body":
            # A literal block's lines are the file's lines; a quoted or folded body is placed by its start.
            literal = style == "|"
            problems += _sound_problems(scenario.body, scenario.channel,
                                        lambda offset: first + (offset if literal else 0) + 1, name)
    if problems:
        raise ScenarioError(problems)
    return Spec(
        name=scenario.name, kind=scenario.kind, channel=scenario.channel, subject=scenario.subject,
        body=scenario.body, variables=_plain(scenario.variables),
        audience={"all": scenario.recipients.all, "units": list(scenario.recipients.units)},
        **moments,
    )


def _sound_problems(body: str, channel: str, line_at, name: str) -> list[Problem]:
    """A body's ``[[sound:NAME]]`` markers (robot/informer/phone_sounds.py): phone only, a name inside
    the sounds directory, and each spoken part a template of its own (so no marker inside a block)."""
    from robot.informer.phone_sounds import MARKER, name_problem, split_body

    problems = []
    for match in MARKER.finditer(body):
        line = line_at(body[:match.start()].count("\n"))
        if channel != "phone":
            problems.append(Problem(name, line, 1, "body: [[sound:…]] plays a recording in a call; "
                                                   "an e-mail campaign cannot have one"))
            continue
        problem = name_problem(match.group("name"))
        if problem is not None:
            problems.append(Problem(name, line, 1, f"body: {problem}"))
    if channel == "phone" and not problems:
        offset = 0
        for kind, source in split_body(body):
            if kind == "text":
                try:
                    compile_template(source, phone=True)
                except TemplateSyntaxError as error:
                    problems.append(Problem(name, line_at(offset + (error.lineno or 1) - 1), 1,
                                            f"body: template error: {error.message} ([[sound:…]] must stand "
                                            "outside {% if %}/{% for %} blocks)"))
                offset += source.count("\n")
    return problems


def _plain(value: Any) -> Any:
    """Variables as JSON keeps them: dates and moments as ISO text (the filters read them back)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _node_at(root: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return node


# --- rendering -------------------------------------------------------------------------------


def rub(value: Any) -> str:
    """Money the Russian way: «1 234,56 руб.»."""
    amount = to_decimal(value).quantize(Decimal("0.01"))
    sign = "-" if amount < 0 else ""
    whole, _, cents = f"{abs(amount):.2f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{' '.join(groups)},{cents} руб."


def to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    text = str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    text = text.removesuffix("руб.").removesuffix("р.")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an amount of money: {value!r}") from None


def to_moment(value: Any, tz: ZoneInfo) -> date | datetime:
    if isinstance(value, (date, datetime)):
        return value
    text = str(value).strip()
    for parse in (datetime.fromisoformat, lambda t: datetime.strptime(t, "%d.%m.%Y %H:%M"),
                  lambda t: datetime.strptime(t, "%d.%m.%Y")):
        try:
            moment = parse(text)
        except ValueError:
            continue
        if len(text) <= 10:
            return moment.date()
        return moment if moment.tzinfo else moment.replace(tzinfo=tz)
    raise ValueError(f"not a date: {value!r}")


def make_sandbox(tz: ZoneInfo | None = None) -> SandboxedEnvironment:
    zone = tz or ZoneInfo("Asia/Omsk")
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)

    def date_filter(value: Any) -> str:
        return ru_date(to_moment(value, zone), zone)

    def time_filter(value: Any) -> str:
        moment = to_moment(value, zone)
        return moment.astimezone(zone).strftime("%H:%M") if isinstance(moment, datetime) else ""

    def datetime_filter(value: Any) -> str:
        moment = to_moment(value, zone)
        if isinstance(moment, datetime):
            return f"{ru_date(moment, zone)} {moment.astimezone(zone):%H:%M}"
        return ru_date(moment, zone)

    env.filters.update(rub=rub, ru_date=date_filter, ru_time=time_filter, ru_datetime=datetime_filter)
    return env


_SANDBOX = make_sandbox()


def _sandbox(phone: bool) -> SandboxedEnvironment:
    """The scenario sandbox; a phone scenario's also has the spoken filters (say_rub, …)."""
    if not phone:
        return _SANDBOX
    # Imported here: robot.informer.speech builds on this module.
    from robot.informer.speech import make_speech_sandbox

    return make_speech_sandbox()


def compile_template(source: str, *, phone: bool = False):
    return _sandbox(phone).from_string(source)


def needed_variables(*sources: str, phone: bool = False) -> set[str]:
    """The variables the templates use (loop variables and the like excluded)."""
    env = _sandbox(phone)
    found: set[str] = set()
    for source in sources:
        found |= meta.find_undeclared_variables(env.parse(source))
    return found
