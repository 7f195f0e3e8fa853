"""No mail loops (RFC 3834; RELIABILITY §4) and bounces of our own mail (R1, R4, R7).

The robot acknowledges every appeal (R1) and tells the customer when no action is taken (R7), by
the channel they used (R4) — and must never do so to a machine: that is how loops start.
"""

from __future__ import annotations

import asyncio
import smtplib
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from robot.mail.loops import automatic_reason
from robot.mail.parse import parse
from robot.storage.models import (
    Appeal,
    BouncingAddress,
    Event,
    OutboundMail,
    RawMessage,
)
from tests.conftest import ROBOT_ADDRESS, customer_mail, free_port, run_jobs, send

OWN = {"own_address": "robot@omskenergo.example", "own_domain": "omskenergo.example"}

LOOP_CASES = [
    ({"Auto-Submitted": "auto-replied"}, None, "Auto-Submitted: auto-replied"),
    ({"Auto-Submitted": "auto-generated"}, None, "Auto-Submitted: auto-generated"),
    ({"Auto-Submitted": "auto-notified; owner-email=x@example.ru"}, None, "Auto-Submitted: auto-notified"),
    ({"Precedence": "bulk"}, None, "Precedence: bulk"),
    ({"Precedence": "junk"}, None, "Precedence: junk"),
    ({"Precedence": "list"}, None, "Precedence: list"),
    ({"List-Id": "<news.example.ru>"}, None, "list-id header"),
    ({"List-Unsubscribe": "<mailto:unsub@example.ru>"}, None, "list-unsubscribe header"),
    ({"X-Autoreply": "yes"}, None, "x-autoreply header"),
    ({}, "", "empty return path"),
    ({"From": "MAILER-DAEMON@mx.example.ru"}, None, "robot sender mailer-daemon@mx.example.ru"),
    ({"From": "postmaster@example.ru"}, None, "robot sender postmaster@example.ru"),
    ({"From": "Госуслуги <noreply@example.ru>"}, None, "robot sender noreply@example.ru"),
    ({"From": "no-reply@example.ru"}, None, "robot sender no-reply@example.ru"),
    ({"From": "do_not_reply@example.ru"}, None, "robot sender do_not_reply@example.ru"),
    ({"Content-Type": 'multipart/report; report-type=delivery-status; boundary="b"'}, None,
     "delivery status notification"),
    ({"Content-Type": 'multipart/report; report-type=disposition-notification; boundary="b"'}, None,
     "delivery status notification"),
    ({"Message-ID": "<mr.7.0123456789ab.0123456789abcdef0123@omskenergo.example>"}, None, "our own Message-ID"),
    ({"From": "robot@omskenergo.example"}, None, "our own address"),
]


def _mail(headers: dict[str, str]) -> bytes:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Иванов Пётр <ivanov@example.ru>")
    msg["To"] = ROBOT_ADDRESS
    msg["Subject"] = "Нет света"
    msg["Message-ID"] = headers.pop("Message-ID", make_msgid(domain="example.ru"))
    content_type = headers.pop("Content-Type", None)
    for name, value in headers.items():
        msg[name] = value
    msg.set_content("Третий день нет света на ул. Ленина, 5.")
    raw = msg.as_bytes(policy=policy.SMTP)
    if content_type:
        raw = raw.replace(b"Content-Type: text/plain; charset=\"utf-8\"", f"Content-Type: {content_type}".encode())
    return raw


@pytest.mark.parametrize(("headers", "envelope_from", "reason"), LOOP_CASES,
                         ids=[case[2] for case in LOOP_CASES])
def test_each_loop_sign_is_recognised(headers, envelope_from, reason):
    """RFC 3834 §2, §3.1.8: each sign of a machine-written mail, alone, stops automatic replies."""
    mail = parse(_mail(dict(headers)))
    assert automatic_reason(mail, envelope_from if envelope_from is not None else "ivanov@example.ru", **OWN) == reason


@pytest.mark.parametrize("headers", [{}, {"Auto-Submitted": "no"}, {"Auto-Submitted": "No"},
                                     {"Precedence": "first-class"}, {"From": "reply@example.ru"},
                                     {"Message-ID": "<mr.7.0123456789ab.0123456789abcdef0123@elsewhere.example>"}],
                         ids=["plain", "auto-submitted-no", "auto-submitted-No", "precedence-first-class",
                              "reply-is-not-noreply", "other-domains-mr-id"])
def test_a_persons_mail_is_not_taken_for_a_machines(headers):
    """The control: what a person writes is answered (R1) — the signs above are not guessed."""
    assert automatic_reason(parse(_mail(dict(headers))), "ivanov@example.ru", **OWN) is None


def test_loop_mail_is_stored_and_never_answered_end_to_end(robot, gateway, sink):
    """RELIABILITY §4 through the real gateway: every loop case is kept as automatic, none answered;
    a mail with «Auto-Submitted: no» in the same run is acknowledged (R1), so the sink works."""
    for headers, envelope_from, _reason in LOOP_CASES:
        sender = envelope_from if envelope_from is not None else "someone@example.ru"
        send(gateway, _mail(dict(headers)), sender=sender)
    send(gateway, _mail({"Auto-Submitted": "no", "Message-ID": "<person@example.ru>"}), sender="ivanov@example.ru")
    run_jobs(robot)

    [ack] = sink.wait_for(1)
    assert ack["In-Reply-To"] == "<person@example.ru>"
    with robot.sessions() as session:
        rows = session.scalars(select(RawMessage).order_by(RawMessage.id)).all()
        appeals = session.scalars(select(Appeal)).all()
    assert [(r.status, r.error) for r in rows[:-1]] == [("automatic", reason) for *_, reason in LOOP_CASES]
    assert rows[-1].status == "processed" and len(appeals) == 1
    assert len(sink.received) == 1


def test_our_own_mail_coming_back_is_not_answered(robot, gateway, sink):
    """Our acknowledgement returned to us by a forwarder that dropped its RFC 3834 headers."""
    send(gateway, customer_mail())
    run_jobs(robot)
    [ack] = sink.wait_for(1)
    del ack["Auto-Submitted"], ack["X-Auto-Response-Suppress"]
    ack.replace_header("To", ROBOT_ADDRESS)
    send(gateway, ack.as_bytes(policy=policy.SMTP), sender="forwarder@example.ru")
    run_jobs(robot)
    with robot.sessions() as session:
        raw = session.scalars(select(RawMessage).order_by(RawMessage.id.desc()).limit(1)).one()
    assert (raw.status, raw.error) == ("automatic", "our own Message-ID")
    assert len(sink.received) == 1


def test_x_auto_response_suppress_registers_without_a_reply(robot, gateway, sink):
    """The header asks for no automatic reply; it does not mean a robot wrote the mail (Exchange
    sets it on mail people send from some setups), so R1 still registers the appeal."""
    send(gateway, customer_mail(extra={"X-Auto-Response-Suppress": "OOF, AutoReply"}))
    run_jobs(robot)
    with robot.sessions() as session:
        appeal = session.scalars(select(Appeal)).one()
        reason = session.scalar(select(Event.detail).where(Event.action == "no_reply"))
    assert appeal.number == "2026-000001"
    assert reason == {"reason": "X-Auto-Response-Suppress: OOF, AutoReply"}
    assert sink.received == []


def test_per_sender_cap_on_automatic_replies(robot, gateway, sink, clock):
    """RFC 3834 §2: not too many replies to one sender. Counted from the database, so it holds for
    every worker; appeals past the cap are registered all the same (R1), just not answered."""
    robot.settings.auto_reply_limit = 3
    topics = ["Нет света", "Счёт за январь", "Замена счётчика", "Подключение дома", "Опора упала"]
    for n, topic in enumerate(topics):
        send(gateway, customer_mail(subject=topic, body=f"{topic}: прошу разобраться, ул. Ленина, 5.",
                                    message_id=f"<many-{n}@example.ru>"))
    send(gateway, customer_mail(sender="Петров <petrov@example.ru>", message_id="<other@example.ru>"))
    run_jobs(robot)

    sink.wait_for(4)
    assert sorted(rcpt[0] for _, _, rcpt, _ in sink.received) == ["ivanov@example.ru"] * 3 + ["petrov@example.ru"]
    with robot.sessions() as session:
        assert len(session.scalars(select(Appeal)).all()) == 6
        capped = session.scalars(select(Event.detail).where(Event.action == "no_reply")).all()
    assert capped == [{"reason": "auto_reply_limit"}] * 2

    clock.advance(timedelta(hours=robot.settings.auto_reply_window_h, seconds=1))
    send(gateway, customer_mail(subject="Ещё вопрос", message_id="<later@example.ru>"))
    run_jobs(robot)
    assert len(sink.wait_for(5)) == 5


def _dsn(original: EmailMessage | None, recipient: str, *, action: str = "failed", status: str = "5.1.1") -> bytes:
    """A delivery status notification as Postfix writes it (RFC 3464), returning ``original``'s headers."""
    returned = "".join(f"{k}: {v}\r\n" for k, v in original.items()) if original is not None else None
    parts = [
        ("Content-Type: text/plain; charset=us-ascii\r\n\r\n"
         f"<{recipient}>: host mx.example.ru said: 550 5.1.1 User unknown\r\n"),
        ("Content-Type: message/delivery-status\r\n\r\n"
         "Reporting-MTA: dns; mx.example.ru\r\n\r\n"
         f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
         f"Action: {action}\r\nStatus: {status}\r\n"
         f"Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address\r\n    rejected: User unknown\r\n"),
        *([f"Content-Type: text/rfc822-headers\r\n\r\n{returned}"] if returned else []),
    ]
    body = "".join(f"--BOUNDARY\r\n{part}\r\n" for part in parts) + "--BOUNDARY--\r\n"
    head = ("From: MAILER-DAEMON@mx.example.ru (Mail Delivery System)\r\n"
            "To: robot@omskenergo.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"Message-ID: {make_msgid(domain='mx.example.ru')}\r\nAuto-Submitted: auto-replied\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"\r\n\r\n')
    return (head + body).encode()


def _bounce_state(robot):
    with robot.sessions() as session:
        outbound = session.scalars(select(OutboundMail).order_by(OutboundMail.id)).first()
        events = session.scalars(select(Event).where(Event.action.in_(("mail_bounced", "delivery_reported")))).all()
        marked = session.scalars(select(BouncingAddress)).all()
    return outbound, events, marked


def test_bounce_of_our_acknowledgement_is_recorded_and_the_address_marked(robot, gateway, sink, clock):
    """A DSN of our acknowledgement: the mail is marked bounced on its appeal, the address is marked,
    and the next appeal from it is registered without an automatic reply — until the hold ends."""
    send(gateway, customer_mail())
    run_jobs(robot)
    [ack] = sink.wait_for(1)
    send(gateway, _dsn(ack, "ivanov@example.ru"), sender="")
    run_jobs(robot)

    outbound, [event], [marked] = _bounce_state(robot)
    assert outbound.status == "bounced"
    assert event.appeal_id == outbound.appeal_id and event.detail["to"] == "ivanov@example.ru"
    assert event.detail["recipients"][0]["status"] == "5.1.1"
    assert (marked.address, marked.last_status, marked.last_outbound_id) == ("ivanov@example.ru", "5.1.1", outbound.id)
    with robot.sessions() as session:
        bounce_raw = session.scalars(select(RawMessage).where(RawMessage.id == event.raw_message_id)).one()
    assert (bounce_raw.status, bounce_raw.appeal_id) == ("automatic", outbound.appeal_id)

    send(gateway, customer_mail(subject="Опять нет света", message_id="<customer-9@example.ru>"))
    run_jobs(robot)
    with robot.sessions() as session:
        assert session.scalar(select(Event.detail).where(Event.action == "no_reply")) == {"reason": "address_bouncing"}
    assert len(sink.received) == 1

    clock.advance(timedelta(days=robot.settings.bounce_hold_days, minutes=1))
    send(gateway, customer_mail(subject="Снова пишу", message_id="<customer-10@example.ru>"))
    run_jobs(robot)
    assert len(sink.wait_for(2)) == 2


def test_relay_refusing_the_recipient_marks_the_address(robot, gateway, sink):
    """A permanent refusal at RCPT is a bounce that came early: the address is marked too."""
    sink.refuse_with = "550 5.1.1 No such user"
    send(gateway, customer_mail())
    run_jobs(robot)
    sink.refuse_with = None
    send(gateway, customer_mail(subject="Опять нет света", message_id="<customer-9@example.ru>"))
    run_jobs(robot)
    with robot.sessions() as session:
        marked = session.scalars(select(BouncingAddress)).one()
        reason = session.scalar(select(Event.detail).where(Event.action == "no_reply"))
    assert marked.address == "ivanov@example.ru" and "No such user" in marked.last_diagnostic
    assert reason == {"reason": "address_bouncing"}
    assert sink.received == []


def test_delay_report_is_recorded_without_marking(robot, gateway, sink):
    """«Action: delayed» is news, not a failure."""
    send(gateway, customer_mail())
    run_jobs(robot)
    [ack] = sink.wait_for(1)
    send(gateway, _dsn(ack, "ivanov@example.ru", action="delayed", status="4.4.1"), sender="")
    run_jobs(robot)
    outbound, [event], marked = _bounce_state(robot)
    assert outbound.status == "sent" and event.action == "delivery_reported" and marked == []


def test_forged_bounce_marks_nothing(robot, gateway, sink):
    """A report quoting an id of our shape with a bad signature cannot silence a customer."""
    send(gateway, customer_mail())
    run_jobs(robot)
    [ack] = sink.wait_for(1)
    ack.replace_header("Message-ID", "<mr.1.0123456789ab.0123456789abcdef0123@omskenergo.example>")
    send(gateway, _dsn(ack, "ivanov@example.ru"), sender="")
    run_jobs(robot)
    outbound, events, marked = _bounce_state(robot)
    assert outbound.status == "sent" and events == [] and marked == []


def test_bounce_found_by_its_recipient_and_plain_text_bounces(robot, gateway, sink):
    """A DSN that returns nothing is matched by its recipient to the mail we sent there; a non-DSN
    bounce (a mailer-daemon's text quoting our Message-ID) counts as a failure."""
    send(gateway, customer_mail())
    send(gateway, customer_mail(sender="Петров <petrov@example.ru>", message_id="<p-1@example.ru>"))
    run_jobs(robot)
    acks = sink.wait_for(2)
    send(gateway, _dsn(None, "ivanov@example.ru"), sender="")
    petrov_ack = next(a for a in acks if a["To"].addresses[0].addr_spec == "petrov@example.ru")
    text_bounce = customer_mail(
        subject="failure notice", sender="MAILER-DAEMON@mail.example.ru", message_id="<qmail-1@example.ru>",
        body=f"Hi. This is the qmail-send program.\n<petrov@example.ru>:\nSorry, no mailbox here by that name.\n\n"
             f"--- Below this line is a copy of the message.\n\nMessage-ID: {petrov_ack['Message-ID']}\n")
    send(gateway, text_bounce, sender="")
    run_jobs(robot)
    with robot.sessions() as session:
        marked = sorted(session.scalars(select(BouncingAddress.address)).all())
        statuses = sorted(session.scalars(select(OutboundMail.status)).all())
    assert marked == ["ivanov@example.ru", "petrov@example.ru"]
    assert statuses == ["bounced", "bounced"]


def test_customers_out_of_office_is_put_on_the_appeal_and_not_answered(robot, gateway, sink):
    """An out-of-office reply of the customer to our acknowledgement: shown in the appeal's
    history, not an unread reply, no reopening, no notice."""
    send(gateway, customer_mail())
    run_jobs(robot)
    [ack] = sink.wait_for(1)
    send(gateway, customer_mail(subject=f"Автоматический ответ: {ack['Subject']}", body="Я в отпуске до 20 января.",
                                message_id="<oof-1@example.ru>",
                                extra={"In-Reply-To": ack["Message-ID"], "Auto-Submitted": "auto-replied"}))
    run_jobs(robot)
    with robot.sessions() as session:
        appeal = session.scalars(select(Appeal)).one()
        event = session.scalars(select(Event).where(Event.action == "automatic_reply")).one()
    assert event.appeal_id == appeal.id and "в отпуске" in event.detail["text"]
    assert appeal.unread_replies == 0 and appeal.status == "registered"
    assert len(sink.received) == 1


@dataclass
class Responder:
    """A second mail robot on loopback: answers every message it receives with its own reply,
    threaded to it and sent back over SMTP to our gateway — automatic mail included."""

    gateway_host: str
    gateway_port: int
    address: str
    marks_replies: bool = True
    #: A safety stop so that a loop shows up as a failed count, not a hung test.
    limit: int = 20
    received: list[EmailMessage] = field(default_factory=list)
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        with self.lock:
            self.received.append(message)
            answer = self.sent < self.limit
            self.sent += answer
        if answer:
            await asyncio.get_running_loop().run_in_executor(None, self._answer, message)
        return "250 OK"

    def _answer(self, message: EmailMessage) -> None:
        reply = EmailMessage()
        reply["From"] = self.address
        reply["To"] = str(message["From"])
        reply["Subject"] = f"Re: {message['Subject']}"
        reply["Message-ID"] = make_msgid(domain="partner.example")
        reply["In-Reply-To"] = message["Message-ID"]
        reply["References"] = message["Message-ID"]
        if self.marks_replies:
            reply["Auto-Submitted"] = "auto-replied"
        reply.set_content("Ваше письмо получено. Это автоматический ответ.")
        with smtplib.SMTP(self.gateway_host, self.gateway_port) as client:
            client.sendmail(self.address, [ROBOT_ADDRESS], reply.as_bytes(policy=policy.SMTP))


@pytest.fixture
def responder(robot, gateway):
    """The responder stands where the company's relay would, so our mail reaches it for real."""
    robot_ = Responder(gateway.hostname, gateway.port, "helpdesk@partner.example")
    controller = Controller(robot_, hostname="127.0.0.1", port=free_port())
    controller.start()
    robot.settings.outbound_smtp_host, robot.settings.outbound_smtp_port = controller.hostname, controller.port
    yield robot_
    controller.stop()


def _run_until_quiet(robot, responder):
    # Each round processes what came in; our delivery waits for the responder, which waits for
    # our gateway's 250 (given after commit and enqueue), so a round ends with nothing in flight.
    for _ in range(responder.limit + 2):
        before = len(responder.received)
        run_jobs(robot)
        if len(responder.received) == before:
            return


def test_two_robots_acknowledging_each_other_stop_at_the_first_automatic_reply(robot, responder):
    """RELIABILITY §4: the partner's helpdesk writes; we acknowledge; it acknowledges our
    acknowledgement; we do not answer that. Two mails in all, over real SMTP both ways."""
    first = customer_mail(sender=responder.address, message_id="<ticket-1@partner.example>")
    with smtplib.SMTP(responder.gateway_host, responder.gateway_port) as client:
        client.sendmail(responder.address, [ROBOT_ADDRESS], first)
    _run_until_quiet(robot, responder)

    assert len(responder.received) == 1 and responder.sent == 1
    with robot.sessions() as session:
        raws = session.scalars(select(RawMessage).order_by(RawMessage.id)).all()
        appeal = session.scalars(select(Appeal)).one()
    assert [r.status for r in raws] == ["processed", "automatic"]
    assert raws[1].appeal_id == appeal.id


def test_a_robot_that_does_not_mark_its_replies_gets_one_notice_and_no_more(robot, responder):
    """The worst partner: it answers everything and marks nothing. Its reply comes from the
    customer's address and is threaded, so it joins the appeal; the one notice per window ends it."""
    responder.marks_replies = False
    first = customer_mail(sender=responder.address, message_id="<ticket-2@partner.example>")
    with smtplib.SMTP(responder.gateway_host, responder.gateway_port) as client:
        client.sendmail(responder.address, [ROBOT_ADDRESS], first)
    _run_until_quiet(robot, responder)

    assert len(responder.received) == 2  # our acknowledgement and one notice
    with robot.sessions() as session:
        appeals = session.scalars(select(Appeal)).all()
        reasons = session.scalars(select(Event.detail).where(Event.action == "no_reply")).all()
    assert len(appeals) == 1 and appeals[0].unread_replies == 2
    assert reasons == [{"reason": "notice_sent_recently"}]


def test_always_answering_out_of_office_mailbox_gets_no_ping_pong(robot, responder):
    """A customer on holiday whose mailbox answers every message: each of our mails earns one
    out-of-office reply, put on its appeal; none of them is answered."""
    responder.address = "ivanov@example.ru"
    for n, topic in enumerate(["Нет света", "Счёт за январь", "Опора упала"]):
        mail = customer_mail(subject=topic, body=f"{topic}, ул. Ленина, 5. Прошу разобраться.",
                             sender="ivanov@example.ru", message_id=f"<holiday-{n}@example.ru>")
        with smtplib.SMTP(responder.gateway_host, responder.gateway_port) as client:
            client.sendmail("ivanov@example.ru", [ROBOT_ADDRESS], mail)
    _run_until_quiet(robot, responder)

    assert len(responder.received) == 3 and responder.sent == 3
    with robot.sessions() as session:
        appeals = session.scalars(select(Appeal)).all()
        replies = session.scalars(select(Event.appeal_id).where(Event.action == "automatic_reply")).all()
    assert len(appeals) == 3
    assert sorted(replies) == sorted(a.id for a in appeals)
