"""Replies join their appeal — only the customer's, only through our signed ids (R1, R4, RELIABILITY §5).

Everything goes through the real gateway, a worker in burst mode and the real relay sink.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from robot.storage.models import Appeal, Event, Message, OutboundMail
from tests.conftest import customer_mail, run_jobs, send

CUSTOMER = "Иванов Пётр <ivanov@example.ru>"
STRANGER = "Сидоров <sidorov@example.org>"


def _first_appeal(robot, gateway, sink):
    """The customer writes, the robot acknowledges; returns the acknowledgement."""
    send(gateway, customer_mail())
    run_jobs(robot)
    [ack] = sink.wait_for(1)
    return ack


def _reply(ack, *, sender: str = CUSTOMER, message_id: str = "<customer-2@example.ru>", in_reply_to: str | None = None,
           subject: str | None = None, body: str = "Добавляю: свет так и не дали, соседи тоже без света.",
           extra: dict[str, str] | None = None) -> bytes:
    headers = {"In-Reply-To": in_reply_to or ack["Message-ID"],
               "References": f"<customer-1@example.ru> {in_reply_to or ack['Message-ID']}", **(extra or {})}
    return customer_mail(subject=subject or f"Re: {ack['Subject']}", body=body, sender=sender,
                         message_id=message_id, extra=headers)


def _appeals(robot):
    with robot.sessions() as session:
        return session.scalars(select(Appeal).order_by(Appeal.id)).all()


def _actions(robot, appeal_id):
    with robot.sessions() as session:
        return session.scalars(select(Event.action).where(Event.appeal_id == appeal_id).order_by(Event.id)).all()


def test_customer_reply_joins_the_appeal_without_a_new_number(robot, gateway, sink):
    """R1: the customer's reply (threaded to our acknowledgement) is registered on their appeal and
    they are told so; R4: the notice goes back by e-mail to the customer's address."""
    ack = _first_appeal(robot, gateway, sink)
    send(gateway, _reply(ack))
    run_jobs(robot)

    [appeal] = _appeals(robot)
    assert appeal.number == "2026-000001"
    assert appeal.unread_replies == 1
    with robot.sessions() as session:
        messages = session.scalars(select(Message).where(Message.appeal_id == appeal.id).order_by(Message.id)).all()
    assert [m.direction for m in messages] == ["in", "out", "in", "out"]
    assert "соседи тоже без света" in messages[2].text
    assert _actions(robot, appeal.id)[-3:] == ["reply_joined", "reply_added_queued", "mail_sent"]

    notice = sink.wait_for(2)[1]
    assert "добавлено к обращению № 2026-000001" in str(notice["Subject"])
    assert "2026-000001" in notice.get_body(("plain",)).get_content()
    assert notice["In-Reply-To"] == "<customer-2@example.ru>"
    assert notice["Auto-Submitted"] == "auto-replied"
    assert notice["To"].addresses[0].addr_spec == "ivanov@example.ru"


def test_stranger_replying_with_a_valid_token_gets_a_new_flagged_appeal(robot, gateway, sink):
    """RELIABILITY §5 (Zammad #5064): a forwarded acknowledgement in a stranger's hands does not
    open the customer's appeal to them; their mail becomes a new appeal a human looks at."""
    ack = _first_appeal(robot, gateway, sink)
    send(gateway, _reply(ack, sender=STRANGER, message_id="<stranger-1@example.org>"), sender="sidorov@example.org")
    run_jobs(robot)

    first, second = _appeals(robot)
    assert first.unread_replies == 0 and len(_actions(robot, first.id)) == 4  # untouched
    assert second.customer_email == "sidorov@example.org"
    assert "unverified_reply" in second.flags and second.status == "triage"
    with robot.sessions() as session:
        event = session.scalars(select(Event).where(Event.appeal_id == second.id,
                                                    Event.action == "reply_not_joined")).one()
    assert event.detail == {"number": "2026-000001", "via": "token", "refused": "sender_not_customer"}
    # The stranger is acknowledged under the new number, never told about the customer's appeal.
    stranger_ack = sink.wait_for(2)[1]
    assert stranger_ack["To"].addresses[0].addr_spec == "sidorov@example.org"
    assert "2026-000002" in stranger_ack.get_body(("plain",)).get_content()


def test_reply_to_never_changes_who_the_customer_is(robot, gateway, sink):
    """RELIABILITY §5: a stranger naming the customer in Reply-To is still a stranger; the
    customer's own Reply-To does not redirect the notice either."""
    ack = _first_appeal(robot, gateway, sink)
    send(gateway, _reply(ack, sender=STRANGER, message_id="<stranger-2@example.org>",
                         extra={"Reply-To": "ivanov@example.ru"}))
    send(gateway, _reply(ack, message_id="<customer-3@example.ru>", extra={"Reply-To": "sidorov@example.org"}))
    run_jobs(robot)

    first, second = _appeals(robot)
    assert second.customer_email == "sidorov@example.org" and "unverified_reply" in second.flags
    assert first.unread_replies == 1
    sink.wait_for(3)
    recipients = [rcpt for _, _, rcpt, _ in sink.received]
    assert recipients == [["ivanov@example.ru"], ["sidorov@example.org"], ["ivanov@example.ru"]]


def test_forged_token_does_not_join_even_from_the_customers_address(robot, gateway, sink):
    """RELIABILITY §5: an id of our shape whose signature does not verify joins nothing."""
    ack = _first_appeal(robot, gateway, sink)
    appeal_id = _appeals(robot)[0].id
    forged = f"<mr.{appeal_id}.0123456789ab.0123456789abcdef0123@omskenergo.example>"
    send(gateway, _reply(ack, in_reply_to=forged, subject="Re: мой вопрос"))
    run_jobs(robot)

    first, second = _appeals(robot)
    assert first.unread_replies == 0
    assert "unverified_reply" in second.flags
    with robot.sessions() as session:
        detail = session.scalars(select(Event.detail).where(Event.appeal_id == second.id,
                                                            Event.action == "reply_not_joined")).one()
    assert detail["refused"] == "forged_token"


def test_number_in_the_subject_joins_only_from_the_customer(robot, gateway, sink):
    """A reply that lost its threading headers is found by the number in its subject — for the
    appeal's customer; the same subject from anybody else is a new appeal, flagged."""
    _first_appeal(robot, gateway, sink)
    subject = "Re: Обращение № 2026-000001"
    send(gateway, customer_mail(subject=subject, body="Когда будет свет?", message_id="<c-3@example.ru>"))
    send(gateway, customer_mail(subject=subject, body="Когда будет свет?", message_id="<s-3@example.org>",
                                sender=STRANGER))
    run_jobs(robot)

    first, second = _appeals(robot)
    assert first.unread_replies == 1
    with robot.sessions() as session:
        joined = session.scalars(select(Event.detail).where(Event.appeal_id == first.id,
                                                            Event.action == "reply_joined")).one()
        refused = session.scalars(select(Event.detail).where(Event.appeal_id == second.id,
                                                             Event.action == "reply_not_joined")).one()
    assert joined["via"] == "subject"
    assert refused == {"number": "2026-000001", "via": "subject", "refused": "sender_not_customer"}
    assert second.customer_email == "sidorov@example.org"


def test_a_reply_reopens_a_closed_appeal(robot, gateway, sink):
    """A closed appeal goes back in work when its customer writes again (history records it)."""
    ack = _first_appeal(robot, gateway, sink)
    with robot.unit_of_work() as session:
        session.execute(update(Appeal).values(status="closed"))
    send(gateway, _reply(ack))
    run_jobs(robot)

    [appeal] = _appeals(robot)
    assert appeal.status == "in_work"
    assert appeal.unread_replies == 1
    assert ["reply_joined", "reopened"] == [a for a in _actions(robot, appeal.id) if a in ("reply_joined", "reopened")]


def test_a_reply_to_an_open_appeal_is_shown_to_the_assignee_without_reopening(robot, gateway, sink):
    """An appeal in work keeps its status; the unread count grows with each reply."""
    ack = _first_appeal(robot, gateway, sink)
    status = _appeals(robot)[0].status
    send(gateway, _reply(ack))
    send(gateway, _reply(ack, message_id="<customer-3@example.ru>", body="И ещё: у соседей тоже нет света."))
    run_jobs(robot)

    [appeal] = _appeals(robot)
    assert appeal.status == status
    assert appeal.unread_replies == 2
    assert "reopened" not in _actions(robot, appeal.id)


def test_one_notice_per_appeal_in_the_window(robot, gateway, sink, clock):
    """Loop guard: however many replies, one «added to your appeal» notice per window; after the
    window the next reply gets one again."""
    ack = _first_appeal(robot, gateway, sink)
    for n in (2, 3):
        send(gateway, _reply(ack, message_id=f"<customer-{n}@example.ru>", body=f"Дополнение {n}: света нет."))
        run_jobs(robot)
    with robot.sessions() as session:
        purposes = session.scalars(select(OutboundMail.purpose).order_by(OutboundMail.id)).all()
        reasons = session.scalars(select(Event.detail).where(Event.action == "no_reply")).all()
    assert purposes == ["ack", "reply_added"]
    assert reasons == [{"reason": "notice_sent_recently"}]

    clock.advance(timedelta(hours=robot.settings.auto_reply_window_h, minutes=1))
    send(gateway, _reply(ack, message_id="<customer-4@example.ru>", body="Дополнение 4: света нет."))
    run_jobs(robot)
    assert [str(m["Subject"]).startswith("Ваше сообщение добавлено") for m in sink.wait_for(3)] == [False, True, True]


def test_a_reply_that_asks_for_no_automatic_answer_joins_silently(robot, gateway, sink):
    """X-Auto-Response-Suppress: the reply is still the customer's, so it joins, but gets no notice."""
    ack = _first_appeal(robot, gateway, sink)
    send(gateway, _reply(ack, extra={"X-Auto-Response-Suppress": "All"}))
    run_jobs(robot)
    [appeal] = _appeals(robot)
    assert appeal.unread_replies == 1
    with robot.sessions() as session:
        assert session.scalar(select(Event.detail).where(Event.action == "no_reply")) == {
            "reason": "X-Auto-Response-Suppress: All"}
    assert len(sink.received) == 1


def test_a_number_that_is_no_appeals_is_just_text(robot, gateway, sink):
    """«Договор 2024-123456» is not a registration number we issued: an ordinary new appeal."""
    send(gateway, customer_mail(subject="Договор 2024-123456: прошу продлить", message_id="<d-1@example.ru>"))
    run_jobs(robot)
    [appeal] = _appeals(robot)
    assert "unverified_reply" not in appeal.flags
    assert "reply_not_joined" not in _actions(robot, appeal.id)
