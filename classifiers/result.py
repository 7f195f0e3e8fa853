"""What a classifier says about one appeal."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("question", "application", "complaint")
TOPICS = ("outage", "equipment", "meters", "connection", "planned_outage", "contract", "billing", "staff",
          "compensation", "other")
FLAGS = ("no_contact", "obscene", "threat", "unreadable")


@dataclass(frozen=True)
class Classification:
    kind: str
    kind_confidence: float
    kind_scores: dict[str, float]
    topic: str = "other"
    topic_confidence: float | None = None
    scope: str = "in"
    scope_confidence: float | None = None
    flags: list[str] = field(default_factory=list)
    model: str = "unknown"

    @property
    def top_two_kinds(self) -> list[tuple[str, float]]:
        """The two likeliest kinds, for a human who triages a doubtful appeal."""
        return sorted(self.kind_scores.items(), key=lambda item: item[1], reverse=True)[:2]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
