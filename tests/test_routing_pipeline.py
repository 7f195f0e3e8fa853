"""Routing in the running system (R10, R12): the reply a rule chooses, asking the customer for what
is missing, earlier appeals as evidence, `routes explain --appeal`, and hot reload in a worker process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from robot.cli.main import app
from robot.routing import load_rules
from robot.storage.models import Appeal, Event, OutboundMail
from tests.conftest import customer_mail, run_jobs, send, settings_env
from tests.test_routing import SMALL, _line_of

ASKING = textwrap.dedent("""\
    required:
      application: [account, address]
    """) + SMALL.replace("rules:\n", textwrap.dedent("""\
    rules:
      - name: ask for what is missing
        when: {kind: [application, complaint], data_complete: false}
        then: {queue: routing, ask_customer: true}
      - name: outages are urgent
        when: {text_matches: нет света}
        then: {priority: urgent}
        continue: true
    """))


def _write(path: Path, text: str, stamp: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(stamp, stamp))  # a change the router sees even within one clock tick


@pytest.fixture
def rules_path(robot, tmp_path) -> Path:
    path = tmp_path / "routing_rules.yaml"
    _write(path, ASKING, 10**18)
    robot.settings.routing_rules = path
    return path


def _appeals(robot) -> list[Appeal]:
    with robot.sessions() as session:
        return list(session.scalars(select(Appeal).order_by(Appeal.id)))


def test_application_without_account_and_address_asks_the_customer(robot, gateway, sink, rules_path):
    """R10: the robot asks for the missing data in Russian, once, and the appeal waits for the customer."""
    send(gateway, customer_mail(subject="Договор", body="Прошу заключить договор энергоснабжения на дом. Иванов Пётр"))
    run_jobs(robot)
    [appeal] = _appeals(robot)
    assert (appeal.kind, appeal.status, appeal.queue) == ("application", "awaiting_customer", "routing")
    assert appeal.missing_fields == ["account", "address"]
    [mail] = sink.wait_for(1)
    assert mail["Subject"] == f"Обращение № {appeal.number}: просим дополнить данные — Договор"
    body = mail.get_body(("plain",)).get_content()
    assert "— номер лицевого счёта;" in body
    assert "— адрес объекта (населённый пункт, улица, дом, квартира или участок);" in body
    assert "Срок ответа: до 15 января 2026 г." in body
    assert mail["In-Reply-To"] == "<customer-1@example.ru>"
    with robot.sessions() as session:
        # One automatic reply per message: the request took the acknowledgement's place.
        assert session.scalars(select(OutboundMail.purpose)).all() == ["ask_missing"]
        routed = session.scalars(select(Event).where(Event.action == "routed")).one()
    assert routed.detail["missing"] == ["account", "address"]
    assert routed.detail["reply"] == "ask_missing"
    assert appeal.routing["trace"][0]["actions"] == ["queue routing", "ask the customer for: account, address"]


def test_the_customers_answer_with_the_missing_data_routes_the_appeal_by_territory(robot, gateway, sink, rules_path):
    """R10: the customer answers the request for missing data; the answer joins the same appeal, which
    is then routed again on all the customer wrote — here, complete, to its unit's queue."""
    by_unit = ASKING.replace("  - name: doubtful kind\n", "  - name: complete applications by territory\n"
                                                           "    when: {kind: application, territory_known: true}\n"
                                                           "    then: {queue_of_unit: true}\n"
                                                           "  - name: doubtful kind\n", 1)
    assert by_unit != ASKING
    _write(rules_path, by_unit, 10**18 + 1)
    send(gateway, customer_mail(subject="Договор", body="Прошу заключить договор энергоснабжения на дом. Иванов Пётр"))
    run_jobs(robot)
    [ask] = sink.wait_for(1)
    [appeal] = _appeals(robot)
    assert (appeal.status, appeal.queue, appeal.missing_fields, appeal.unit) == (
        "awaiting_customer", "routing", ["account", "address"], None)

    # The first answer gives the address only: the robot does not ask again; the specialist sees what is left.
    answer = customer_mail(subject=f"Re: {ask['Subject']}", body="Адрес: ул. Ленина, 5. Иванов Пётр",
                           message_id="<customer-2@example.ru>",
                           extra={"In-Reply-To": ask["Message-ID"], "References": ask["Message-ID"]})
    send(gateway, answer)
    run_jobs(robot)
    [appeal] = _appeals(robot)
    assert (appeal.status, appeal.queue, appeal.missing_fields) == ("in_work", "routing", ["account"])
    assert appeal.unit == "Омский городской РЭС-1"  # the address told the territory

    with robot.sessions() as session:
        session.get(Appeal, appeal.id).status = "awaiting_customer"  # the specialist asked again by hand
        session.commit()
    answer = customer_mail(subject=f"Re: {ask['Subject']}", body="Лицевой счёт 1112345678",
                           message_id="<customer-3@example.ru>",
                           extra={"In-Reply-To": ask["Message-ID"], "References": ask["Message-ID"]})
    send(gateway, answer)
    run_jobs(robot)
    [appeal] = _appeals(robot)
    assert (appeal.status, appeal.queue, appeal.missing_fields) == ("in_work", "omsk-1", [])
    assert appeal.routing["trace"][-1]["rule"] == "questions by territory"
    assert [hit["rule"] for hit in appeal.routing["trace"] if hit["verdict"] == "hit"] == [
        "complete applications by territory"]
    with robot.sessions() as session:
        rerouted = session.scalars(select(Event).where(Event.action == "rerouted").order_by(Event.id)).all()
        purposes = session.scalars(select(OutboundMail.purpose).order_by(OutboundMail.id)).all()
    assert [(e.detail["queue"], e.detail["missing"]) for e in rerouted] == [("routing", ["account"]), ("omsk-1", [])]
    assert rerouted[1].detail["before"]["missing"] == ["account"]
    assert purposes.count("ask_missing") == 1  # asked once, by the robot


def test_complete_application_is_acknowledged_and_prioritised(robot, gateway, sink, rules_path):
    send(gateway, customer_mail(subject="Нет света", body="Нет света третий день, прошу подключить обратно. "
                                                          "ул. Ленина, 5, лицевой счёт 1112345678. Иванов"))
    run_jobs(robot)
    [appeal] = _appeals(robot)
    assert appeal.missing_fields == []
    assert appeal.priority == "urgent"
    assert appeal.status != "awaiting_customer"
    [mail] = sink.wait_for(1)
    assert mail["Subject"].startswith(f"Обращение № {appeal.number} зарегистрировано")


def test_after_hours_reply_replaces_the_acknowledgement(robot, gateway, sink, clock):
    """The shipped rules: a message on Saturday evening (company time) gets the after-hours reply only."""
    clock.moment = clock.moment + timedelta(days=5, hours=10)  # Monday 10:00 → Saturday 20:00, Omsk
    send(gateway, customer_mail(subject="Часы приёма", body="Подскажите часы приёма в Исилькуле. Иванов Пётр"))
    run_jobs(robot)
    [appeal] = _appeals(robot)
    [mail] = sink.wait_for(1)
    assert "в нерабочее время" in mail["Subject"]
    assert "круглосуточную диспетчерскую службу" in mail.get_body(("plain",)).get_content()
    assert appeal.queue == "isilkul"
    hits = [step["rule"] for step in appeal.routing["trace"] if step["verdict"] == "hit"]
    assert hits == ["after hours", "questions by territory"]
    with robot.sessions() as session:
        assert session.scalars(select(OutboundMail.purpose)).all() == ["after_hours"]


def test_customers_earlier_appeal_is_evidence(robot, gateway, sink, rules_path):
    send(gateway, customer_mail(subject="Отключение", message_id="<a1@example.ru>",
                                body="Когда закончится плановое отключение на ул. Ленина, 12? Иванов Пётр"))
    run_jobs(robot)
    send(gateway, customer_mail(subject="Счётчик", message_id="<a2@example.ru>",
                                body="Подскажите, кто меняет счётчик в квартире? Иванов Пётр"))
    run_jobs(robot)
    first, second = _appeals(robot)
    assert second.queue == "omsk-1"
    territory = second.routing["territory"]
    assert (territory["source"], territory["confidence"]) == ("earlier", 0.4)
    assert territory["evidence"] == [(f"the customer's earlier appeal {first.number} was in "
                                     "Центральный административный округ → unit omsk-1")]


def test_explain_appeal_shows_the_record_and_whether_todays_rules_differ(robot, gateway, sink, rules_path,
                                                                         monkeypatch):
    """R12: "why did it go there?" of a registered appeal, and what today's rules would do instead."""
    send(gateway, customer_mail(subject="Отключение",
                                body="Когда закончится плановое отключение на ул. Ленина, 12? Иванов Пётр"))
    run_jobs(robot)
    [appeal] = _appeals(robot)
    for name, value in settings_env(robot.settings).items():
        if name.startswith("MAILROBOT_"):
            monkeypatch.setenv(name, value)
    recorded_version = load_rules(rules_path).version

    same = CliRunner().invoke(app, ["routes", "explain", "--appeal", appeal.number])
    assert same.exit_code == 0, same.output
    assert f"recorded decision (rules version {recorded_version}):" in same.output
    assert "evidence: street «улица Ленина» (written «ленина») → Центральный административный округ" in same.output
    assert "HIT   questions by territory → omsk-1" in same.output
    assert f"today's rules (version {recorded_version}) decide the same." in same.output

    _write(rules_path, ASKING.replace("then: {queue_of_unit: true}", "then: {queue: triage}"), 10**18 + 1)
    changed = CliRunner().invoke(app, ["routes", "explain", "--appeal", appeal.number])
    assert changed.exit_code == 0, changed.output
    assert "would decide differently:\n  queue: 'omsk-1' → 'triage'\n" in changed.output
    assert "HIT   questions by territory → triage" in changed.output

    missing = CliRunner().invoke(app, ["routes", "explain", "--appeal", "2026-999999"])
    assert missing.exit_code == 1


def _wait_for_appeals(robot, count: int, worker: subprocess.Popen, log: Path) -> list[Appeal]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        appeals = _appeals(robot)
        if len(appeals) >= count:
            return appeals
        assert worker.poll() is None, log.read_text(errors="replace")[-3000:]
        time.sleep(0.05)  # waiting for the worker's result, not for time to pass
    pytest.fail(f"the worker did not register appeal {count}:\n{log.read_text(errors='replace')[-3000:]}")


def test_hot_reload_in_a_running_worker(robot, gateway, sink, rules_path, tmp_path):
    """R12: a running `mailrobot worker` takes a valid change at once; a broken file is refused with its
    line, and the rules in force keep working."""
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen([sys.executable, "-m", "robot.cli.main", "worker", "--processes", "1"],
                                  env=settings_env(robot.settings), stdout=output, stderr=subprocess.STDOUT)
    try:
        question = "Когда закончится плановое отключение на ул. Ленина, {}? Иванов Пётр"
        send(gateway, customer_mail(subject="Отключение 1", message_id="<r1@example.ru>", body=question.format(1)))
        first = _wait_for_appeals(robot, 1, worker, log)[-1]
        assert first.queue == "omsk-1", (first.kind, first.status, first.routing)

        changed = ASKING.replace("then: {queue_of_unit: true}", "then: {queue: triage}")
        _write(rules_path, changed, 10**18 + 1)
        send(gateway, customer_mail(subject="Отключение 2", message_id="<r2@example.ru>", body=question.format(2)))
        second = _wait_for_appeals(robot, 2, worker, log)[-1]
        assert second.queue == "triage"
        assert second.routing["rules_version"] == load_rules(rules_path).version

        broken = changed.replace("then: {queue: triage}\n", "then: {queue: nowhere}\n")
        _write(rules_path, broken, 10**18 + 2)
        send(gateway, customer_mail(subject="Отключение 3", message_id="<r3@example.ru>", body=question.format(3)))
        third = _wait_for_appeals(robot, 3, worker, log)[-1]
        assert third.queue == "triage"  # the rules in force stay
        assert third.routing["rules_version"] == second.routing["rules_version"]
        written = log.read_text(errors="replace")
        line = _line_of(broken, "then: {queue: nowhere}")
        assert "refused; the rules in force" in written
        assert f"{rules_path}:{line}:" in written and "no queue 'nowhere'" in written
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
