"""The one clock seam. Everything that asks "what time is it?" asks a Clock.

Tests pass a FrozenClock and move it forward; nothing in the product calls ``datetime.now``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware (UTC)."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


@dataclass
class FrozenClock:
    """A clock that only moves when told to."""

    moment: datetime = field(default_factory=lambda: datetime(2026, 1, 12, 10, 0, tzinfo=timezone.utc))

    def now(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta) -> None:
        self.moment += delta
