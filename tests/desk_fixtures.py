"""The desk's test helpers: staff accounts, appeals seeded straight into the journal, a logged-in client.

Appeals are seeded through the ORM (the pipeline has its own tests); the end-to-end browser test
sends real mail through the gateway instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from robot.app import Robot
from robot.pipeline.register import next_number
from robot.staff import add_user
from robot.storage.models import Appeal, Attachment, Event, Message
from robot.web.app import create_app
from tests.web_fixtures import ServerThread

PASSWORD = "correct horse battery"

#: login → (role, own queues). routing_rules.yaml makes omsk-1-head the supervisor of omsk-1.
STAFF = {
    "ivanova": ("specialist", ["omsk-1"]),
    "petrov": ("specialist", ["isilkul"]),
    "router": ("routing", []),
    "omsk-1-head": ("manager", []),
    "admin": ("admin", []),
}


def seed_staff(robot: Robot) -> None:
    with robot.unit_of_work() as session:
        for login, (role, queues) in STAFF.items():
            add_user(session, login=login, role=role, password=PASSWORD, now=robot.clock.now(), queues=queues,
                     name=f"{login.title()} Сотрудник", email=f"{login}@omskenergo.example")


def seed_appeal(robot: Robot, *, queue: str = "omsk-1", kind: str = "question", subject: str = "Нет света",
                text: str = "Третий день нет света на ул. Ленина, 5.", html: str | None = None,
                customer_name: str | None = "Иванов Пётр", customer_email: str | None = "ivanov@example.ru",
                due_in: timedelta = timedelta(days=3), registered_ago: timedelta = timedelta(hours=1),
                attachments: list[tuple[str, str, bytes]] = (), status: str = "registered",
                channel: str = "email", message_id: str | None = "<customer-1@example.ru>",
                unit: str | None = "Омский городской РЭС-1") -> str:
    now = robot.clock.now()
    registered = now - registered_ago
    with robot.unit_of_work() as session:
        year = registered.astimezone(robot.settings.tz).year
        seq, number = next_number(session, year)
        appeal = Appeal(number=number, year=year, seq=seq, channel=channel, registered_at=registered,
                        due_at=registered + due_in, kind=kind, kind_confidence=0.9,
                        classification={"kind_scores": {k: 0.9 if k == kind else 0.05
                                                        for k in ("question", "application", "complaint")}},
                        status=status, topic="outage", scope="in", flags=[], subject=subject,
                        customer_name=customer_name, customer_email=customer_email, queue=queue,
                        routing={"queue": queue, "trace": [{"rule": "by-unit", "verdict": "hit", "queue": queue}],
                                 "territory": {"unit_name": unit, "evidence": ["ул. Ленина"]},
                                 "rules_version": "test"},
                        region="г. Омск", unit=unit)
        session.add(appeal)
        session.flush()
        message = Message(appeal_id=appeal.id, direction="in", created_at=registered, message_id=message_id,
                          sender=customer_email, subject=subject, text=text, html=html)
        message.attachments = [Attachment(filename=name, content_type=ctype, size=len(content), sha256="0" * 64,
                                          content=content) for name, ctype, content in attachments]
        session.add(message)
        session.add(Event(appeal_id=appeal.id, at=registered, actor="robot", action="registered", detail={}))
    return number


@dataclass
class Desk:
    """An HTTP client on the real app served on loopback, logged in as one member of staff."""

    client: httpx.Client
    login: str
    csrf: str

    def page(self, path: str, **params):
        return self.client.get(path, params=params)

    def post(self, path: str, data: dict | None = None, files=None, *, csrf: str | None = None):
        payload = {"csrf": self.csrf if csrf is None else csrf, **(data or {})}
        return self.client.post(path, data=payload, files=files)

    def refresh_csrf(self) -> str:
        self.csrf = csrf_of(self.client.get("/desk/operator").text)
        return self.csrf


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def log_in(client: httpx.Client, login: str, password: str = PASSWORD):
    page = client.get("/desk/login")
    return client.post("/desk/login", data={"csrf": csrf_of(page.text), "login": login, "password": password,
                                            "next": "/desk/queue"})


@pytest.fixture
def desk_url(robot: Robot) -> Iterator[str]:
    """The whole web app on loopback, with the staff of STAFF able to log in."""
    seed_staff(robot)
    with ServerThread(create_app(robot)) as server:
        yield server.url


@pytest.fixture
def anonymous(desk_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=desk_url, follow_redirects=False, timeout=30) as client:
        yield client


@pytest.fixture
def desk_as(desk_url: str) -> Iterator:
    """``desk_as("ivanova")``: a client logged in as that member of staff."""
    clients: list[httpx.Client] = []

    def make(login: str) -> Desk:
        client = httpx.Client(base_url=desk_url, follow_redirects=False, timeout=30)
        clients.append(client)
        response = log_in(client, login)
        assert response.status_code == 303, response.text
        desk = Desk(client, login, "")
        desk.refresh_csrf()
        return desk

    yield make
    for client in clients:
        client.close()
