"""One real-browser test (headless Chromium): a customer fills a form, sends it and sees the number (R2, R6)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from robot.storage.models import Appeal
from tests.conftest import Sink, run_jobs


def test_a_customer_sends_a_question_from_chromium(robot, web_server, page, clock, sink: Sink):
    robot.settings.web_confirmation_wait_s = 0  # the test runs the workers' jobs itself
    page.goto(f"{web_server}/")
    page.get_by_role("link", name=re.compile("Задать вопрос")).click()
    page.wait_for_url(f"{web_server}/forms/question")

    # A mistake first: the server explains it in Russian and keeps what was typed.
    page.get_by_label("Фамилия, имя, отчество").fill("Сидоров Алексей")
    page.get_by_label("Электронная почта").fill("sidorov-at-example.ru")
    page.get_by_label("Ваш вопрос").fill("Когда будет плановое отключение электроэнергии в Таре?")
    page.get_by_label("Населённый пункт или округ").select_option("г. Тара")
    page.get_by_label("Я согласен(на) на обработку моих персональных данных").check()
    clock.advance(timedelta(seconds=20))  # the customer took their time
    page.get_by_role("button", name="Отправить").click()
    page.wait_for_load_state()
    assert page.get_by_text("Адрес электронной почты указан неверно").first.is_visible()
    assert page.get_by_label("Фамилия, имя, отчество").input_value() == "Сидоров Алексей"
    assert page.get_by_label("Населённый пункт или округ").input_value() == "г. Тара"

    page.get_by_label("Электронная почта").fill("sidorov@example.ru")
    page.get_by_label("Я согласен(на) на обработку моих персональных данных").check()
    clock.advance(timedelta(seconds=20))
    page.get_by_role("button", name="Отправить").click()
    page.wait_for_url(re.compile(r"/done/"))
    assert page.get_by_text("Ваше обращение принято и регистрируется").is_visible()
    run_jobs(robot)  # a worker registers it and sends the acknowledgement
    page.reload()

    with robot.sessions() as session:
        appeal = session.scalars(select(Appeal)).one()
    assert page.locator("#registration-number").inner_text() == appeal.number
    assert page.locator("#due-date").inner_text() == "до 15 января 2026 г."
    assert appeal.unit == "Тарский РЭС" and appeal.kind == "question"

    ack = sink.wait_for(1)[0]
    assert ack["To"].addresses[0].addr_spec == "sidorov@example.ru"
    assert appeal.number in ack.get_body(("plain",)).get_content()
