"""The shape of routing_rules.yaml, checked by pydantic; cross-references are checked in load.py."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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


Kind = Literal["question", "application", "complaint"]
OneOrMany = str | list[str]


class Conditions(Strict):
    """All given conditions must hold; a list means any of its values."""

    kind: Kind | list[Kind] | None = None
    topic: OneOrMany | None = None
    scope: Literal["in", "out"] | None = None
    flag: OneOrMany | None = None
    status: OneOrMany | None = None
    channel: OneOrMany | None = None
    sender_domain: OneOrMany | None = None
    text_matches: str | None = Field(None, description="A regular expression searched in subject and text.")
    region: OneOrMany | None = None
    district: OneOrMany | None = None
    branch: OneOrMany | None = None
    unit: OneOrMany | None = None
    territory_known: bool | None = None


class Actions(Strict):
    queue: str | None = None
    queue_of_unit: bool = Field(False, description="Route to the queue named after the territory's unit.")
    assign: str | None = None
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
    expect_queue: str


class RulesFile(Strict):
    version: int = 1
    default_queue: str
    branches: list[Branch]
    units: list[Unit]
    regions: list[Region]
    queues: list[Queue]
    rules: list[Rule]
    tests: list[RuleTest] = Field(default_factory=list)
