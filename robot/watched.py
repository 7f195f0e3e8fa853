"""A file the running process reloads when it changes on disk: routing rules, the calendar.

The change is noticed by the file's modification time. One thread reloads while the others go on
with what is in force; an unreadable file is logged and changes nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WatchedFile:
    def __init__(self, path: Path, what: str, log: logging.Logger, *, check_every_s: float = 0.0) -> None:
        self.path = path
        self.what = what  # for the log: "routing rules", "calendar"
        self.log = log
        self.check_every_s = check_every_s
        self._lock = threading.Lock()
        self._mtime = path.stat().st_mtime_ns
        self._checked = time.monotonic()

    @contextmanager
    def changed(self, *, now: bool = False) -> Iterator[bool]:
        """True, once per change and under a lock, when the file changed since it was last loaded.

        ``now``: look even if the file was looked at less than ``check_every_s`` ago.
        """
        if not now and time.monotonic() - self._checked < self.check_every_s:
            yield False
            return
        self._checked = time.monotonic()
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError as error:
            self.log.error("%s %s unreadable (%s); what is in force stays", self.what, self.path, error)
            yield False
            return
        if mtime == self._mtime:
            yield False
            return
        with self._lock:
            if mtime == self._mtime:  # another thread reloaded it meanwhile
                yield False
                return
            self._mtime = mtime
            yield True
