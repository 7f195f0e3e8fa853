"""The robot's context: settings and the things built from them, passed to every stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from jinja2 import Environment
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from robot.clock import Clock, SystemClock
from robot.config import Settings
from robot.deadlines.calendar import WorkCalendar
from robot.dispatch import Dispatcher
from robot.storage.db import make_engine, make_session_factory
from robot.templating import make_environment


@dataclass
class Robot:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.effective_database_url, busy_timeout_ms=self.settings.db_busy_timeout_ms)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def calendar(self) -> WorkCalendar:
        return WorkCalendar(self.settings.tz)

    @cached_property
    def templates(self) -> Environment:
        return make_environment(self.settings.templates_dir, self.settings.tz)

    @cached_property
    def dispatcher(self) -> Dispatcher:
        if not self.settings.redis_url:
            raise RuntimeError("MAILROBOT_REDIS_URL is not set (only `mailrobot up` starts its own Redis)")
        return Dispatcher(self.settings.redis_url, self.settings.queue_name)

    @cached_property
    def signing_key(self) -> bytes:
        return self.settings.signing_key()

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
