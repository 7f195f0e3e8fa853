"""What a classifier says about one appeal."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("question", "application", "complaint")


@dataclass(frozen=True)
class Classification:
    kind: str
    kind_confidence: float
    kind_scores: dict[str, float]
    topic: str = "other"
    scope: str = "in"
    flags: list[str] = field(default_factory=list)
    model: str = "unknown"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
