"""The SMTP gateway's promises to the sending MTA (R1; RELIABILITY §1–2)."""

from __future__ import annotations

import smtplib
import socket

import pytest
from sqlalchemy import func, select

from robot.storage.models import Event, RawMessage
from tests.conftest import ROBOT_ADDRESS, customer_mail, database_unavailable


def _count(robot, model=RawMessage) -> int:
    with robot.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_accepted_message_is_committed_before_250(robot, gateway):
    """R1: a 250 means the raw bytes are in the database, byte for byte."""
    raw = customer_mail()
    with smtplib.SMTP(gateway.hostname, gateway.port) as client:
        refused = client.sendmail("ivanov@example.ru", [ROBOT_ADDRESS], raw)
    assert refused == {}
    with robot.sessions() as session:
        row = session.scalars(select(RawMessage)).one()
    assert row.raw == raw
    assert row.status == "received"
    assert row.mail_from == "ivanov@example.ru"
    assert row.rcpt_to == [ROBOT_ADDRESS]
    assert row.message_id == "<customer-1@example.ru>"
    assert row.channel == "email"


def test_unknown_recipient_gets_550_at_rcpt(robot, gateway):
    with smtplib.SMTP(gateway.hostname, gateway.port) as client:
        client.ehlo()
        client.mail("someone@example.ru")
        code, reply = client.rcpt("postmaster@elsewhere.example")
    assert code == 550
    assert _count(robot) == 0


def test_accepted_by_domain_or_full_address(robot, gateway):
    with smtplib.SMTP(gateway.hostname, gateway.port) as client:
        client.ehlo()
        client.mail("someone@example.ru")
        assert client.rcpt("Anyone@OmskEnergo.Example")[0] == 250


def test_nearly_full_disk_gets_452_at_mail_from(robot, gateway):
    """RELIABILITY: low disk → a temporary refusal before the client sends any data."""
    robot.settings.min_free_disk_mb = 10**12
    with smtplib.SMTP(gateway.hostname, gateway.port) as client:
        client.ehlo()
        code, reply = client.mail("ivanov@example.ru")
    assert code == 452
    assert reply.startswith(b"4.3.1")
    assert _count(robot) == 0


def test_oversize_message_gets_552_and_is_not_stored(robot, gateway):
    robot.settings.max_message_size = 10_000  # read for each new connection
    big = customer_mail(body="свет " * 10_000)
    with smtplib.SMTP(gateway.hostname, gateway.port) as client:
        # A client that declares SIZE is refused up front …
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("ivanov@example.ru", [ROBOT_ADDRESS], big)
        # … one that does not is refused after the final dot.
        client.mail("ivanov@example.ru")
        client.rcpt(ROBOT_ADDRESS)
        code, _reply = client.data(big)
    assert refused.value.smtp_code == 552
    assert code == 552
    assert _count(robot) == 0


def test_lines_longer_than_rfc5321_limit_are_accepted(robot, gateway):
    """Real HTML mail carries lines of many kilobytes; aiosmtpd's default would say 500."""
    long_line = b"<p>" + b"x" * 20_000 + b"</p>"
    raw = (b"From: a@example.ru\r\nTo: info@omskenergo.example\r\nSubject: long\r\n"
           b"Content-Type: text/html; charset=utf-8\r\n\r\n" + long_line + b"\r\n")
    with smtplib.SMTP(gateway.hostname, gateway.port) as client:
        client.sendmail("a@example.ru", [ROBOT_ADDRESS], raw)
    with robot.sessions() as session:
        assert long_line in session.scalars(select(RawMessage.raw)).one()


def test_storage_failure_answers_451_and_writes_nothing(robot, gateway, request):
    """RELIABILITY §1: an unavailable database is a temporary failure, never a 5xx, never half a row."""
    with database_unavailable(robot, request):
        with smtplib.SMTP(gateway.hostname, gateway.port) as client:
            with pytest.raises(smtplib.SMTPDataError) as error:
                client.sendmail("ivanov@example.ru", [ROBOT_ADDRESS], customer_mail())
    assert error.value.smtp_code == 451
    assert error.value.smtp_error.startswith(b"4.3.0")
    for internal in (b"sqlite", b"psycopg", b"postgres"):  # no internal detail
        assert internal not in error.value.smtp_error.lower()
    assert _count(robot) == 0
    assert _count(robot, Event) == 0
    # The sender retries later, and then the message is taken.
    with smtplib.SMTP(gateway.hostname, gateway.port) as client:
        client.sendmail("ivanov@example.ru", [ROBOT_ADDRESS], customer_mail())
    assert _count(robot) == 1


def test_redelivery_is_acknowledged_but_stored_once(robot, gateway):
    """RELIABILITY §2: same Message-ID and content, even with a new Received header → one row."""
    raw = customer_mail()
    with smtplib.SMTP(gateway.hostname, gateway.port) as client:
        client.sendmail("ivanov@example.ru", [ROBOT_ADDRESS], raw)
        client.sendmail("ivanov@example.ru", [ROBOT_ADDRESS],
                        b"Received: from relay2.example.ru by mx; Mon, 12 Jan 2026 10:00:05 +0600\r\n" + raw)
    assert _count(robot) == 1


def test_same_message_id_with_other_content_is_a_new_message(robot, gateway):
    with smtplib.SMTP(gateway.hostname, gateway.port) as client:
        client.sendmail("ivanov@example.ru", [ROBOT_ADDRESS], customer_mail(body="первое"))
        client.sendmail("ivanov@example.ru", [ROBOT_ADDRESS], customer_mail(body="второе"))
    assert _count(robot) == 2


@pytest.mark.parametrize("payload", [b"\n.\r\n", b"\r.\r\n", b"\r\n.\n"])
def test_smuggled_end_of_data_does_not_split_a_message(robot, gateway, payload):
    """SMTP smuggling: a bare-LF or bare-CR dot must not end DATA and start a second message."""
    smuggled = (b"From: a@example.ru\r\nTo: info@omskenergo.example\r\nSubject: one\r\n\r\nbody"
                + payload + b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<info@omskenergo.example>\r\nDATA\r\n"
                b"From: evil@example.org\r\nSubject: smuggled\r\n\r\nsmuggled\r\n")
    with socket.create_connection((gateway.hostname, gateway.port), timeout=5) as sock:
        replies = sock.makefile("rb")
        _reply(replies)  # banner
        for line in (b"EHLO t\r\n", b"MAIL FROM:<a@example.ru>\r\n", b"RCPT TO:<info@omskenergo.example>\r\n",
                     b"DATA\r\n"):
            sock.sendall(line)
            _reply(replies)
        sock.sendall(smuggled + b"\r\n.\r\n")
        reply = _reply(replies)
        sock.sendall(b"QUIT\r\n")
    assert reply.startswith(b"250")
    assert _count(robot) == 1
    with robot.sessions() as session:
        assert b"smuggled" in session.scalars(select(RawMessage.raw)).one()  # kept inside the one message


def _reply(stream) -> bytes:
    """Read one SMTP reply, all its continuation lines included; return the last line."""
    while True:
        line = stream.readline()
        if len(line) < 4 or line[3:4] != b"-":
            return line


def test_messages_arriving_together_share_one_transaction(robot, monkeypatch):
    """Group commit: while one transaction is written, arrivals gather for the next one."""
    import threading

    import robot.intake.committer as committer_module
    from robot.intake.accept import Incoming
    from robot.intake.committer import GroupCommitter

    batches = []
    writing, go_on = threading.Event(), threading.Event()
    real = committer_module.accept_many

    def slow_first(robot_, items):
        batches.append(len(items))
        writing.set()
        go_on.wait(timeout=10)  # the first transaction takes its time …
        return real(robot_, items)

    monkeypatch.setattr(committer_module, "accept_many", slow_first)
    committer = GroupCommitter(robot)
    mails = [Incoming(customer_mail(message_id=f"<g{i}@example.ru>"), "email") for i in range(10)]
    try:
        futures = [committer.submit(mails[0])]
        assert writing.wait(timeout=10)
        futures += [committer.submit(mail) for mail in mails[1:]]  # … while nine more arrive
        go_on.set()
        results = [future.result(timeout=10) for future in futures]
    finally:
        committer.close()
    assert batches == [1, 9]
    assert sorted(r.raw_id for r in results) == list(range(1, 11))
    assert _count(robot) == 10


def test_a_failed_group_refuses_every_message_in_it(robot, gateway, monkeypatch):
    import robot.intake.committer as committer_module

    def failing(robot_, items):
        raise OSError("disk I/O error")

    monkeypatch.setattr(committer_module, "accept_many", failing)
    with smtplib.SMTP(gateway.hostname, gateway.port) as client:
        with pytest.raises(smtplib.SMTPDataError) as error:
            client.sendmail("ivanov@example.ru", [ROBOT_ADDRESS], customer_mail())
    assert error.value.smtp_code == 451
    assert b"disk" not in error.value.smtp_error
