"""The robot's context: settings and the things built from them, passed to every stage."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cached_property
from typing import cast

from jinja2 import Environment
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from robot.clock import Clock, SystemClock
from robot.config import Settings
from robot.deadlines.calendar import WorkCalendar
from robot.deadlines.calendars import Calendars
from robot.dispatch import Dispatcher
from robot.mail.relay import Relay
from robot.routing.engine import Router
from robot.storage.db import Database, make_engine
from robot.templating import make_environment


@dataclass
class Robot:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)

    def __post_init__(self) -> None:
        # A call's approval hash covers its sound files and is computed where only a campaign is at
        # hand (robot/informer/campaigns.py): this process's robot says where the files are.
        from robot.informer import phone_sounds

        phone_sounds.locate(lambda: self.settings.phone_sounds)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.effective_database_url, busy_timeout_ms=self.settings.db_busy_timeout_ms)

    @cached_property
    def database(self) -> Database:
        return Database(self.engine, self.settings.db_busy_timeout_ms)

    @property
    def sessions(self) -> sessionmaker[Session]:
        """Sessions for reading; write through :meth:`unit_of_work`."""
        return self.database.sessions

    def unit_of_work(self, *, priority: bool = False) -> AbstractContextManager[Session]:
        """One write transaction, committed as a whole or not at all (``priority``: ahead of the
        workers' registrations on SQLite; see :meth:`Database.unit_of_work`)."""
        return self.database.unit_of_work(priority=priority)

    @cached_property
    def calendars(self) -> Calendars:
        """The company's calendar and the named calendars of queues (calendar.yaml, reloaded on change)."""
        settings = self.settings
        return Calendars(settings.calendar_file, settings.tz, day_starts=settings.workday_start,
                         day_ends=settings.workday_end)

    @property
    def calendar(self) -> WorkCalendar:
        """The company's calendar as it is now (a queue may have its own: robot.deadlines.plan)."""
        return cast(WorkCalendar, self.calendars.company)

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

    @cached_property
    def router(self) -> Router:
        """The routing rules in force in this process (reloaded when the file changes)."""
        return Router(self.settings.routing_rules, self.calendar, self.settings.templates_dir)

    @cached_property
    def relay(self) -> Relay:
        settings = self.settings
        if not settings.outbound_smtp_host:
            raise RuntimeError("no outgoing relay configured (MAILROBOT_OUTBOUND_SMTP_HOST)")
        return Relay(settings.outbound_smtp_host, settings.outbound_smtp_port,
                     local_hostname=settings.smtp_hostname, timeout_s=settings.outbound_timeout_s)

    def close(self) -> None:
        if "relay" in self.__dict__:
            self.relay.close()
        if "engine" in self.__dict__:
            self.engine.dispose()
