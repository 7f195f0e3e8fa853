"""E-mail in, acknowledgement out: the whole flow on real parts (R1, R5, R6, R13, R19)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from robot.mail.tokens import verify_message_id
from robot.storage.models import Appeal, Event, OutboundMail, RawMessage
from tests.conftest import OMSK, customer_mail, run_jobs, send


def test_complaint_gets_registration_number_and_due_date(robot, gateway, sink):
    """R1, R6, R13: registered, acknowledged with the number and a due date 14 working days on;
    R4: the answer goes back by the channel the customer used, to the address they wrote from."""
    send(gateway, customer_mail())
    run_jobs(robot)

    [ack] = sink.wait_for(1)
    with robot.sessions() as session:
        appeal = session.scalars(select(Appeal)).one()
    assert appeal.number == "2026-000001"
    assert appeal.kind == "complaint"
    # Registered Monday 12 January 2026; 14 working days from Tuesday 13 January: 30 January.
    assert appeal.due_at == datetime(2026, 1, 30, 17, 0, tzinfo=OMSK)
    assert appeal.customer_email == "ivanov@example.ru"
    assert appeal.customer_name == "Иванов Пётр"

    text = ack.get_body(("plain",)).get_content()
    html = ack.get_body(("html",)).get_content()
    for part in (text, html):
        assert "2026-000001" in part
        assert "до 30 января 2026 г." in part
        assert "14 рабочих дней" in part
    assert "жалоба" in text
    assert "Нет света третий день" in str(ack["Subject"])
    assert ack["To"].addresses[0].addr_spec == "ivanov@example.ru"
    assert ack["In-Reply-To"] == "<customer-1@example.ru>"
    assert "<customer-1@example.ru>" in ack["References"]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert verify_message_id(robot.signing_key, ack["Message-ID"]) == appeal.id
    assert sink.received[0][1] == robot.settings.mail_from
    assert sink.received[0][2] == ["ivanov@example.ru"]


def test_question_gets_the_question_text_and_three_working_days(robot, gateway, sink):
    """R6 (Прил. 3 §6), R13: a question is answered within one working day, limit 3 working days."""
    send(gateway, customer_mail(subject="Вопрос по документам",
                                 body="Подскажите, какие документы нужны для заключения договора?"))
    run_jobs(robot)
    [ack] = sink.wait_for(1)
    text = ack.get_body(("plain",)).get_content()
    assert "вопрос" in text
    assert "в течение одного рабочего дня" in text
    assert "15 января 2026 г." in text  # Tue 13, Wed 14, Thu 15


def test_appeal_keeps_thread_and_history(robot, gateway, sink):
    """R19: one journal; the appeal holds both directions of the thread and every state change."""
    send(gateway, customer_mail())
    run_jobs(robot)
    sink.wait_for(1)
    with robot.sessions() as session:
        appeal = session.scalars(select(Appeal)).one()
        directions = [m.direction for m in appeal.messages]
        actions = [e.action for e in appeal.events]
        raw = session.scalars(select(RawMessage)).one()
        outbound = session.scalars(select(OutboundMail)).one()
    assert directions == ["in", "out"]
    assert actions == ["registered", "routed", "ack_queued", "mail_sent"]
    assert raw.status == "processed" and raw.appeal_id == appeal.id
    assert outbound.status == "sent" and outbound.attempts == 1


def test_job_run_twice_registers_once(robot, gateway, sink):
    """RQ runs a job at least once; the second run must be a no-op."""
    from workers import jobs
    from workers.runtime import bind

    send(gateway, customer_mail())
    run_jobs(robot)
    bind(robot)
    with robot.sessions() as session:
        raw_id = session.scalars(select(RawMessage.id)).one()
    assert jobs.process_messages([raw_id]) == []
    with robot.sessions() as session:
        assert len(session.scalars(select(Appeal)).all()) == 1
    assert len(sink.wait_for(1)) == 1


def test_automatic_mail_is_kept_and_not_answered(robot, gateway, sink):
    """RELIABILITY §4: an out-of-office reply is stored, visible, and never answered (no loops)."""
    send(gateway, customer_mail(subject="Автоответ: Нет света", extra={"Auto-Submitted": "auto-replied"}))
    send(gateway, customer_mail(subject="Undelivered", message_id="<b@x>", sender="MAILER-DAEMON@example.ru"))
    run_jobs(robot)
    with robot.sessions() as session:
        statuses = session.scalars(select(RawMessage.status)).all()
        appeals = session.scalars(select(Appeal)).all()
    assert statuses == ["automatic", "automatic"]
    assert appeals == []
    assert sink.received == []


def test_messages_classified_together_fail_alone(robot, monkeypatch):
    """Nothing is dropped (R1): the messages of one job are classified in one batch; when the batch
    call breaks, each is classified alone, and only the one that breaks goes to quarantine."""
    import robot.pipeline.process as process
    from robot.intake.accept import accept

    real = process.classify

    def batch(items):
        raise RuntimeError("the batch broke")

    def one(subject: str, text: str):
        if "взрыв" in text:
            raise RuntimeError("classifier exploded")
        return real(subject, text)

    monkeypatch.setattr(process, "classify_batch", batch)
    monkeypatch.setattr(process, "classify", one)
    good = accept(robot, customer_mail(), channel="email", mail_from="ivanov@example.ru").raw_id
    bad = accept(robot, customer_mail(body="взрыв", message_id="<customer-9@example.ru>"), channel="email",
                 mail_from="ivanov@example.ru").raw_id
    process.process_many(robot, [good, bad])
    with robot.sessions() as session:
        statuses = dict(session.execute(select(RawMessage.id, RawMessage.status)).all())
        appeals = session.scalars(select(Appeal.number)).all()
    assert statuses == {good: "processed", bad: "quarantined"}
    assert len(appeals) == 1


def test_a_message_whose_reading_breaks_the_query_does_not_take_the_batch_with_it(robot, monkeypatch):
    """Nothing is dropped (R1): the messages of one job are read through one session; a query that
    fails for one of them (on PostgreSQL that aborts the transaction) must not fail the next."""
    from sqlalchemy import text

    import robot.pipeline.process as process
    from robot.intake.accept import accept

    real = process.find_thread

    def find_thread(session, settings, key, mail, sender):
        if "взрыв" in (mail.text or ""):
            session.execute(text("SELECT * FROM no_such_table"))
        return real(session, settings, key, mail, sender)

    monkeypatch.setattr(process, "find_thread", find_thread)
    bad = accept(robot, customer_mail(body="взрыв", message_id="<customer-9@example.ru>"), channel="email",
                 mail_from="ivanov@example.ru").raw_id
    good = accept(robot, customer_mail(), channel="email", mail_from="ivanov@example.ru").raw_id
    process.process_many(robot, [bad, good])
    with robot.sessions() as session:
        statuses = dict(session.execute(select(RawMessage.id, RawMessage.status)).all())
    assert statuses == {bad: "quarantined", good: "processed"}


def test_unprocessable_message_goes_to_quarantine_and_can_be_retried(robot, gateway, sink, monkeypatch):
    """Nothing is dropped: a message that breaks the pipeline waits in quarantine for a human."""
    import robot.pipeline.process as process
    from robot.pipeline.process import retry_quarantined

    def broken(*args):
        raise RuntimeError("classifier exploded")

    # The batch call fails, then the one-by-one call that finds which message breaks it.
    monkeypatch.setattr(process, "classify_batch", broken)
    monkeypatch.setattr(process, "classify", broken)
    send(gateway, customer_mail())
    run_jobs(robot)
    with robot.sessions() as session:
        raw = session.scalars(select(RawMessage)).one()
        events = session.scalars(select(Event.action).where(Event.raw_message_id == raw.id)).all()
    assert raw.status == "quarantined"
    assert "classifier exploded" in raw.error
    assert events == ["received", "quarantined"]
    assert sink.received == []

    monkeypatch.undo()
    assert retry_quarantined(robot, raw.id, actor="test")
    robot.dispatcher.enqueue("workers.jobs.process_messages", [raw.id], job_id=f"process-{raw.id}-retry")
    run_jobs(robot)
    assert len(sink.wait_for(1)) == 1


def test_garbled_from_falls_back_to_the_envelope_sender(robot, gateway, sink):
    """A From header with no usable address: the acknowledgement goes to the envelope sender."""
    send(gateway, customer_mail(sender="Аноним <not-an-address>"), sender="petrov@example.ru")
    run_jobs(robot)
    [ack] = sink.wait_for(1)
    with robot.sessions() as session:
        appeal = session.scalars(select(Appeal)).one()
    assert appeal.customer_email == "petrov@example.ru"
    assert sink.received[0][2] == ["petrov@example.ru"]


def test_empty_return_path_is_automatic(robot, gateway, sink):
    """RFC 3834: mail with a null envelope sender (bounces) is never answered."""
    send(gateway, customer_mail(), sender="")
    run_jobs(robot)
    with robot.sessions() as session:
        raw = session.scalars(select(RawMessage)).one()
    assert (raw.status, raw.error) == ("automatic", "empty return path")
    assert sink.received == []


def test_a_worker_commits_early_when_a_sender_waits_for_the_sqlite_write_lock(robot, monkeypatch):
    """R1 (storage before 250, within seconds): a worker registers several messages a transaction,
    but while an intake waits for SQLite's single writer it commits after each message, so the
    sender waits for one registration, not for a whole chunk. Nothing is skipped or done twice."""
    from sqlalchemy import event

    from robot.intake.accept import accept
    from robot.pipeline import process

    lock = robot.database.write_lock
    if lock is None:
        pytest.skip("PostgreSQL has no single writer to wait for")
    commits: list[int] = []
    event.listen(robot.engine, "commit", lambda connection: commits.append(1))

    def registered() -> int:
        with robot.sessions() as session:
            return len(session.scalars(select(Appeal.id)).all())

    def stored(first: int) -> list[int]:
        return [accept(robot, customer_mail(message_id=f"<early-{i}@example.ru>"), channel="email",
                       mail_from="ivanov@example.ru").raw_id for i in range(first, first + 3)]

    quiet = stored(0)
    commits.clear()
    process.process_many(robot, quiet)
    assert (len(commits), registered()) == (1, 3)  # nobody waiting: one transaction for the three

    busy = stored(3)
    monkeypatch.setattr(lock, "intake_waits", lambda: True)
    commits.clear()
    process.process_many(robot, busy)
    assert (len(commits), registered()) == (3, 6)  # a sender waiting: one message a transaction
    with robot.sessions() as session:
        statuses = session.scalars(select(RawMessage.status).where(RawMessage.id.in_(quiet + busy))).all()
    assert statuses == ["processed"] * 6
