"""The specialists' desk over HTTP: accounts, permissions, CSRF, every action (R4, R10, R11, R15, R17, R19, R26)."""

from __future__ import annotations

from datetime import timedelta
from email import policy
from email.parser import BytesParser

from sqlalchemy import select

from robot.storage.models import (
    Appeal,
    AuditEntry,
    Correction,
    Event,
    Message,
    OutboundMail,
    Publication,
)
from tests.conftest import run_jobs
from tests.desk_fixtures import PASSWORD, csrf_of, log_in, seed_appeal


def _appeal(robot, number: str) -> Appeal:
    with robot.sessions() as session:
        appeal = session.scalar(select(Appeal).where(Appeal.number == number))
        session.expunge(appeal)
        return appeal


def _audit(robot, action: str) -> list[AuditEntry]:
    with robot.sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_pages_need_a_login(anonymous):
    response = anonymous.get("/desk/queue")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/desk/login?next=%2Fdesk%2Fqueue")


def test_login_sets_a_hardened_session_cookie_and_wrong_password_fails(robot, anonymous):
    """R26: argon2 hashes, HttpOnly SameSite session cookie; a failed login is audited."""
    client = anonymous
    bad = log_in(client, "ivanova", "wrong password")
    assert bad.status_code == 401 and "Неверный логин или пароль" in bad.text
    good = log_in(client, "ivanova")
    assert good.status_code == 303
    cookie = good.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Path=/desk" in cookie
    assert client.get("/desk/queue").status_code == 200
    with robot.sessions() as session:
        from robot.storage.models import User
        stored = session.scalar(select(User.password_hash).where(User.login == "ivanova"))
    assert stored.startswith("$argon2") and PASSWORD not in stored
    assert [e.target for e in _audit(robot, "login_failed")] == ["ivanova"]
    assert [e.actor for e in _audit(robot, "login")] == ["ivanova"]


def test_login_rate_limit_refuses_even_the_right_password(robot, anonymous, clock):
    """R26: after 5 failures in 15 minutes the form refuses; after the window it accepts again."""
    client = anonymous
    for _ in range(5):
        assert log_in(client, "petrov", "guess").status_code == 401
    refused = log_in(client, "petrov")
    assert refused.status_code == 429 and "Слишком много" in refused.text
    clock.advance(timedelta(minutes=16))
    assert log_in(client, "petrov").status_code == 303


def test_login_without_csrf_token_is_refused(anonymous):
    anonymous.get("/desk/login")
    response = anonymous.post("/desk/login", data={"login": "admin", "password": PASSWORD})
    assert response.status_code == 403


def test_state_changes_without_the_csrf_token_are_refused(robot, desk_as):
    """Every POST needs the session's token: a forged form from another site changes nothing."""
    number = seed_appeal(robot)
    desk = desk_as("ivanova")
    for token in ("", "forged-token"):
        response = desk.post(f"/desk/appeal/{number}/note", {"text": "подделка"}, csrf=token)
        assert response.status_code == 403
    assert desk.post("/desk/logout", csrf="").status_code == 403
    with robot.sessions() as session:
        assert session.scalars(select(Event).where(Event.action == "note")).all() == []


def test_specialist_sees_only_their_territory(robot, desk_as):
    """R10, R26: a specialist of omsk-1 neither lists nor opens nor downloads from an isilkul appeal."""
    mine = seed_appeal(robot, queue="omsk-1", subject="Омское обращение")
    other = seed_appeal(robot, queue="isilkul", subject="Исилькульское обращение",
                        attachments=[("акт.pdf", "application/pdf", b"%PDF-1.4")])
    desk = desk_as("ivanova")
    listing = desk.page("/desk/queue", status="all")
    assert mine in listing.text and other not in listing.text
    assert desk.page(f"/desk/appeal/{mine}").status_code == 200
    assert desk.page(f"/desk/appeal/{other}").status_code == 404
    assert desk.page(f"/desk/appeal/{other}/attachment/1").status_code == 404
    assert desk.post(f"/desk/appeal/{other}/note", {"text": "чужое"}).status_code == 404
    assert desk.page("/desk/queue", queue="isilkul").text.count(other) == 0
    denied = _audit(robot, "access_denied")
    assert [(e.actor, e.target) for e in denied][:2] == [("ivanova", other), ("ivanova", other)]
    # The isilkul specialist, the routing specialist and the admin see what is theirs.
    assert desk_as("petrov").page(f"/desk/appeal/{other}").status_code == 200
    assert desk_as("admin").page(f"/desk/appeal/{mine}").status_code == 200


def test_manager_sees_the_queues_they_supervise_and_routing_the_triage_queues(robot, desk_as):
    omsk = seed_appeal(robot, queue="omsk-1")
    isilkul = seed_appeal(robot, queue="isilkul")
    triage = seed_appeal(robot, queue="triage")
    head = desk_as("omsk-1-head")
    assert head.page(f"/desk/appeal/{omsk}").status_code == 200
    assert head.page(f"/desk/appeal/{isilkul}").status_code == 404
    router = desk_as("router")
    assert router.page(f"/desk/appeal/{triage}").status_code == 200
    assert router.page(f"/desk/appeal/{omsk}").status_code == 404
    assert desk_as("ivanova").page("/desk/dashboard").status_code == 403
    assert head.page("/desk/dashboard").status_code == 200
    assert head.page("/desk/audit").status_code == 403


def test_queue_page_counts_sorts_by_due_date_marks_overdue_and_filters(robot, desk_as):
    later = seed_appeal(robot, subject="Позже", due_in=timedelta(days=5))
    late = seed_appeal(robot, subject="Просрочено", due_in=timedelta(hours=-1) + timedelta(hours=0),
                       registered_ago=timedelta(days=4), kind="complaint")
    seed_appeal(robot, subject="Закрыто", status="closed")
    page = desk_as("ivanova").page("/desk/queue").text
    assert page.index(late) < page.index(later)
    assert "Закрыто" not in page
    assert "просрочено" in page and 'class="is-overdue"' in page
    desk = desk_as("ivanova")
    assert later not in desk.page("/desk/queue", kind="complaint").text
    assert late in desk.page("/desk/queue", status="overdue").text
    assert later not in desk.page("/desk/queue", status="overdue").text
    assert later in desk.page("/desk/queue", q="Позже").text
    assert late not in desk.page("/desk/queue", q=later).text
    assert late in desk.page("/desk/queue", q="Третий день").text  # the message's text
    # Case does not matter in any alphabet, on SQLite as on PostgreSQL: «третий ДЕНЬ», «ПОЗЖЕ».
    assert late in desk.page("/desk/queue", q="третий ДЕНЬ").text
    assert later in desk.page("/desk/queue", q="ПОЗЖЕ").text
    assert later in desk.page("/desk/queue", q="ivanov@example").text
    assert later not in desk.page("/desk/queue", channel="phone").text
    assert later in desk.page("/desk/queue", territory="Омский городской РЭС-1").text
    assert _audit(robot, "queue_viewed")


def test_appeal_page_shows_thread_classification_routing_history_and_is_audited(robot, desk_as):
    """R26: opening an appeal's personal data is logged with who and when."""
    number = seed_appeal(robot, customer_name="Сидорова Анна")
    page = desk_as("ivanova").page(f"/desk/appeal/{number}").text
    for expected in ("Сидорова Анна", "Третий день нет света", "by-unit", "сработало", "90%", "зарегистрировано",
                     "Срок ответа"):
        assert expected in page
    [viewed] = _audit(robot, "appeal_viewed")
    assert viewed.actor == "ivanova" and viewed.target == number and viewed.ip


def test_answer_goes_to_the_customer_threaded_and_fills_the_journal(robot, desk_as, sink):
    """R4, R19: the answer is mailed to the customer's address, threaded to their message, carries the
    attachment, is stored as an outbound message, and fills the journal's answer column."""
    number = seed_appeal(robot)
    desk = desk_as("ivanova")
    composer = desk.page(f"/desk/appeal/{number}", canned="outage_restored").text
    assert "Здравствуйте, Иванов Пётр!" in composer and number in composer
    response = desk.post(f"/desk/appeal/{number}/answer", {"text": "Свет восстановлен.\n\nС уважением, Иванова"},
                         files=[("attachments", ("справка.pdf", b"%PDF-1.4 test", "application/pdf"))])
    assert response.status_code == 303 and "done=answer" in response.headers["location"]
    run_jobs(robot)
    [mail] = sink.wait_for(1)
    assert sink.received[0][2] == ["ivanov@example.ru"]
    assert mail["In-Reply-To"] == "<customer-1@example.ru>"
    assert "<customer-1@example.ru>" in mail["References"]
    assert number in str(mail["Subject"])
    assert mail["Auto-Submitted"] is None  # a person wrote it (RFC 3834)
    assert "Свет восстановлен." in mail.get_body(("plain",)).get_content()
    [attached] = list(mail.iter_attachments())
    assert attached.get_filename() == "справка.pdf" and attached.get_content() == b"%PDF-1.4 test"
    appeal = _appeal(robot, number)
    assert appeal.status == "answered" and appeal.answer_text.startswith("Свет восстановлен.")
    assert appeal.executed_at == robot.clock.now() and appeal.responsible == "Ivanova Сотрудник"
    with robot.sessions() as session:
        out = session.scalars(select(Message).where(Message.direction == "out")).one()
        sent = session.scalars(select(OutboundMail)).one()
    assert out.outbound_id == sent.id and sent.status == "sent" and sent.purpose == "answer"
    assert _audit(robot, "answered")[0].actor == "ivanova"


def test_answer_to_a_customer_without_email_is_refused_with_a_reason(robot, desk_as):
    number = seed_appeal(robot, customer_email=None, channel="phone")
    response = desk_as("ivanova").post(f"/desk/appeal/{number}/answer", {"text": "Ответ"})
    assert "error=no_email" in response.headers["location"]
    page = desk_as("ivanova").client.get(response.headers["location"].split("#")[0]).text
    assert "нет адреса электронной почты" in page
    assert _appeal(robot, number).status == "registered"


def test_note_forward_request_extend_correct_publish_close(robot, desk_as, sink):
    """R10, R11, R15, R17: each action changes the appeal, leaves history and an audit entry."""
    number = seed_appeal(robot, kind="complaint", due_in=timedelta(days=14))
    desk = desk_as("ivanova")
    base = f"/desk/appeal/{number}"

    assert desk.post(f"{base}/note", {"text": "Позвонить в РЭС"}).status_code == 303
    assert desk.post(f"{base}/request", {"text": "Сообщите номер лицевого счёта."}).status_code == 303
    assert _appeal(robot, number).status == "awaiting_customer"
    run_jobs(robot)
    [request] = sink.wait_for(1)
    assert "Сообщите номер лицевого счёта." in request.get_body(("plain",)).get_content()

    due_before = _appeal(robot, number).due_at
    local = due_before.astimezone(robot.settings.tz).date()
    later = robot.calendar.add_working_days(local, 2)
    assert desk.post(f"{base}/extend", {"until": later.isoformat(), "reason": "Нужен выезд бригады"}).status_code == 303
    assert _appeal(robot, number).due_at > due_before  # the deadlines' own rules set the new moment (R15)
    again = desk.post(f"{base}/extend", {"until": robot.calendar.add_working_days(later, 1).isoformat(),
                                         "reason": "ещё раз"})
    assert "error=already_extended" in again.headers["location"]

    assert desk.post(f"{base}/correct", {"kind": "complaint", "topic": "billing", "scope": "in"}).status_code == 303
    with robot.sessions() as session:
        [correction] = session.scalars(select(Correction)).all()
    assert (correction.field, correction.old, correction.new, correction.actor) == ("topic", "outage", "billing",
                                                                                    "ivanova")

    assert desk.post(f"{base}/publish", {"kind": "summary", "title": "Перебои в Омске",
                                         "text": "Жалоба на перебои; причина устранена."}).status_code == 303
    with robot.sessions() as session:
        [publication] = session.scalars(select(Publication)).all()
    assert publication.kind == "summary" and publication.actor == "ivanova"

    refused = desk.post(f"{base}/close", {"measures": ""})
    assert "error=empty_measures" in refused.headers["location"]
    assert desk.post(f"{base}/close", {"measures": "Заменён предохранитель"}).status_code == 303
    appeal = _appeal(robot, number)
    assert appeal.status == "closed" and appeal.measures_taken == "Заменён предохранитель"
    assert appeal.executed_at is not None

    # Forwarding last: ivanova forwards to isilkul and so loses sight of it (R11).
    second = seed_appeal(robot)
    moved = desk.post(f"/desk/appeal/{second}/forward", {"queue": "isilkul", "assignee": "petrov",
                                                         "text": "Адрес в Исилькуле"})
    assert moved.status_code == 303 and moved.headers["location"].startswith("/desk/queue")
    appeal = _appeal(robot, second)
    assert (appeal.queue, appeal.assignee) == ("isilkul", "petrov")
    assert desk.page(f"/desk/appeal/{second}").status_code == 404
    assert "unknown_queue" in desk_as("petrov").post(f"/desk/appeal/{second}/forward",
                                                      {"queue": "nowhere", "text": "x"}).headers["location"]

    with robot.sessions() as session:
        actions = [e.action for e in session.scalars(select(Event).where(Event.actor == "ivanova").order_by(Event.id))]
        audited = {e.action for e in session.scalars(select(AuditEntry).where(AuditEntry.actor == "ivanova"))}
    assert actions == ["note", "data_requested", "deadline_extended", "corrected", "published", "closed", "forwarded"]
    assert {"note", "data_requested", "extended", "corrected", "published", "closed", "forwarded"} <= audited


def test_closing_an_overdue_appeal_needs_the_reason_for_delay(robot, desk_as):
    """R19: the journal's «Причины задержки исполнения» is filled for every late appeal."""
    number = seed_appeal(robot, due_in=timedelta(hours=-2), registered_ago=timedelta(days=5))
    desk = desk_as("ivanova")
    page = desk.page(f"/desk/appeal/{number}").text
    assert "срок нарушен" in page and "Причина задержки исполнения" in page
    refused = desk.post(f"/desk/appeal/{number}/close", {"measures": "Выполнено"})
    assert "error=delay_reason_required" in refused.headers["location"]
    assert desk.post(f"/desk/appeal/{number}/delay", {"reason": "Ждали поставки счётчика"}).status_code == 303
    assert desk.post(f"/desk/appeal/{number}/close", {"measures": "Выполнено"}).status_code == 303
    appeal = _appeal(robot, number)
    assert appeal.status == "closed" and appeal.delay_reason == "Ждали поставки счётчика"


def test_attachments_download_as_attachments_only(robot, desk_as):
    """Never inline active content: an HTML attachment comes back as opaque bytes to save."""
    number = seed_appeal(robot, attachments=[("<img src=x onerror=alert(1)>.html", "text/html",
                                              b"<script>alert(1)</script>")])
    desk = desk_as("ivanova")
    with robot.sessions() as session:
        from robot.storage.models import Attachment
        attachment_id = session.scalar(select(Attachment.id))
    response = desk.page(f"/desk/appeal/{number}/attachment/{attachment_id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "<" not in response.headers["content-disposition"].split("filename*=")[0]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.content == b"<script>alert(1)</script>"
    assert _audit(robot, "attachment_downloaded")[0].detail["filename"].endswith(".html")


def test_xss_in_mail_html_subject_sender_and_attachment_name_is_inert(robot, desk_as):
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    number = seed_appeal(
        robot, subject=f"Тема {payload}", customer_name=f"Злоумышленник {payload}",
        html='<p onclick="alert(3)">Текст <a href="javascript:alert(4)">ссылка</a></p>'
             '<script>alert(5)</script><iframe src="https://evil.example"></iframe>'
             '<style>body{display:none}</style><img src="https://tracker.example/p.gif">',
        attachments=[(f"{payload}.pdf", "application/pdf", b"x")])
    desk = desk_as("ivanova")
    for page in (desk.page(f"/desk/appeal/{number}").text, desk.page("/desk/queue").text):
        assert "<script>alert" not in page
        assert "onerror=" not in page.replace("onerror=&#34;", "").replace("onerror=&quot;", "") or \
            '<img src=x onerror' not in page
        assert "<img src=x" not in page
    page = desk.page(f"/desk/appeal/{number}").text
    assert "onclick" not in page and "javascript:" not in page and "<iframe" not in page
    assert "tracker.example" not in page and "display:none" not in page
    assert "Текст" in page and "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "script-src 'self'" in desk.page(f"/desk/appeal/{number}").headers["content-security-policy"]


def test_admin_reads_the_audit_log(robot, desk_as):
    """R26: who saw what, readable by admins in the desk."""
    number = seed_appeal(robot)
    desk_as("ivanova").page(f"/desk/appeal/{number}")
    page = desk_as("admin").page("/desk/audit", number=number).text
    assert "<code>appeal_viewed</code>" in page and "ivanova" in page
    assert "<code>appeal_viewed</code>" not in desk_as("admin").page("/desk/audit", actor="nobody").text


def test_message_html_is_sanitised_not_dropped(robot, desk_as):
    number = seed_appeal(robot, html="<p>Абзац <b>жирный</b> <a href='https://omsk.example/x'>ссылка</a></p>")
    page = desk_as("ivanova").page(f"/desk/appeal/{number}").text
    assert "<b>жирный</b>" in page
    assert 'href="https://omsk.example/x"' in page and 'rel="noopener noreferrer nofollow"' in page


def test_deactivated_user_loses_the_session_at_once(robot, desk_as):
    desk = desk_as("ivanova")
    assert desk.page("/desk/queue").status_code == 200
    with robot.unit_of_work() as session:
        from robot.storage.models import User
        session.scalar(select(User).where(User.login == "ivanova")).active = False
    assert desk.page("/desk/queue").status_code == 303


def test_raw_mail_answer_parses_as_a_proper_message(robot, desk_as):
    number = seed_appeal(robot)
    desk_as("ivanova").post(f"/desk/appeal/{number}/answer", {"text": "Ответ по существу."})
    with robot.sessions() as session:
        raw = session.scalar(select(OutboundMail.raw))
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    assert mail.get_content_type() == "multipart/alternative"
    assert "Ответ по существу." in mail.get_body(("html",)).get_content()
    assert csrf_of('<input name="csrf" value="x">') == "x"
