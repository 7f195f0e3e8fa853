"""The IMAP intake against a real Dovecot on loopback (R1; RELIABILITY §1–2)."""

from __future__ import annotations

import contextlib
import itertools
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from robot.intake.imap import ImapIntake
from robot.storage.models import Appeal, Event, ImapMailbox, RawMessage
from tests.conftest import customer_mail, database_unavailable, run_jobs, settings_env
from tests.dovecot import DovecotServer

PASSWORD = "пароль-1"  # non-ASCII on purpose: a real mailbox's password may be anything
_users = itertools.count(1)


class Crash(BaseException):
    """A process dying at a chosen point (BaseException: nothing in the intake may catch it)."""


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    server = DovecotServer(PASSWORD)
    yield server
    server.close()


@pytest.fixture
def mailbox_user(dovecot: DovecotServer) -> str:
    """A mailbox of its own for each test."""
    return f"appeals{next(_users)}@omskenergo.example"


@pytest.fixture
def imap_robot(robot, dovecot: DovecotServer, mailbox_user: str):
    settings = robot.settings
    settings.imap_host, settings.imap_port, settings.imap_tls = dovecot.host, dovecot.port, "none"
    settings.imap_user, settings.imap_password = mailbox_user, PASSWORD
    return robot


@pytest.fixture
def customer(dovecot: DovecotServer, mailbox_user: str) -> Iterator[IMAPClient]:
    """A second IMAP session on the same mailbox: how mail arrives, and how we look at its flags."""
    client = IMAPClient(dovecot.host, dovecot.port, ssl=False)
    client.plain_login(mailbox_user, PASSWORD)
    yield client
    with contextlib.suppress(IMAPClientError, OSError):  # a test may have logged it out (server restart)
        client.logout()


def deliver(client: IMAPClient, raw: bytes, folder: str = "INBOX", flags: tuple[bytes, ...] = ()) -> None:
    client.append(folder, raw, flags=flags)


def flags_in(client: IMAPClient, folder: str = "INBOX") -> list[tuple[bytes, ...]]:
    client.select_folder(folder, readonly=True)
    uids = client.search("ALL")
    fetched = client.fetch(uids, ["FLAGS"]) if uids else {}
    client.unselect_folder()
    return [tuple(flag for flag in fetched[uid][b"FLAGS"] if flag != b"\\Recent") for uid in sorted(fetched)]


def raw_count(robot) -> int:
    with robot.sessions() as session:
        return session.scalar(select(func.count()).select_from(RawMessage))


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Wait for something a real server or process does, up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_appended_message_is_stored_flagged_and_acknowledged(imap_robot, customer, sink):
    """R1: mail that lands in the company's mailbox is registered and acknowledged like SMTP mail."""
    deliver(customer, b"Return-Path: <ivanov@example.ru>\r\n" + customer_mail())
    intake = ImapIntake(imap_robot)
    with intake.connect() as client:
        done = intake.sweep(client)
    assert (done.stored, done.duplicates) == (1, 0)
    with imap_robot.sessions() as session:
        raw = session.scalars(select(RawMessage)).one()
    assert (raw.channel, raw.mail_from) == ("imap", "ivanov@example.ru")
    assert raw.raw.endswith(customer_mail())
    assert flags_in(customer) == [(b"\\Seen",)]
    run_jobs(imap_robot)
    [ack] = sink.wait_for(1)
    assert ack["To"].addresses[0].addr_spec == "ivanov@example.ru"
    assert ack["In-Reply-To"] == "<customer-1@example.ru>"
    with imap_robot.sessions() as session:
        appeal = session.scalars(select(Appeal)).one()
    assert appeal.channel == "imap"
    assert appeal.number in str(ack["Subject"])


def test_nothing_is_flagged_before_it_is_committed(imap_robot, customer, request):
    """RELIABILITY §1: with the database down the message stays unread in the mailbox, then is taken."""
    deliver(customer, customer_mail())
    intake = ImapIntake(imap_robot)
    with database_unavailable(imap_robot, request), intake.connect() as client, pytest.raises(OperationalError):
        intake.sweep(client)
    assert flags_in(customer) == [()]
    imap_robot.__dict__.pop("engine", None)  # the SQLite case swapped the engine for a short-fused one
    imap_robot.__dict__.pop("database", None)
    with intake.connect() as client:
        assert intake.sweep(client).stored == 1
    assert flags_in(customer) == [(b"\\Seen",)]


def test_crash_between_storing_and_flagging_registers_once(imap_robot, customer, sink, monkeypatch):
    """RELIABILITY §2: stored, then the process dies before \\Seen → read again, registered once."""
    for i in range(3):
        deliver(customer, customer_mail(message_id=f"<c{i}@example.ru>", body=f"Нет света, дом {i}"))

    def die(self, client, uids):
        raise Crash

    monkeypatch.setattr(ImapIntake, "_mark_processed", die)
    with ImapIntake(imap_robot).connect() as client, pytest.raises(Crash):
        ImapIntake(imap_robot).sweep(client)
    assert raw_count(imap_robot) == 3
    assert flags_in(customer) == [(), (), ()]
    monkeypatch.undo()

    restarted = ImapIntake(imap_robot)
    with restarted.connect() as client:
        done = restarted.sweep(client)
    assert (done.stored, done.duplicates) == (0, 3)
    assert raw_count(imap_robot) == 3
    assert flags_in(customer) == [(b"\\Seen",)] * 3
    run_jobs(imap_robot)
    assert len(sink.wait_for(3)) == 3
    with imap_robot.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Appeal)) == 3


def test_message_read_by_a_person_first_is_still_taken(imap_robot, customer):
    """A clerk who opens the mailbox and reads a message must not hide it from the robot."""
    deliver(customer, customer_mail(message_id="<read@example.ru>"), flags=(b"\\Seen",))
    intake = ImapIntake(imap_robot)
    with intake.connect() as client:
        assert intake.sweep(client).stored == 1
        # ...and a second look finds nothing to do.
        assert (intake.sweep(client).stored, intake.sweep(client).duplicates) == (0, 0)


def test_processed_folder_receives_what_was_stored(imap_robot, customer):
    imap_robot.settings.imap_processed_folder = "Processed"
    for i in range(2):
        deliver(customer, customer_mail(message_id=f"<m{i}@example.ru>", body=f"Вопрос {i}"))
    intake = ImapIntake(imap_robot)
    with intake.connect() as client:
        assert intake.sweep(client).stored == 2
        assert intake.sweep(client).stored == 0
    assert flags_in(customer, "INBOX") == []
    assert len(flags_in(customer, "Processed")) == 2


def test_uidvalidity_change_reads_the_folder_again_without_duplicates(imap_robot, customer, dovecot, mailbox_user):
    """A rebuilt mailbox gets a new UIDVALIDITY: old UIDs are void; nothing is lost or doubled."""
    for i in range(2):
        deliver(customer, customer_mail(message_id=f"<old{i}@example.ru>", body=f"Старое {i}"))
    intake = ImapIntake(imap_robot)
    with intake.connect() as client:
        assert intake.sweep(client).stored == 2
    with imap_robot.sessions() as session:
        before = session.scalars(select(ImapMailbox)).one()
    assert before.last_uid == 2

    customer.logout()
    dovecot.change_uidvalidity(mailbox_user, before.uidvalidity + 1000)
    with IMAPClient(dovecot.host, dovecot.port, ssl=False) as again:
        again.plain_login(mailbox_user, PASSWORD)
        deliver(again, customer_mail(message_id="<new@example.ru>", body="Новое"))
        with intake.connect() as client:
            done = intake.sweep(client)
        assert (done.uidvalidity_changed, done.stored, done.duplicates) == (True, 1, 2)
        assert flags_in(again) == [(b"\\Seen",)] * 3
    with imap_robot.sessions() as session:
        after = session.scalars(select(ImapMailbox)).one()
        event = session.scalars(select(Event).where(Event.action == "imap_uidvalidity_changed")).one()
    assert (after.uidvalidity, after.last_uid) == (before.uidvalidity + 1000, 3)
    assert event.detail["old"] == before.uidvalidity
    assert raw_count(imap_robot) == 3


def test_idle_push_and_reconnect_after_a_server_restart(imap_robot, customer, dovecot, mailbox_user):
    """New mail is taken at once (IDLE, not the 30 s poll); a server restart costs only a reconnect."""
    intake = ImapIntake(imap_robot, backoff_initial_s=0.2, backoff_max_s=1.0)
    stop = threading.Event()
    service = threading.Thread(target=intake.run, args=(stop,), name="imap-intake")
    service.start()
    try:
        assert intake.connected.wait(10)
        deliver(customer, customer_mail(message_id="<push@example.ru>"))
        # Well under the poll period: only IDLE explains it.
        assert wait_until(lambda: raw_count(imap_robot) == 1, timeout=imap_robot.settings.imap_poll_s / 3)

        customer.logout()
        dovecot.restart()  # every session is cut; only a new connection can see what comes next
        with IMAPClient(dovecot.host, dovecot.port, ssl=False) as again:
            again.plain_login(mailbox_user, PASSWORD)
            deliver(again, customer_mail(message_id="<after-restart@example.ru>"))
            assert wait_until(lambda: raw_count(imap_robot) == 2, timeout=10)
    finally:
        stop.set()
        service.join(timeout=10)
    assert not service.is_alive()


def test_mailrobot_imap_command_reads_the_mailbox_and_stops_on_sigterm(imap_robot, customer, settings):
    deliver(customer, customer_mail(message_id="<cli@example.ru>"))
    process = subprocess.Popen([sys.executable, "-m", "robot.cli.main", "imap"], env=settings_env(settings),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: raw_count(imap_robot) == 1, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode(errors="replace")
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert flags_in(customer) == [(b"\\Seen",)]


def test_imap_command_without_a_mailbox_says_what_is_missing(settings):
    result = subprocess.run([sys.executable, "-m", "robot.cli.main", "imap"], env=settings_env(settings),
                            capture_output=True, timeout=60, check=False)
    assert result.returncode == 2
    assert b"MAILROBOT_IMAP_HOST" in result.stderr


def test_up_with_a_mailbox_reads_it_and_acknowledges(dovecot, mailbox_user, customer, sink, tmp_path):
    """R1: `mailrobot up` with a mailbox configured runs the IMAP intake beside the gateway (a part
    forked like the others): mail appended to the mailbox is acknowledged, then \\Seen."""
    from robot.config import Settings
    from tests.conftest import free_port
    from tests.test_up import MAILROBOT_UP, _processes_mentioning, _wait_for_port

    data_dir = tmp_path / "var"
    settings = Settings(data_dir=data_dir, smtp_port=free_port(), web_port=free_port(), workers=1,
                        outbound_smtp_host=sink.host, outbound_smtp_port=sink.port, imap_host=dovecot.host,
                        imap_port=dovecot.port, imap_tls="none", imap_user=mailbox_user, imap_password=PASSWORD,
                        imap_poll_s=1)
    env = settings_env(settings)
    env.pop("MAILROBOT_REDIS_URL", None)
    process = subprocess.Popen(MAILROBOT_UP, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(settings.smtp_port, process)
        deliver(customer, b"Return-Path: <ivanov@example.ru>\r\n" + customer_mail(message_id="<up-imap@example.ru>"))
        [ack] = sink.wait_for(1, timeout=60)
        assert ack["In-Reply-To"] == "<up-imap@example.ru>"
        assert wait_until(lambda: flags_in(customer) == [(b"\\Seen",)], timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode(errors="replace")
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert _processes_mentioning(str(data_dir)) == []
