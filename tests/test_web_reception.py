"""The Internet reception's four forms and status page (R2, R5, R6, R10, R26), over real HTTP on loopback.

The app runs in uvicorn on a free port (tests/web_fixtures.py); the acknowledgement goes through
the real relay sink. Time moves through the robot's FrozenClock: the minimum fill time is passed
by advancing it, never by sleeping.
"""

from __future__ import annotations

import html
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from robot.app import Robot
from robot.clock import FrozenClock
from robot.storage.models import (
    Appeal,
    Attachment,
    ConsentText,
    Message,
    RawMessage,
    WebSubmission,
)
from tests.conftest import Sink, database_unavailable, run_jobs

FORMS = ("question", "application", "complaint", "review")
GOOD = {
    "name": "Иванова Мария Петровна",
    "email": "Maria.Ivanova@example.ru",
    "phone": "+7 (3812) 12-34-56",
    "address": "644043, г. Омск, ул. Ленина, д. 5, кв. 12",
    "territory": "г. Тара",
    "account": "4100123456",
    "text": "Прошу сообщить, когда будет заменён прибор учёта в моей квартире.",
    "consent": "yes",
}


@pytest.fixture(autouse=True)
def _registered_by_the_test(robot: Robot) -> None:
    # The workers register; here the test runs their jobs itself (run_jobs), so pages need not wait.
    robot.settings.web_confirmation_wait_s = 0


def form_token(client: httpx.Client, form: str) -> str:
    page = client.get(f"/forms/{form}")
    assert page.status_code == 200
    return re.search(r'name="token" value="([^"]+)"', page.text).group(1)


def post_form(client: httpx.Client, clock: FrozenClock, form: str = "question", *, token: str | None = None,
              wait_s: float = 5, files=None, **changes: str | None) -> httpx.Response:
    """Open the form, let ``wait_s`` seconds pass on the robot's clock, send it."""
    token = token or form_token(client, form)
    clock.advance(timedelta(seconds=wait_s))
    data = {key: value for key, value in (GOOD | changes).items() if value is not None}
    return client.post(f"/forms/{form}", data={"token": token, "website": "", **data}, files=files)


def count(robot: Robot, model) -> int:
    with robot.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def only_appeal(robot: Robot) -> Appeal:
    run_jobs(robot)
    with robot.sessions() as session:
        appeals = session.scalars(select(Appeal)).all()
    assert len(appeals) == 1
    return appeals[0]


@pytest.mark.parametrize("form", FORMS)
def test_each_form_offers_every_field_and_a_separate_consent(http, form):
    """R2: four forms; name, e-mail, phone, address, territory from routing_rules.yaml, account, text, files."""
    page = http.get(f"/forms/{form}")
    assert page.status_code == 200
    for name in ("name", "email", "phone", "address", "territory", "account", "text", "attachments", "consent"):
        assert f'name="{name}"' in page.text
    assert '<option value="г. Тара">г. Тара (Тарский район)</option>' in page.text
    assert "152-ФЗ" in page.text  # the consent wording is shown beside its own checkbox
    assert 'class="hp"' in page.text and 'name="website"' in page.text
    assert page.cookies.get("mr_csrf")


def test_the_index_leads_to_the_four_forms_and_the_status_page(http):
    page = http.get("/")
    for title in ("Задать вопрос", "Подать заявку / изменить услугу", "Обращение, жалоба", "Оставить отзыв"):
        assert title in page.text
    assert all(f'href="/forms/{form}"' in page.text for form in FORMS)
    assert 'href="/status"' in page.text


def test_a_question_is_stored_registered_and_acknowledged_with_its_number(robot, http, clock, sink: Sink):
    """R2, R6: stored before the redirect; the page shows the number and due date; the same e-mail goes out."""
    response = post_form(http, clock)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/done/")

    appeal = only_appeal(robot)
    assert (appeal.channel, appeal.kind, appeal.kind_confidence) == ("web", "question", 1.0)
    assert appeal.customer_email == "maria.ivanova@example.ru"
    assert (appeal.customer_name, appeal.customer_phone) == ("Иванова Мария Петровна", "+7 (3812) 12-34-56")
    assert appeal.customer_address == GOOD["address"] and appeal.account_number == "4100123456"

    done = http.get(location)
    assert done.status_code == 200
    assert appeal.number in done.text
    assert "до 15 января 2026 г." in done.text  # Mon 12 Jan + 3 working days

    ack = sink.wait_for(1)[0]
    assert ack["To"].addresses[0].addr_spec == "maria.ivanova@example.ru"
    assert appeal.number in ack["Subject"] or appeal.number in ack.get_body(("plain",)).get_content()
    assert "15 января 2026 г." in ack.get_body(("plain",)).get_content()
    assert ack["Auto-Submitted"] == "auto-replied"


def test_a_form_from_a_postmaster_address_is_a_person_s_appeal(robot, http, clock, sink: Sink):
    """R2: a small firm may write from «postmaster@…»; on a form that is a person, not a robot's mail."""
    response = post_form(http, clock, email="postmaster@firma.example")
    assert response.status_code == 303
    appeal = only_appeal(robot)
    assert (appeal.channel, appeal.customer_email) == ("web", "postmaster@firma.example")
    assert sink.wait_for(1)[0]["To"].addresses[0].addr_spec == "postmaster@firma.example"


def test_consent_is_recorded_with_its_text_time_and_address(robot, http, clock):
    """R26 / 152-FZ: a separate consent; its verbatim text, time and IP are kept with the submission."""
    post_form(http, clock)
    with robot.sessions() as session:
        submission = session.scalars(select(WebSubmission)).one()
        text = session.get(ConsentText, submission.consent_sha256)
    assert submission.consent_ip == "127.0.0.1"
    assert submission.consent_at == clock.now()
    assert text is not None and "152-ФЗ" in text.text and text.version == submission.consent_version
    assert submission.fields["phone"] == GOOD["phone"] and submission.form == "question"


@pytest.mark.parametrize(("form", "kind", "due"), [
    ("complaint", "complaint", "30 января 2026 г."),
    ("application", "application", "15 января 2026 г."),
    ("review", "feedback", "30 января 2026 г."),
])
def test_the_form_states_the_kind_whatever_the_text_says(robot, http, clock, form, kind, due):
    """R5: the form's kind wins over the classifier (the text reads like a question); a review is feedback."""
    response = post_form(http, clock, form, text="Подскажите, пожалуйста, какой телефон у диспетчерской службы?")
    assert response.status_code == 303
    appeal = only_appeal(robot)
    assert appeal.kind == kind
    assert due in http.get(response.headers["location"]).text


def test_the_territory_chosen_on_the_form_routes_the_appeal(robot, http, clock):
    """R10: the form's territory is the best evidence — it wins over a street named in the text."""
    post_form(http, clock, address="", territory="г. Тара",
              text="Не горит фонарь у дома на улице Ленина, прошу проверить линию.")
    appeal = only_appeal(robot)
    assert appeal.unit == "Тарский РЭС"
    assert appeal.routing["territory"]["source"] == "form"


def test_errors_are_explained_in_russian_and_the_form_is_refilled(robot, http, clock):
    response = post_form(http, clock, email="not-an-address", consent=None, text="", name="<b>Мария</b>")
    assert response.status_code == 422
    page = html.unescape(response.text)
    assert "Адрес электронной почты указан неверно" in page
    assert "Без согласия на обработку персональных данных" in page
    assert "Напишите текст обращения" in page
    # Refilled — and escaped: what the customer typed never becomes markup.
    assert 'value="&lt;b&gt;Мария&lt;/b&gt;"' in response.text and "<b>Мария</b>" not in response.text
    assert 'value="not-an-address"' in response.text
    assert count(robot, RawMessage) == 0 and count(robot, WebSubmission) == 0


def test_an_application_needs_the_address(robot, http, clock):
    response = post_form(http, clock, "application", address="")
    assert response.status_code == 422
    assert "Укажите почтовый адрес" in html.unescape(response.text)
    assert count(robot, RawMessage) == 0


def test_a_form_sent_too_fast_is_refused(robot, http, clock):
    """A bot fills the form at once; a person takes at least a few seconds."""
    response = post_form(http, clock, wait_s=1)
    assert response.status_code == 400
    assert "Форма отправлена слишком быстро" in html.unescape(response.text)
    assert count(robot, RawMessage) == 0
    # The refused page gives a fresh token; sent after a while, it goes through.
    token = re.search(r'name="token" value="([^"]+)"', response.text).group(1)
    assert post_form(http, clock, token=token).status_code == 303


def test_the_honeypot_catches_a_bot(robot, http, clock):
    token = form_token(http, "question")
    clock.advance(timedelta(seconds=10))
    response = http.post("/forms/question", data={"token": token, "website": "http://spam.example", **GOOD})
    assert response.status_code == 400
    assert count(robot, RawMessage) == 0


def test_a_post_from_another_site_is_refused(robot, http, web_server, clock):
    """CSRF: a token without the browser's cookie, a forged token, or another form's token do not pass."""
    token = form_token(http, "question")
    clock.advance(timedelta(seconds=10))
    with httpx.Client(base_url=web_server) as stranger:  # no cookie: the victim's browser would not send ours
        assert stranger.post("/forms/question", data={"token": token, **GOOD}).status_code == 400
    assert http.post("/forms/question", data={"token": token[:-4] + "AAAA", **GOOD}).status_code == 400
    assert http.post("/forms/complaint", data={"token": token, **GOOD}).status_code == 400
    assert http.post("/forms/question", data=GOOD).status_code == 400
    assert count(robot, RawMessage) == 0


def test_a_form_sent_twice_is_one_appeal(robot, http, clock, sink: Sink):
    """A double click or a retry after a lost response resends the same form: one appeal, one acknowledgement."""
    token = form_token(http, "question")
    first = post_form(http, clock, token=token)
    second = post_form(http, clock, token=token)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    run_jobs(robot)
    assert count(robot, Appeal) == 1 and count(robot, RawMessage) == 1
    sink.wait_for(1)
    assert len(sink.received) == 1


def test_submissions_are_limited_per_address(robot, http, clock):
    robot.settings.web_submit_limit = 2
    assert post_form(http, clock, text="Первое обращение о замене счётчика.").status_code == 303
    assert post_form(http, clock, text="Второе обращение о замене счётчика.").status_code == 303
    third = post_form(http, clock, text="Третье обращение о замене счётчика.")
    assert third.status_code == 429
    assert "Слишком много обращений" in third.text
    run_jobs(robot)
    assert count(robot, Appeal) == 2


def test_attachments_are_kept_within_their_limits(robot, http, clock):
    robot.settings.web_attachment_max_bytes = 1000
    too_big = post_form(http, clock, files=[("attachments", ("act.pdf", b"%PDF" + b"0" * 1000, "application/pdf"))])
    assert too_big.status_code == 422 and "Файл слишком большой" in html.unescape(too_big.text)
    wrong = post_form(http, clock, files=[("attachments", ("run.exe", b"MZ", "application/octet-stream"))])
    assert wrong.status_code == 422 and "Такой тип файла не принимается" in html.unescape(wrong.text)
    assert count(robot, RawMessage) == 0

    ok = post_form(http, clock, files=[("attachments", ("../../Акт сверки.pdf", b"%PDF-1.4 act", "application/pdf")),
                                       ("attachments", ("photo.jpg", b"\xff\xd8\xff photo", "image/jpeg"))])
    assert ok.status_code == 303
    run_jobs(robot)
    with robot.sessions() as session:
        files = session.execute(select(Attachment.filename, Attachment.content_type, Attachment.content)
                                .join(Message).order_by(Attachment.id)).all()
    assert [tuple(row) for row in files] == [("Акт сверки.pdf", "application/pdf", b"%PDF-1.4 act"),
                                             ("photo.jpg", "image/jpeg", b"\xff\xd8\xff photo")]


def test_storage_down_answers_503_and_promises_nothing(robot, http, clock, request):
    token = form_token(http, "question")
    with database_unavailable(robot, request):
        response = post_form(http, clock, token=token)
    assert response.status_code == 503
    assert "не сохранено" in response.text
    # The customer sends again, as the page asks: it goes through, once.
    assert post_form(http, clock, token=token).status_code == 303
    run_jobs(robot)
    assert count(robot, Appeal) == 1


def test_an_unknown_confirmation_is_not_found(http):
    assert http.get("/done/nonexistent-token").status_code == 404
    assert http.get("/forms/unknown").status_code == 404


# --- status page -----------------------------------------------------------------------------


def look_up(client: httpx.Client, number: str, email: str) -> httpx.Response:
    page = client.get("/status")
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    return client.post("/status", data={"token": token, "number": number, "email": email})


def result_of(response: httpx.Response) -> str:
    found = re.search(r'id="status-result">(.*?)</(div|dl)>', response.text, re.DOTALL)
    return " ".join(html.unescape(found.group(1)).split()) if found else ""


def test_the_status_page_shows_status_and_due_date_only(robot, http, clock):
    """R2 item 3: number + e-mail → status and due date; nothing else about the appeal."""
    post_form(http, clock)
    appeal = only_appeal(robot)
    response = look_up(http, appeal.number, "MARIA.IVANOVA@example.ru")
    assert response.status_code == 200
    shown = result_of(response)
    assert appeal.number in shown and "до 15 января 2026 г." in shown
    assert "зарегистрировано" in shown
    assert "прибор учёта" not in response.text and "Иванова" not in response.text


def test_wrong_pairs_look_exactly_like_unknown_numbers(robot, http, clock):
    """No enumeration: a real number with another e-mail reads the same as a number that does not exist."""
    post_form(http, clock)
    appeal = only_appeal(robot)
    wrong_email = look_up(http, appeal.number, "someone@example.ru")
    unknown = look_up(http, "2026-999999", "maria.ivanova@example.ru")
    assert wrong_email.status_code == unknown.status_code == 200
    assert result_of(wrong_email) == result_of(unknown) != ""
    strip = re.compile(r'name="token" value="[^"]+"|value="[^"]*"')
    assert strip.sub("", wrong_email.text) == strip.sub("", unknown.text)


def test_status_look_ups_are_rate_limited(robot, http):
    robot.settings.web_status_limit = 3
    codes = [look_up(http, f"2026-00000{i}", "a@example.ru").status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]


def test_the_confirmation_page_waits_briefly_for_the_number(robot, http, clock):
    """The workers register within moments; the page waits for the number instead of showing "being registered"."""
    response = post_form(http, clock)
    pending = http.get(response.headers["location"])
    assert "регистрируется" in pending.text and 'http-equiv="refresh"' in pending.text

    robot.settings.web_confirmation_wait_s = 10
    with ThreadPoolExecutor(1) as pool:
        page = pool.submit(http.get, response.headers["location"])
        run_jobs(robot)  # the worker registers while the page waits
        shown = page.result(timeout=30)
    assert only_appeal(robot).number in shown.text and "refresh" not in shown.text
