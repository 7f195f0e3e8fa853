"""Customers with contracts from the billing system's exports (R24), for the auto-informer.

The billing system itself is outside the robot and is not run here: its exports (CSV, XLSX) are
the interface, so the tests write such files the way an export would.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from typer.testing import CliRunner

from robot.cli.main import app
from robot.informer.customers import ImportFileError, import_customers
from robot.routing.load import load_rules
from robot.storage.models import Customer
from tests.conftest import settings_env

HEADER = ["Лицевой счёт", "ФИО", "E-mail", "Согласие", "Телефон", "Адрес", "Территория"]
GOOD = [
    ["1100000001", "Иванов Пётр Сергеевич", "Ivanov@Example.ru", "да", "8 (913) 123-45-67", "г. Омск, ул. Ленина, 5",
     "omsk-1"],
    ["1100000002", "Петрова Анна", "petrova@example.ru", "нет", "+7 913 000 11 22", "г. Исилькуль",
     "Исилькульский район"],
]


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "cp1251", sep: str = ";") -> Path:
    path.write_bytes("\r\n".join(sep.join(row) for row in [HEADER, *rows]).encode(encoding))
    return path


def do_import(robot, path: Path, *, dry_run: bool = False):
    rules = load_rules(robot.settings.routing_rules).rules
    with robot.unit_of_work() as session:
        return import_customers(session, path, rules=rules, account_pattern=robot.settings.account_number_pattern,
                                now=robot.clock.now(), dry_run=dry_run)


def customers(robot) -> dict[str, Customer]:
    with robot.sessions() as session:
        return {c.account_number: c for c in session.scalars(select(Customer))}


def test_cp1251_semicolon_export_is_read_and_phones_normalised(robot, tmp_path):
    report = do_import(robot, write_csv(tmp_path / "export.csv", GOOD))
    assert report.ok and (report.lines, report.added) == (2, 2)
    stored = customers(robot)
    ivanov = stored["1100000001"]
    assert (ivanov.name, ivanov.email, ivanov.phone, ivanov.unit) == (
        "Иванов Пётр Сергеевич", "ivanov@example.ru", "+79131234567", "omsk-1")
    assert ivanov.email_consent_at == robot.clock.now()
    assert ivanov.source == "export.csv:2"
    # The district's name resolves to the unit that serves it.
    assert stored["1100000002"].unit == "isilkul"


def test_email_without_consent_is_not_kept_R24(robot, tmp_path):
    report = do_import(robot, write_csv(tmp_path / "export.csv", GOOD))
    petrova = customers(robot)["1100000002"]
    assert petrova.email is None and petrova.email_consent_at is None
    assert petrova.phone == "+79130001122"  # the contract's phone is kept
    [warning] = report.problems
    assert (warning.line, warning.field, warning.code, warning.severity) == (3, "email", "no_consent", "warning")


def test_bad_lines_are_reported_by_line_and_field_and_left_out(robot, tmp_path):
    rows = [
        *GOOD,
        ["12345", "Сидоров", "", "", "", "", ""],
        ["1100000001", "Дубль Иванова", "", "", "", "", ""],
        ["1100000003", "", "bad@", "да", "123", "", "Луна"],
        ["1100000004", "Орлов", "orlov@example.ru", "может быть", "", "", ""],
    ]
    report = do_import(robot, write_csv(tmp_path / "export.csv", rows))
    errors = {(p.line, p.field, p.code) for p in report.problems if p.severity == "error"}
    assert errors == {
        (4, "account_number", "bad_account"),
        (5, "account_number", "duplicate"),
        (6, "name", "missing"), (6, "email", "bad_email"), (6, "phone", "bad_phone"),
        (6, "territory", "unknown_territory"),
        (7, "email_consent", "bad_consent"),
    }
    assert not report.ok and report.rejected == 4
    # The good lines are stored all the same; the first of two lines with one account wins.
    stored = customers(robot)
    assert sorted(stored) == ["1100000001", "1100000002"]
    assert stored["1100000001"].name == "Иванов Пётр Сергеевич"


def test_reimport_updates_changed_rows_only(robot, tmp_path, clock):
    do_import(robot, write_csv(tmp_path / "export.csv", GOOD))
    first = customers(robot)["1100000001"].email_consent_at
    clock.advance(timedelta(days=30))
    changed = [GOOD[0][:4] + ["+79990001122"] + GOOD[0][5:], GOOD[1]]
    report = do_import(robot, write_csv(tmp_path / "export.csv", changed))
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    ivanov = customers(robot)["1100000001"]
    assert ivanov.phone == "+79990001122"
    assert ivanov.email_consent_at == first  # the same address: the consent's date stays
    assert ivanov.updated_at == robot.clock.now()


def test_dry_run_stores_nothing(robot, tmp_path):
    report = do_import(robot, write_csv(tmp_path / "export.csv", GOOD), dry_run=True)
    assert report.valid == 2 and report.added == 0
    assert customers(robot) == {}


def test_xlsx_export_with_numeric_accounts(robot, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["ФИО", "Лицевой счет", "Телефон"])  # another order, another spelling of «счёт»
    sheet.append(["Иванов Пётр", 1100000001, 89131234567])
    book.save(tmp_path / "export.xlsx")
    report = do_import(robot, tmp_path / "export.xlsx")
    assert report.ok and report.added == 1
    assert customers(robot)["1100000001"].phone == "+79131234567"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("export.csv", "ФИО;Телефон\nИванов;89131234567\n".encode(), "no column for account_number"),
    ("export.csv", b"", "empty"),
    ("export.pdf", b"%PDF-1.4", "only .csv and .xlsx"),
    ("export.xlsx", b"not a zip file", "not a readable XLSX"),
])
def test_unreadable_files_get_a_clear_error(robot, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        do_import(robot, path)


@pytest.fixture
def cli(settings, robot, monkeypatch):
    for name, value in settings_env(settings).items():
        if name.startswith("MAILROBOT_"):
            monkeypatch.setenv(name, value)
    return lambda *args: CliRunner().invoke(app, list(args))


def test_cli_reports_in_russian_and_fails_on_refused_lines(cli, tmp_path):
    result = cli("customers", "import", str(write_csv(tmp_path / "export.csv", [*GOOD, ["1", "Сидоров"]])))
    assert result.exit_code == 1
    assert "Добавлено: 2" in result.output
    assert "4       Лицевой счёт   ошибка: лицевой счёт не соответствует формату: «1»" in result.output
    listed = json.loads(cli("customers", "list", "--json").output)
    assert [row["account_number"] for row in listed] == ["1100000001", "1100000002"]


def test_cli_missing_column_exits_2(cli, tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("ФИО\nИванов\n", encoding="utf-8")
    result = cli("customers", "import", str(path))
    assert result.exit_code == 2
    assert "no column for account_number" in result.output

