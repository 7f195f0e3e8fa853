"""`mailrobot` commands for scripts and support (R19: one journal, readable from scripts)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from robot.cli.main import app
from tests.conftest import customer_mail, run_jobs, send, settings_env


@pytest.fixture
def cli(settings, monkeypatch):
    for name, value in settings_env(settings).items():
        if name.startswith("MAILROBOT_"):
            monkeypatch.setenv(name, value)

    def invoke(*args: str):
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def _register_one(robot, gateway) -> None:
    send(gateway, customer_mail())
    run_jobs(robot)


def test_appeals_list_and_show_as_json(robot, gateway, sink, cli):
    _register_one(robot, gateway)
    [row] = json.loads(cli("appeals", "list", "--json"))
    assert row["number"] == "2026-000001"
    assert row["kind"] == "complaint"
    assert row["due_at"] == "2026-01-30T17:00:00+06:00"
    assert row["customer"]["email"] == "ivanov@example.ru"
    assert json.loads(cli("appeals", "list", "--json", "--status", "closed")) == []

    shown = json.loads(cli("appeals", "show", "2026-000001", "--json"))
    assert [m["direction"] for m in shown["messages"]] == ["in", "out"]
    assert shown["messages"][1]["delivery"]["status"] == "sent"
    assert "2026-000001" in shown["messages"][1]["text"]
    assert [h["action"] for h in shown["history"]] == ["registered", "routed", "ack_queued", "mail_sent"]
    assert shown["classification"]["kind_scores"]["complaint"] > 0.5


def test_show_unknown_number_fails_clearly(robot, cli):
    result = CliRunner().invoke(app, ["appeals", "show", "2026-999999"])
    assert result.exit_code == 1
    assert "no appeal 2026-999999" in result.output


def test_outbox_holds_mail_when_no_relay_is_configured(robot, gateway, cli, monkeypatch):
    """A first run without a mail server still shows the whole flow: the ack lands in the outbox."""
    robot.settings.outbound_smtp_host = None
    monkeypatch.delenv("MAILROBOT_OUTBOUND_SMTP_HOST")
    _register_one(robot, gateway)
    [entry] = json.loads(cli("outbox", "--json"))
    assert entry["to"] == "Иванов Пётр <ivanov@example.ru>"
    assert "2026-000001" in entry["subject"]


def test_quarantine_list_and_retry(robot, gateway, sink, cli, monkeypatch):
    import robot.pipeline.process as process

    monkeypatch.setattr(process, "classify_batch", lambda items: 1 / 0)
    monkeypatch.setattr(process, "classify", lambda subject, text: 1 / 0)
    _register_one(robot, gateway)
    [entry] = json.loads(cli("quarantine", "list", "--json"))
    assert "ZeroDivisionError" in entry["error"]
    monkeypatch.undo()
    for name, value in settings_env(robot.settings).items():
        if name.startswith("MAILROBOT_"):
            monkeypatch.setenv(name, value)
    assert "queued for processing" in cli("quarantine", "retry", str(entry["id"]))
    run_jobs(robot)
    assert len(sink.wait_for(1)) == 1
    assert json.loads(cli("quarantine", "list", "--json")) == []


def test_appeals_correct_command(robot, gateway, sink, cli):
    _register_one(robot, gateway)
    assert "kind complaint → application" in cli("appeals", "correct", "2026-000001", "--by", "petrova",
                                                 "--kind", "application")
    assert json.loads(cli("appeals", "show", "2026-000001", "--json"))["kind"] == "application"
    result = CliRunner().invoke(app, ["appeals", "correct", "2026-000001", "--by", "x", "--scope", "maybe"])
    assert result.exit_code != 0
    assert "scope must be one of" in result.output
