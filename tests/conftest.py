"""Fixtures: real Redis, a real SMTP relay sink and the real gateway, all on loopback."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from redis import Redis

from robot.app import Robot
from robot.clock import FrozenClock
from robot.config import Settings
from robot.intake.smtp import GatewayController
from robot.storage.migrate import upgrade
from tests.postgres import PostgresServer

#: The web app served on loopback and a real headless Chromium (tests/web_fixtures.py).
pytest_plugins = ["tests.web_fixtures", "tests.desk_fixtures"]

OMSK = ZoneInfo("Asia/Omsk")
#: A Monday in the company's time zone; due dates below are counted from it.
MONDAY_10AM = datetime(2026, 1, 12, 10, 0, tzinfo=OMSK)
ROBOT_ADDRESS = "info@omskenergo.example"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings come from MAILROBOT_* variables; a developer's shell must not leak into tests.
    for name in list(os.environ):
        if name.startswith("MAILROBOT_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for the whole run, on a Unix socket of its own."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed; `make test` installs it")
    directory = tmp_path_factory.mktemp("redis")
    sock = directory / "redis.sock"
    process = subprocess.Popen(
        [binary, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
    )
    url = f"unix://{sock}"
    for _ in range(200):
        if sock.exists():
            try:
                if Redis.from_url(url).ping():
                    break
            except Exception:
                pass
        time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("redis-server did not start")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def redis(redis_server: str) -> Iterator[Redis]:
    connection = Redis.from_url(redis_server)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@dataclass
class Sink:
    """A real SMTP server standing in for the company's relay; it records what it receives."""

    host: str
    port: int
    received: list[tuple[float, str, list[str], bytes]] = field(default_factory=list)
    refuse_with: str | None = None
    hold: threading.Event | None = None
    holding: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.hold is not None:
            # Stand still mid-conversation, like a relay that hangs (used to kill a worker mid-job).
            self.holding.set()
            while not self.hold.is_set():
                await asyncio.sleep(0.02)
        if self.refuse_with:
            return self.refuse_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.arrived:
            self.received.append((time.monotonic(), envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            self.arrived.notify_all()
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        return [BytesParser(policy=policy.default).parsebytes(raw) for *_, raw in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout)
        return self.messages()


@pytest.fixture
def sink() -> Iterator[Sink]:
    recorder = Sink("127.0.0.1", free_port())
    controller = Controller(recorder, hostname=recorder.host, port=recorder.port, decode_data=False)
    controller.start()
    yield recorder
    if recorder.hold is not None:
        recorder.hold.set()
    controller.stop()


DATABASES = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--databases", default=",".join(DATABASES),
                     help="comma-separated databases that database tests run on (default: %(default)s)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test that touches the database (through `settings` or `database_url`) runs on each.
    if "database_url" in metafunc.fixturenames:
        chosen = [name.strip() for name in metafunc.config.getoption("databases").split(",") if name.strip()]
        unknown = set(chosen) - set(DATABASES)
        if unknown:
            raise pytest.UsageError(f"--databases: unknown {sorted(unknown)}; choose from {DATABASES}")
        metafunc.parametrize("database_url", chosen, indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL for the whole run, on a Unix socket of its own."""
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """This test's database: None for SQLite (a file in the data dir), or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    yield server.url(name)
    server.drop_database(name)


@pytest.fixture
def settings(tmp_path: Path, redis_server: str, sink: Sink, database_url: str | None) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        redis_url=redis_server,
        outbound_smtp_host=sink.host,
        outbound_smtp_port=sink.port,
        outbound_timeout_s=5,
        smtp_port=free_port(),
        accept=["omskenergo.example"],
        secret_key="test-secret",
    )


@contextmanager
def database_unavailable(robot: Robot, request: pytest.FixtureRequest) -> Iterator[None]:
    """The robot's database takes no writes: SQLite locked by another writer, PostgreSQL refusing connections."""
    if robot.settings.database_url is None:
        robot.settings.db_busy_timeout_ms = 200
        for built in ("engine", "database"):
            robot.__dict__.pop(built, None)
        blocker = sqlite3.connect(robot.settings.data_dir / "mailrobot.db", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        with server.refusing_connections(robot.engine.url.database):
            yield


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process (a worker, `mailrobot up`) these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILROBOT_")}
    for name, value in settings.model_dump(exclude_none=True).items():
        env[f"MAILROBOT_{name.upper()}"] = ",".join(value) if isinstance(value, list) else str(value)
    return env


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(MONDAY_10AM)


@pytest.fixture
def robot(settings: Settings, clock: FrozenClock, redis: Redis) -> Iterator[Robot]:
    settings.ensure_dirs()
    upgrade(settings.effective_database_url)
    instance = Robot(settings, clock=clock)
    yield instance
    instance.close()


@pytest.fixture
def gateway(robot: Robot) -> Iterator[GatewayController]:
    controller = GatewayController(robot)
    controller.start()
    yield controller
    controller.stop()


def kill_worker_mid_send(settings: Settings, sink: Sink, *, timeout: float = 60) -> None:
    """Run a real worker process until it stands mid-conversation with the relay, then `kill -9` it.

    The sink holds the conversation (``sink.hold``) so the kill lands after the job claimed its
    work and before the relay took the mail; the hold is released afterwards.
    """
    import signal
    import sys

    sink.hold = threading.Event()
    worker = subprocess.Popen([sys.executable, "-m", "robot.cli.main", "worker", "--burst", "--processes", "1"],
                              env=settings_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert sink.holding.wait(timeout=timeout), "the worker never reached the relay"
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(timeout=10) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
        sink.hold.set()


def run_jobs(robot: Robot) -> None:
    """Run every queued job in this process, like an RQ worker in burst mode.

    The RQ scheduler runs too: it moves scheduled jobs whose time (real time) has come into the
    queue. Test clocks stand in the past, so every scheduled job is due for RQ; the job itself
    then checks the robot's clock before acting.
    """
    from workers.runtime import RobotWorker

    dispatcher = robot.dispatcher
    worker = RobotWorker([dispatcher.queue], connection=dispatcher.connection, robot=robot)
    worker.work(burst=True, with_scheduler=True)


def send(gateway: GatewayController, raw: bytes, sender: str = "ivanov@example.ru") -> None:
    """Deliver ``raw`` to the gateway over real SMTP, as a customer's mail server would."""
    import smtplib

    with smtplib.SMTP(gateway.hostname, gateway.port) as client:
        client.sendmail(sender, [ROBOT_ADDRESS], raw)


def customer_mail(
    subject: str = "Нет света третий день",
    body: str = "Здравствуйте! Третий день нет света в доме на ул. Ленина, 5. Прошу разобраться.",
    *,
    sender: str = "Иванов Пётр <ivanov@example.ru>",
    message_id: str | None = "<customer-1@example.ru>",
    extra: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ROBOT_ADDRESS
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    for name, value in (extra or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes(policy=policy.SMTP)
