"""What routing looks at (Facts) and what it decides (Routing), with every rule's verdict."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from robot.routing.territory import Earlier, Territory


@dataclass(frozen=True)
class Facts:
    """What routing may look at.

    ``form``: the fields of a web reception form, when the appeal came through one. Routing reads
    ``territory`` (a settlement, street, district/okrug name or a unit code, as the form offers
    them: :meth:`Gazetteer.choices`), ``address``, ``account``, ``phone`` and ``name``; the form's
    territory is the best evidence there is.
    ``earlier``: the territory decided for this customer's latest earlier appeal (weak evidence).
    """

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
    received_at: datetime | None = None
    customer_name: str | None = None
    form: Mapping[str, str] | None = None
    earlier: Earlier | None = None

    def inputs(self) -> dict[str, Any]:
        """Everything but the text, stored with the decision so that it can be taken again."""
        return {"kind": self.kind, "topic": self.topic, "scope": self.scope, "flags": list(self.flags),
                "status": self.status, "channel": self.channel, "sender": self.sender, "account": self.account,
                "received_at": self.received_at.isoformat() if self.received_at else None,
                "customer_name": self.customer_name, "form": dict(self.form) if self.form else None,
                "earlier": asdict(self.earlier) if self.earlier else None}


@dataclass
class Routing:
    queue: str
    assignee: str | None
    territory: Territory
    rules_version: str
    #: Every rule in order: {"rule", "verdict": hit|miss, and "queue" and "actions" (hit) or "reason" (miss)}.
    trace: list[dict[str, Any]] = field(default_factory=list)
    #: None: the classifier's topic stands.
    topic: str | None = None
    priority: str = "normal"
    #: Template of the automatic reply a rule chose instead of the acknowledgement.
    reply: str | None = None
    triage: bool = False
    #: Fields the kind requires (``required:`` in the rules) that the appeal does not give.
    missing: list[str] = field(default_factory=list)
    #: The customer is asked for ``missing`` (the reply is the request).
    ask_customer: bool = False
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def hits(self) -> list[dict[str, Any]]:
        return [step for step in self.trace if step["verdict"] == "hit"]

    @property
    def misses(self) -> list[dict[str, Any]]:
        return [step for step in self.trace if step["verdict"] == "miss"]

    def outcome(self) -> dict[str, Any]:
        """What the decision does, without the reasons: two decisions with equal outcomes agree."""
        return {"queue": self.queue, "assignee": self.assignee, "topic": self.topic, "priority": self.priority,
                "reply": self.reply, "triage": self.triage, "missing": self.missing, "unit": self.territory.unit}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
