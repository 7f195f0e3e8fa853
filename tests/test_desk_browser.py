"""The desk in a real headless Chromium (Debian's, driven by Playwright): log in, open a queue, answer an
appeal that came by real SMTP → the customer's mailbox (the SMTP sink) receives the answer; territory
scoping; CSRF; XSS payloads stay inert. Set DESK_SCREENSHOTS=docs to write the README's screenshots."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from robot.staff import add_user
from robot.storage.models import Appeal
from tests.conftest import customer_mail, run_jobs, send
from tests.desk_fixtures import PASSWORD, seed_appeal


def _log_in(page, url: str, login: str) -> None:
    page.goto(f"{url}/desk/login")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/desk/queue")


def _shoot(page, name: str) -> None:
    folder = os.environ.get("DESK_SCREENSHOTS")
    if folder:
        page.set_viewport_size({"width": 1400, "height": 900})
        page.screenshot(path=str(Path(folder) / f"desk-{name}.png"), full_page=True)


def test_answer_an_appeal_that_came_by_mail_in_the_browser(robot, gateway, sink, desk_url, page):
    """R1 → R4: mail in through the gateway, answered in the desk, received by the customer's server."""
    send(gateway, customer_mail(subject="Показания счётчика",
                                body="Передаю показания счётчика: 12345. Лицевой счёт 1234567."))
    appeal = None
    for _ in range(100):  # the gateway hands the message to Redis just after its 250
        run_jobs(robot)
        with robot.sessions() as session:
            appeal = session.scalars(select(Appeal)).one_or_none()
        if appeal is not None:
            break
    assert appeal is not None
    sink.wait_for(1)  # the acknowledgement
    with robot.unit_of_work() as session:
        add_user(session, login="ivanova2", role="specialist", password=PASSWORD, now=robot.clock.now(),
                 queues=[appeal.queue], name="Иванова Светлана")

    _log_in(page, desk_url, "ivanova2")
    page.click(f"text={appeal.queue}")
    page.click(f"a.number:has-text('{appeal.number}')")
    page.select_option("select[name=canned]", "meter_readings")
    page.click("text=Подставить")
    assert "Показания прибора учёта" in page.input_value("#answer-text")
    page.click("button[name=send]")
    page.wait_for_selector(".alert--ok")
    run_jobs(robot)
    mails = sink.wait_for(2)
    answer = mails[1]
    assert answer["To"].addresses[0].addr_spec == "ivanov@example.ru"
    assert appeal.number in str(answer["Subject"])
    assert "Показания прибора учёта" in answer.get_body(("plain",)).get_content()
    assert answer["In-Reply-To"] == "<customer-1@example.ru>"


def test_specialist_cannot_open_another_territorys_appeal_in_the_browser(robot, desk_url, page):
    other = seed_appeal(robot, queue="isilkul", subject="Исилькульское обращение")
    _log_in(page, desk_url, "ivanova")
    assert "Исилькульское обращение" not in page.content()
    response = page.goto(f"{desk_url}/desk/appeal/{other}")
    assert response.status == 404
    assert "Исилькульское обращение" not in page.content()


def test_a_form_with_a_forged_csrf_token_is_refused_in_the_browser(robot, desk_url, page):
    number = seed_appeal(robot)
    _log_in(page, desk_url, "ivanova")
    page.goto(f"{desk_url}/desk/appeal/{number}")
    page.click("summary:has-text('Заметка')")
    page.fill("#note-text", "заметка")
    page.eval_on_selector("form[action$='/note'] input[name=csrf]", "input => input.value = 'forged'")
    with page.expect_navigation(url="**/note") as navigation:
        page.eval_on_selector("form[action$='/note']", "form => form.submit()")
    assert navigation.value is not None and navigation.value.status == 403
    page.goto(f"{desk_url}/desk/appeal/{number}")
    assert "заметка" not in page.inner_text(".desk-history")


def test_xss_payloads_in_mail_html_subject_sender_and_attachment_name_stay_inert(robot, desk_url, page):
    payload = "<img src=x onerror=\"window.__xss=1;alert(1)\"><script>window.__xss=2</script>"
    number = seed_appeal(
        robot, subject=f"Тема {payload}", customer_name=f"Имя {payload}",
        html=f"<p>Текст</p>{payload}<a href=\"javascript:window.__xss=3\" id=evil>жми</a>"
             "<svg onload=\"window.__xss=4\"></svg>",
        attachments=[(f"{payload}.pdf", "application/pdf", b"%PDF")])
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _log_in(page, desk_url, "ivanova")
    for path in ("/desk/queue", f"/desk/appeal/{number}"):
        page.goto(f"{desk_url}{path}")
        page.wait_for_load_state("load")
        assert page.evaluate("window.__xss") is None
    if page.locator("#evil").count():
        page.click("#evil")
    assert page.evaluate("window.__xss") is None and dialogs == []
    assert "<script>" in page.inner_text("h1 + .lead")  # shown as text, not run


def test_screenshots_of_queue_appeal_and_dashboard(robot, desk_url, page, clock):
    """Pages render for each role; with DESK_SCREENSHOTS set, they are saved for the README."""
    numbers = []
    for index, (queue, kind, subject, due) in enumerate([
        ("omsk-1", "complaint", "Третий день нет света на ул. Ленина", timedelta(hours=-5)),
        ("omsk-1", "question", "Как передать показания счётчика?", timedelta(days=1)),
        ("omsk-1", "application", "Заявка на замену прибора учёта", timedelta(days=3)),
        ("omsk-1", "question", "Перерасчёт за январь", timedelta(days=2)),
        ("isilkul", "complaint", "Скачки напряжения в Исилькуле", timedelta(days=10)),
    ]):
        ago = timedelta(days=index + 1)
        numbers.append(seed_appeal(robot, queue=queue, kind=kind, subject=subject, due_in=due + ago,
                                   registered_ago=ago,
                                   html=f"<p>Здравствуйте!</p><p>{subject}. Прошу разобраться.</p>",
                                   attachments=[("фото.jpg", "image/jpeg", b"\xff\xd8")] if index == 0 else ()))
    _log_in(page, desk_url, "ivanova")
    _shoot(page, "queue")
    assert page.locator("tr.is-overdue").count() == 1
    page.goto(f"{desk_url}/desk/appeal/{numbers[0]}")
    _shoot(page, "appeal")
    assert page.locator(".desk-message--in").count() == 1
    page.context.clear_cookies()
    _log_in(page, desk_url, "admin")
    page.goto(f"{desk_url}/desk/dashboard")
    _shoot(page, "dashboard")
    assert page.locator("svg.chart").count() >= 3
