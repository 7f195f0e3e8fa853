"""`mailrobot campaigns`: the whole life cycle from the command line, reports in XLSX and CSV (R22)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from robot.cli.main import app
from robot.informer.window import SendingWindow
from tests.campaign_support import (
    SCENARIO,
    add_customers,
    add_manager,
    tick_and_deliver,
    write_list,
)
from tests.conftest import settings_env


@pytest.fixture
def cli(settings, monkeypatch):
    for name, value in settings_env(settings).items():
        if name.startswith("MAILROBOT_"):
            monkeypatch.setenv(name, value)
    return lambda *args: CliRunner().invoke(app, [str(a) for a in args])


def test_life_cycle_from_the_command_line(robot, cli, clock, sink, tmp_path):
    add_customers(robot, 3)
    add_manager(robot)
    add_manager(robot, "ivanova", role="specialist")
    # The CLI runs on the real clock: a window from now on.
    now = datetime.now(UTC).astimezone(robot.settings.tz)
    scenario = tmp_path / "debt.yaml"
    scenario.write_text(SCENARIO.format(start=f"{now:%Y-%m-%d %H:%M}", end=f"{now + timedelta(days=60):%Y-%m-%d} 17:00",
                                        recipients="units: [omsk-1]"), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(scenario.read_text().replace("units: [omsk-1]", "units: [atlantis]"), encoding="utf-8")
    result = cli("campaigns", "create", bad)
    assert result.exit_code == 2 and "bad.yaml:7:11:" in result.output and "atlantis" in result.output

    result = cli("campaigns", "create", scenario, "--by", "ivanova")
    assert result.exit_code == 0, result.output
    campaign_id = int(result.output)
    result = cli("campaigns", "approve", campaign_id, "--manager", "boss")
    assert result.exit_code == 1 and "Потребитель" not in result.output and "amount" in result.output

    debts = write_list(tmp_path, [("1100000001", "1500"), ("1100000002", "20,5"), ("1100000003", "7"),
                                  ("7777777777", "1")])
    result = cli("campaigns", "recipients", campaign_id, debts)
    assert result.exit_code == 1
    assert "строка 5, account_number: лицевого счёта 7777777777 нет среди потребителей с договором" in result.output

    result = cli("campaigns", "approve", campaign_id, "--manager", "ivanova")
    assert result.exit_code == 1 and "только действующий руководитель" in result.output
    assert cli("campaigns", "start", campaign_id).exit_code == 1
    assert cli("campaigns", "approve", campaign_id, "--manager", "boss").exit_code == 0
    assert cli("campaigns", "start", campaign_id).exit_code == 0

    # The robot's tick (by its test clock, in the sending hours) sends the first messages.
    clock.moment = SendingWindow(robot.calendar).next_allowed(now)
    tick_and_deliver(robot)
    assert len(sink.received) == 3

    paid = tmp_path / "paid.csv"
    paid.write_text("Лицевой счёт\n1100000001\n", encoding="utf-8")
    result = cli("campaigns", "paid", campaign_id, paid)
    assert result.exit_code == 0 and "отмечено оплатившими 1" in result.output
    assert cli("campaigns", "mark", campaign_id, "1100000002").exit_code == 0

    status = json.loads(cli("campaigns", "status", campaign_id, "--json").output)
    assert {k: status[k] for k in ("recipients", "pending", "positive", "paid", "marked", "sends", "sent")} == {
        "recipients": 3, "pending": 1, "positive": 2, "paid": 1, "marked": 1, "sends": 3, "sent": 3}
    assert status["next_resend"] is not None
    shown = cli("campaigns", "status", campaign_id)
    assert shown.exit_code == 0 and "ждут подтверждения: 1" in shown.output and "Охвачено" in shown.output

    assert cli("campaigns", "report", campaign_id, tmp_path / "report.xlsx").exit_code == 0
    assert cli("campaigns", "report", campaign_id, tmp_path / "report.csv").exit_code == 0
    sheet = load_workbook(tmp_path / "report.xlsx").active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Лицевой счёт", "Потребитель", "E-mail", "Состояние")
    assert [(r[0], r[3], r[4], r[5]) for r in rows[1:]] == [
        ("1100000001", "получено", "оплатил", 1), ("1100000002", "получено", "отмечен вручную", 1),
        ("1100000003", "ждёт подтверждения", None, 1)]
    assert rows[3][9].endswith("отправлено")
    text = (tmp_path / "report.csv").read_bytes().decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text), delimiter=";"))[3][0] == "1100000003"

    assert cli("campaigns", "stop", campaign_id).exit_code == 0
    listed = json.loads(cli("campaigns", "list", "--json").output)
    assert [(c["id"], c["state"], c["approved_by"]) for c in listed] == [(campaign_id, "stopped", "boss")]
    due = json.loads(cli("campaigns", "surveys-due", "--json").output)
    assert [row["account_number"] for row in due] == ["1100000001", "1100000002", "1100000003"]
