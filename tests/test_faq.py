"""«Найти ответ» (R18): what specialists publish (R17) is browsed and searched by keyword in the reception."""

from __future__ import annotations

import re

from robot.desk import actions
from robot.desk.audit import Actor
from tests.desk_fixtures import seed_appeal

SPECIALIST = Actor("ivanova", "Иванова С. П.")


def publish(robot, *, kind: str = "question", publication: str = "answer", title: str, text: str) -> None:
    number = seed_appeal(robot, kind=kind, subject=title)
    actions.publish(robot, number, SPECIALIST, kind=publication, title=title, text=text)


def titles(page_text: str) -> list[str]:
    return re.findall(r"<h3>(.*?)</h3>", page_text)


def test_published_answers_and_summaries_are_listed_by_section(robot, http):
    publish(robot, title="Как передать показания счётчика?", text="Через личный кабинет до 25 числа.")
    publish(robot, kind="complaint", publication="summary", title="Перерасчёт после отключения",
            text="Жалоба признана обоснованной, выполнен перерасчёт.")
    page = http.get("/faq")
    assert page.status_code == 200
    assert "Вопросы и ответы" in page.text and "Рассмотренные жалобы" in page.text
    assert titles(page.text) == ["Как передать показания счётчика?", "Перерасчёт после отключения"]
    assert 'href="/faq"' in http.get("/").text  # the reception's menu leads there


def test_search_matches_word_forms_and_every_word_R18(robot, http):
    publish(robot, title="Как передать показания счётчика?", text="Через личный кабинет до 25 числа месяца.")
    publish(robot, title="Сроки технологического присоединения", text="Для заявителей до 15 кВт — 4 месяца.")
    # «счетчик» (no ё, another case) finds «счётчика»; «ПРИСОЕДИНЕНИЕ» in capitals finds the other.
    assert titles(http.get("/faq", params={"q": "показания счетчик"}).text) == ["Как передать показания счётчика?"]
    assert titles(http.get("/faq", params={"q": "ПРИСОЕДИНЕНИЕ"}).text) == ["Сроки технологического присоединения"]
    # Every word must be there: one missing word, no match, and the page says so.
    empty = http.get("/faq", params={"q": "показания присоединение"})
    assert titles(empty.text) == [] and "ничего не найдено" in empty.text


def test_published_text_is_shown_as_text_not_markup(robot, http):
    publish(robot, title="Вопрос <script>alert(1)</script>", text="Ответ <b>жирный</b>")
    page = http.get("/faq")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "&lt;b&gt;жирный&lt;/b&gt;" in page.text


def test_nothing_published_yet(robot, http):
    assert "Опубликованных ответов пока нет" in http.get("/faq").text
