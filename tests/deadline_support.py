"""Helpers of the deadline tests: staff with addresses, and an appeal registered the pipeline's way."""

from __future__ import annotations

from datetime import datetime

from robot.app import Robot
from robot.deadlines.plan import register_deadlines
from robot.pipeline.register import next_number
from robot.storage.models import Appeal, User
from tests.conftest import OMSK

CUSTOMER = "ivanov@example.ru"
#: omsk-1's member group and supervisor (routing_rules.yaml), and a specialist who works in omsk-1.
STAFF = {"omsk-1-specialists": "specialists@staff.example", "omsk-1-head": "head@staff.example",
         "petrova": "petrova@staff.example"}


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=OMSK)


def add_staff(robot: Robot) -> None:
    with robot.unit_of_work() as session:
        for login, address in STAFF.items():
            head = login.endswith("-head")
            session.add(User(login=login, name=login.title(), email=address, role="manager" if head else "specialist",
                             queues=[] if head else ["omsk-1"], created_at=robot.clock.now()))


def open_appeal(robot: Robot, *, kind: str = "question", queue: str = "omsk-1", assignee: str | None = None,
                channel: str = "email", email: str | None = CUSTOMER) -> int:
    """An appeal registered now, as the pipeline registers one (the same deadline call)."""
    now = robot.clock.now()
    with robot.unit_of_work() as session:
        year = now.astimezone(OMSK).year
        seq, number = next_number(session, year)
        appeal = Appeal(number=number, year=year, seq=seq, channel=channel, registered_at=now, due_at=now, kind=kind,
                        status="registered", subject="Нет света", customer_name="Иванов Пётр", customer_email=email,
                        queue=queue, assignee=assignee)
        session.add(appeal)
        session.flush()
        register_deadlines(robot, session, appeal)
        return appeal.id
