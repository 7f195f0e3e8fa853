"""The calendars in force: the company's, and the named sets of calendar.yaml that queues choose.

Reloaded when the file changes (checked at most once a second): a valid file is swapped in whole;
an invalid one is refused and logged, and the calendars in force stay — a typo must not move
every deadline. A file broken at start-up is an error at start-up.
"""

from __future__ import annotations

import logging
from datetime import time as clock_time
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from robot.deadlines.calendar import WorkCalendar
from robot.deadlines.calendar_file import (
    CalendarError,
    CalendarFile,
    load_calendar_file,
)
from robot.deadlines.limits import Limits
from robot.watched import WatchedFile

log = logging.getLogger("robot.deadlines")

#: How often the file's modification time is looked at.
_CHECK_EVERY_S = 1.0


class UnknownCalendar(KeyError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        return f"no calendar {self.name!r} in calendar.yaml; known: {', '.join(self.known) or 'none'}"


class Calendars:
    def __init__(self, path: Path | None, tz: ZoneInfo, *, day_starts: clock_time = clock_time(8, 0),
                 day_ends: clock_time = clock_time(17, 0)) -> None:
        if day_starts >= day_ends:
            raise ValueError(f"working day starts ({day_starts}) after it ends ({day_ends})")
        self.path = path
        self.tz = tz
        self.day_starts = day_starts
        self.day_ends = day_ends
        self._file = WatchedFile(path, "calendar", log, check_every_s=_CHECK_EVERY_S) if path else None
        self._install(load_calendar_file(path))
        self.last_error: CalendarError | None = None

    def _install(self, loaded: CalendarFile) -> None:
        built = {None: WorkCalendar(self.tz, self.day_starts, self.day_ends, loaded.company)}
        for name, overrides in loaded.sets.items():
            built[name] = WorkCalendar(self.tz, self.day_starts, self.day_ends, loaded.company | overrides, name)
        # One assignment each: a computation in progress keeps what it started with.
        self._built = built
        self._limits = Limits(MappingProxyType(dict(loaded.limits)))
        self._version = f"{loaded.version}:{self.day_starts:%H%M}-{self.day_ends:%H%M}"

    def _refresh(self, *, now: bool = False) -> None:
        if self._file is None:
            return
        with self._file.changed(now=now) as changed:
            if not changed:
                return
            try:
                loaded = load_calendar_file(self.path)
            except (CalendarError, OSError) as error:
                self.last_error = error if isinstance(error, CalendarError) else None
                log.error("calendar %s refused; the calendars in force stay:\n%s", self.path, error)
                return
            self._install(loaded)
            self.last_error = None
            log.info("calendar %s reloaded: version %s", self.path, self._version)

    def reload(self) -> None:
        """Look at the file now (a command that was just told the file changed)."""
        self._refresh(now=True)

    def get(self, name: str | None = None) -> WorkCalendar:
        """The company's calendar, or the named set of calendar.yaml on top of it."""
        self._refresh()
        try:
            return self._built[name]
        except KeyError:
            raise UnknownCalendar(name or "", self.names) from None

    @property
    def names(self) -> list[str]:
        return sorted(name for name in self._built if name is not None)

    @property
    def limits(self) -> Limits:
        self._refresh()
        return self._limits

    @property
    def version(self) -> str:
        """Changes whenever the file or the working hours change."""
        self._refresh()
        return self._version

    @property
    def company(self) -> CompanyCalendar:
        return CompanyCalendar(self)


class CompanyCalendar:
    """The company's calendar as it is now: a stable handle for those that keep one (the router)."""

    def __init__(self, calendars: Calendars) -> None:
        self._calendars = calendars

    def __getattr__(self, name: str) -> Any:
        return getattr(self._calendars.get(None), name)
