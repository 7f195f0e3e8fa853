"""The shape of routing_rules.yaml, checked by pydantic; cross-references are checked in load.py."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class Strict(BaseModel):
    # An unknown key is an error, not a silent no-op: a typo must not disable a rule.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Branch(Strict):
    code: str
    name: str


class Unit(Strict):
    code: str
    name: str
    branch: str
    account_prefixes: list[str] = Field(default_factory=list)
    illustrative: bool = False


class Place(Strict):
    """A street or a settlement, with the other ways people write it."""

    name: str
    aliases: list[str] = Field(default_factory=list)


class District(Strict):
    """A city okrug or a municipal district of the oblast."""

    name: str
    aliases: list[str] = Field(default_factory=list)
    unit: str
    streets: list[Place] = Field(default_factory=list)
    settlements: list[Place] = Field(default_factory=list)


class Region(Strict):
    name: str
    aliases: list[str] = Field(default_factory=list)
    districts: list[District] = Field(default_factory=list)


class Queue(Strict):
    name: str
    title: str
    members: list[str] = Field(default_factory=list)
    supervisor: str | None = None
    calendar: str | None = Field(None, description="A named calendar of calendar.yaml the queue works by "
                                                   "(its deadlines and notifications); none: the company's.")


Kind = Literal["question", "application", "complaint"]
OneOrMany = str | list[str]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Priority = Literal["low", "normal", "high", "urgent"]
#: What a kind may require of an appeal before a specialist can act on it (R10).
Field_ = Literal["account", "address", "phone", "name"]


def _clock_time(value: object) -> object:
    # Unquoted, YAML 1.1 reads 09:30 as the number 570 (base 60): demand the quotes.
    if not isinstance(value, str | time):
        raise ValueError("write a time of day in quotes, e.g. '09:00'")  # noqa: TRY004 — pydantic reports ValueError
    return value


ClockTime = Annotated[time, BeforeValidator(_clock_time)]


class Hours(Strict):
    """A time of day range in the company's time zone; ``from`` after ``to`` wraps past midnight."""

    from_: ClockTime = Field(alias="from")
    to: ClockTime


class Dates(Strict):
    """A range of dates in the company's time zone, both ends included."""

    from_: date = Field(alias="from")
    to: date


class Conditions(Strict):
    """All given conditions must hold; a list means any of its values.

    Each key is a condition registered in robot/routing/conditions.py (the registry says what it
    checks and why it missed).
    """

    kind: Kind | list[Kind] | None = None
    topic: OneOrMany | None = None
    scope: Literal["in", "out"] | None = None
    flag: OneOrMany | None = None
    status: OneOrMany | None = None
    channel: OneOrMany | None = None
    sender: OneOrMany | None = Field(None, description="The sender's address (any case).")
    sender_domain: OneOrMany | None = None
    keywords: list[str] | None = Field(None, description="Any of these words or phrases in subject or text.")
    subject_matches: str | None = Field(None, description="A regular expression searched in the subject.")
    text_matches: str | None = Field(None, description="A regular expression searched in subject and text.")
    region: OneOrMany | None = None
    district: OneOrMany | None = None
    branch: OneOrMany | None = None
    unit: OneOrMany | None = None
    territory_known: bool | None = None
    data_complete: bool | None = Field(None, description="Every field `required` for the kind is given.")
    working_hours: bool | None = Field(None, description="Received on a working day within working hours.")
    weekday: Weekday | list[Weekday] | None = None
    hours: Hours | None = None
    dates: Dates | None = None


class Actions(Strict):
    """What a matching rule does; each key is an action registered in robot/routing/actions.py."""

    queue: str | None = None
    queue_of_unit: bool = Field(False, description="Route to the queue named after the territory's unit.")
    assign: str | None = None
    triage: bool = Field(False, description="A person decides the kind before anything else happens.")
    reply: str | None = Field(None, description="Template (templates/mail/NAME.*.j2) of the automatic reply, "
                                                "sent instead of the acknowledgement.")
    ask_customer: bool = Field(False, description="Ask the customer for the kind's missing required fields.")
    topic: str | None = None
    priority: Priority | None = None
    stop: bool = True


class Rule(Strict):
    name: str
    description: str = ""
    when: Conditions = Field(default_factory=Conditions)
    then: Actions
    continue_: bool = Field(False, alias="continue")


class RuleTest(Strict):
    subject: str = ""
    text: str
    kind: Kind = "question"
    topic: str = "other"
    scope: Literal["in", "out"] = "in"
    flags: list[str] = Field(default_factory=list)
    channel: str = "email"
    sender: str | None = None
    received_at: datetime | None = Field(None, description="When it arrived (no zone: the company's time).")
    form: dict[str, str] | None = None
    expect_queue: str
    expect_priority: Priority | None = None
    expect_reply: str | None = None
    expect_missing: list[Field_] | None = None


class WorkingHours(Strict):
    """Reception hours on working days (the production calendar decides which days work)."""

    from_: ClockTime = Field(time(9, 0), alias="from")
    to: ClockTime = time(17, 0)


class RulesFile(Strict):
    version: int = 1
    default_queue: str
    #: Unset: the company calendar's working hours (MAILROBOT_WORKDAY_START/END, shortened days).
    working_hours: WorkingHours | None = None
    #: A personal account number in text; a unit's account_prefixes are matched against it.
    account_pattern: str = r"(?<!\d)\d{10,12}(?!\d)"
    required: dict[Kind, list[Field_]] = Field(default_factory=dict)
    branches: list[Branch]
    units: list[Unit]
    regions: list[Region]
    queues: list[Queue]
    rules: list[Rule]
    tests: list[RuleTest] = Field(default_factory=list)
