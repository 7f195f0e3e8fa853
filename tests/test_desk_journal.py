"""The journal (R19), operator entry (R3), the dashboard (R20) and `mailrobot users` / `journal export`."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from robot.desk.journal import HEADERS
from robot.storage.models import Appeal, DueAction, OutboundMail, RawMessage, User
from tests.conftest import settings_env
from tests.desk_fixtures import seed_appeal

#: Прил. 5 of the Standard, column by column, as printed there (words hyphenated across a line
#: joined, the parenthesis after «СЭС» closed).
STANDARD_COLUMNS = [
    "Город/ Область", "Округ города", "ПЭС (ЗЭС, ВЭС, СЭС)", "РЭС", "Ф.И.О. потребителя", "Домашний адрес",
    "Телефон", "Тематика обращений", "Причина обращения", "Диспетчер", "Отв. лицо", "Принятые меры",
    "дата исполнения", "Причины задержки исполнения", "Ответ потребителю", "Благодарность потребителя",
    "срок исполнение (кол-во дней)",
]


def test_journal_headers_are_the_standards_in_its_order():
    assert HEADERS == ["Регистрационный номер", "Дата поступления", *STANDARD_COLUMNS]


def test_xlsx_export_from_the_desk_has_the_r19_header_row_and_the_rows(robot, desk_as):
    """R19: an XLSX opened with openpyxl; the header row is exactly number, date, then Прил. 5."""
    number = seed_appeal(robot, customer_name="Кузнецова Мария")
    other = seed_appeal(robot, queue="isilkul")
    desk = desk_as("ivanova")
    desk.post(f"/desk/appeal/{number}/answer", {"text": "Ответ по существу"})
    response = desk.page("/desk/journal.xlsx")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    assert [row[0] for row in rows[1:]] == [number]  # the specialist's queues only (R26)
    row = dict(zip(HEADERS, rows[1]))
    assert row["Ф.И.О. потребителя"] == "Кузнецова Мария"
    assert row["Ответ потребителю"] == "Ответ по существу"
    assert row["Диспетчер"] == "Mail-робот" and row["Город/ Область"] == "г. Омск"
    assert row["срок исполнение (кол-во дней)"] == 0
    admin_rows = list(load_workbook(io.BytesIO(desk_as("admin").page("/desk/journal.xlsx").content)).active
                      .iter_rows(values_only=True))
    assert {r[0] for r in admin_rows[1:]} == {number, other}
    page = desk.page("/desk/journal").text
    assert number in page and other not in page and "Причины задержки исполнения" in page


def test_csv_export_and_cli_export_with_a_period(robot, clock, tmp_path):
    """`mailrobot journal export --format xlsx|csv --output FILE --from --to`."""
    early = seed_appeal(robot, registered_ago=timedelta(days=10))
    late = seed_appeal(robot)
    env = settings_env(robot.settings)
    today = clock.now().astimezone(robot.settings.tz).date()
    out = tmp_path / "journal.csv"
    subprocess.run([sys.executable, "-m", "robot.cli.main", "journal", "export", "--format", "csv", "--output",
                    str(out), "--from", (today - timedelta(days=2)).isoformat(), "--to", today.isoformat()],
                   env=env, check=True, capture_output=True)
    with open(out, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows[0] == HEADERS and [r[0] for r in rows[1:]] == [late]
    xlsx = tmp_path / "journal.xlsx"
    subprocess.run([sys.executable, "-m", "robot.cli.main", "journal", "export", "--output", str(xlsx)],
                   env=env, check=True, capture_output=True)
    rows = list(load_workbook(xlsx).active.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS and [r[0] for r in rows[1:]] == [early, late]


def test_users_add_from_stdin(robot):
    env = settings_env(robot.settings)
    command = [sys.executable, "-m", "robot.cli.main", "users", "add", "sidorov", "--role", "specialist",
               "--queues", "omsk-2,isilkul", "--email", "sidorov@omskenergo.example", "--name", "Сидоров И. И.",
               "--password-stdin"]
    done = subprocess.run(command, input="длинный пароль\n", env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    with robot.sessions() as session:
        user = session.scalar(select(User).where(User.login == "sidorov"))
    assert (user.role, user.queues, user.name) == ("specialist", ["isilkul", "omsk-2"], "Сидоров И. И.")
    assert user.password_hash.startswith("$argon2")
    bad = subprocess.run([*command[:7], "nowhere", "--password-stdin"], input="длинный пароль\n", env=env,
                         capture_output=True, text=True, check=False)
    assert bad.returncode != 0 and "nowhere" in bad.stderr
    short = subprocess.run(command, input="short\n", env=env, capture_output=True, text=True, check=False)
    assert short.returncode != 0


def test_operator_registers_a_phone_appeal_into_the_same_journal(robot, desk_as):
    """R3: a phone call gets a number at once, the journal fields, a due date and territory routing."""
    desk = desk_as("ivanova")
    response = desk.post("/desk/operator", {
        "channel": "phone", "kind": "application", "customer_name": "Орлов Олег", "customer_phone": "+7 913 000-00-00",
        "customer_address": "г. Омск, ул. Ленина, 5", "subject": "Замена счётчика",
        "text": "Просит заменить счётчик в квартире.", "topic": "meters"})
    assert response.status_code == 303
    with robot.sessions() as session:
        appeal = session.scalars(select(Appeal)).one()
        raw = session.get(RawMessage, appeal.messages[0].raw_message_id)
    # An application without the data routing needs goes to the routing specialists' queue, which
    # this operator does not see: she is shown the number on the entry form, not a 404 (as before).
    assert appeal.queue == "routing"
    assert response.headers["location"] == f"/desk/operator?registered={appeal.number}&done=registered"
    form = desk.page("/desk/operator", registered=appeal.number, done="registered").text
    assert appeal.number in form and "Сообщите потребителю его номер" in form
    forged = desk.page("/desk/operator", registered="Позвоните по номеру 8-800", done="registered").text
    assert "Позвоните" not in forged and "Номер обращения" not in forged  # only a number is shown
    assert (appeal.channel, appeal.kind, appeal.customer_phone, appeal.dispatcher) == (
        "phone", "application", "+7 913 000-00-00", "Ivanova Сотрудник")
    assert appeal.due_at > robot.clock.now() and appeal.queue
    assert raw.channel == "phone" and "Орлов Олег" in raw.raw.decode()
    refused = desk.post("/desk/operator", {"channel": "phone", "kind": "question", "text": "   "})
    assert refused.status_code == 422 and "Запишите суть обращения" in refused.text


def test_an_anonymous_letter_is_registered_but_not_considered(robot, desk_as):
    """R8 (§ 7) and § 2: every appeal is registered; one with no contact details at all is not
    considered, nothing is planned for it and nothing is sent."""
    desk = desk_as("ivanova")
    response = desk.post("/desk/operator", {"channel": "post", "kind": "complaint",
                                            "text": "Опять весь вечер моргает свет. Сколько можно!"})
    # No address: routed to the routing specialists' queue, which this operator does not see; the
    # number still reaches her, on the entry form, to tell the customer.
    assert response.status_code == 303 and response.headers["location"].startswith("/desk/operator?")
    with robot.sessions() as session:
        number = session.scalar(select(Appeal.number).order_by(Appeal.id.desc()).limit(1))
    assert f"registered={number}" in response.headers["location"]
    form = desk.page("/desk/operator", registered=number, done="not_considered").text
    assert number in form and "не рассматривается и ответ не направляется" in form
    with robot.sessions() as session:
        appeal = session.scalar(select(Appeal).where(Appeal.number == number))
        planned = session.scalars(select(DueAction).where(DueAction.appeal_id == appeal.id)).all()
        sent = session.scalars(select(OutboundMail)).all()
    assert (appeal.status, appeal.flags) == ("not_considered", ["no_contact"])
    assert appeal.classification["decision"]["reason"] == "no_contact"
    assert planned == [] and sent == []
    assert appeal.queue == "routing"  # no address: the routing specialists' queue
    page = desk_as("router").page(f"/desk/appeal/{number}", done="not_considered").text
    assert "не рассматривается и ответ не направляется" in page
    assert "нет контактных данных и канала для ответа" in page
    # The same letter signed in its text has a contact: registered and considered as usual.
    signed = desk_as("router").post("/desk/operator", {"channel": "post", "kind": "complaint",
                                          "text": "Опять весь вечер моргает свет. Петров, ул. Мира, 12"})
    with robot.sessions() as session:
        second = session.scalar(select(Appeal).order_by(Appeal.id.desc()).limit(1))
    # Entered by a routing specialist, who sees the routing queue: taken to the appeal itself.
    assert (second.queue, signed.headers["location"]) == ("routing", f"/desk/appeal/{second.number}?done=registered")
    assert (second.status, second.flags) == ("registered", [])


def test_dashboard_shows_how_the_classifier_reads_real_mail(robot, desk_as):
    """Issue 3: the model's kinds as specialists left or corrected them — the measure on real mail
    that the team's corpus cannot give. Web forms and operators state their kind: not counted."""
    from robot.desk.stats import classifier_figures
    from robot.pipeline.correct import correct

    question, first, second, application = (seed_appeal(robot, kind=kind)
                                            for kind in ("question", "complaint", "complaint", "application"))
    seed_appeal(robot, kind="question", channel="web", message_id="<form-1@example.ru>")
    seed_appeal(robot, kind="question", channel="phone", message_id=None)
    correct(robot, question, actor="ivanova", kind="complaint")
    correct(robot, question, actor="ivanova", kind="application")  # a second thought: still one appeal
    correct(robot, first, actor="ivanova", scope="out")
    with robot.sessions() as session:
        figures = classifier_figures(session, None, robot.clock.now() - timedelta(days=1))
    assert figures.classified == 4
    assert figures.kinds == {("question", "application"): 1, ("complaint", "complaint"): 2,
                             ("application", "application"): 1}
    assert figures.kind_agreement == 0.75
    assert figures.corrected == {"kind": 1, "scope": 1}
    page = desk_as("omsk-1-head").page("/desk/dashboard").text
    assert "Классификатор на реальной почте" in page
    assert "Вид оставлен специалистами без изменений: 75.0%" in page
    assert "вид — 1, тематика — 0, отношение к деятельности компании — 1" in page


def test_dashboard_shows_volumes_share_in_time_and_overdue(robot, desk_as):
    """R20: volumes by day and kind, by territory, share answered in time, overdue list — as SVG."""
    late = seed_appeal(robot, kind="complaint", due_in=timedelta(hours=-1), registered_ago=timedelta(days=3))
    answered = seed_appeal(robot)
    desk_as("ivanova").post(f"/desk/appeal/{answered}/answer", {"text": "Ответ"})
    page = desk_as("omsk-1-head").page("/desk/dashboard").text
    assert "<svg" in page and "bar--complaint" in page
    assert late in page  # the overdue list
    assert "100.0%" in page  # one answered, in time
    assert "Омский городской РЭС-1" in page
