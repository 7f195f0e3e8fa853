"""Phone campaigns without calls (issue 9): the scenario's channel, the approval's 60 s check with
the Russian reason, only contract numbers (R24), queued calls, a lost call settled once and called
again by the policy (R23), the outcome state machine, and the status page's call figures.
Real espeak-ng/sox and the real database; time from the clock seam."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from robot.informer import campaigns as life
from robot.informer.planner import tick
from robot.informer.progress import progress
from robot.informer.scenario import ScenarioError, load_scenario
from robot.informer.texts import env, refusal_text
from robot.informer.window import SendingWindow
from robot.phone.call import CallWatch, Outcome
from robot.phone.ctrl import Event
from robot.phone.dialler import Dialler, lines_from_settings, operator_uri, trunk
from robot.storage.models import CampaignAttempt, CampaignRecipient, Customer
from tests.campaign_support import add_manager
from tests.phone_support import add_phone_customers

SCENARIO = """\
name: Обзвон
kind: {kind}
channel: phone
window: {{start: 2026-01-12 08:00, end: 2026-03-01 17:00}}
body: "{body}"
"""


def customers(robot, phones: list[str | None]) -> None:
    add_phone_customers(robot, phones, accounts="66")


def campaign(robot, tmp_path, *, body: str = "Задолженность {{ amount | say_rub }}.", kind: str = "debt",
             amounts: dict[str, str] | None = None) -> int:
    path = tmp_path / "phone.yaml"
    path.write_text(SCENARIO.format(kind=kind, body=body), encoding="utf-8")
    now = robot.clock.now()
    with robot.unit_of_work() as session:
        made = life.create(session, load_scenario(path, robot.settings.tz), actor="specialist", now=now)
        rows = amounts or {c.account_number: "21" for c in session.scalars(select(Customer))}
        debts = tmp_path / "debts.csv"
        debts.write_text("Лицевой счёт;amount\n" + "".join(f"{a};{v}\n" for a, v in rows.items()), encoding="utf-8")
        life.import_recipients(session, made, debts, actor="specialist", now=now)
        return made.id


def approve_and_start(robot, campaign_id: int) -> None:
    add_manager(robot)
    window = SendingWindow(robot.calendar)
    now = robot.clock.now()
    with robot.unit_of_work() as session:
        found = life.get(session, campaign_id)
        life.approve(session, found, manager="boss", now=now, window=window, rate_per_s=20)
        life.start(session, found, actor="specialist", now=now, window=window, rate_per_s=20)


def test_phone_scenario_speaks_numbers_and_needs_no_subject(robot, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(kind="debt", body="Долг {{ amount | say_rub }} до {{ due | say_date }}."),
                    encoding="utf-8")
    spec = load_scenario(path, robot.settings.tz)
    assert spec.channel == "phone" and spec.subject == ""
    # An e-mail scenario still needs its subject, and knows no spoken filters.
    path.write_text(SCENARIO.format(kind="debt", body="{{ amount | say_rub }}").replace("channel: phone\n", ""),
                    encoding="utf-8")
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path, robot.settings.tz)
    assert "needs a subject" in str(refused.value)
    path.write_text(path.read_text(encoding="utf-8") + 'subject: "Долг"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path, robot.settings.tz)
    assert "say_rub" in str(refused.value)


def test_only_contract_numbers_are_called(robot, tmp_path):
    customers(robot, ["8 (913) 000-00-01", None, "12345"])
    campaign_id = campaign(robot, tmp_path)
    with robot.sessions() as session:
        states = {r.customer_id: (r.state, r.reason) for r in session.scalars(select(CampaignRecipient))}
    assert sorted(states.values()) == [("excluded", "no_phone"), ("excluded", "no_phone"), ("pending", None)]
    approve_and_start(robot, campaign_id)
    assert tick(robot).planned == 1
    with robot.sessions() as session:
        (attempt,) = session.scalars(select(CampaignAttempt))
    assert (attempt.channel, attempt.address, attempt.result) == ("phone", "+79130000001", "queued")


def test_approval_refuses_a_message_over_a_minute_with_the_reason(robot, tmp_path):
    customers(robot, ["+79130000001", "+79130000002"])
    long_tail = " ".join(["Повторяем: оплатите задолженность в ближайшее время."] * 14)
    # Only the second recipient's amount makes the message long: the longest one is the one checked.
    campaign_id = campaign(robot, tmp_path, body="Задолженность {{ amount | say_rub }}. {{ tail }}",
                           amounts={"6600000001": "21", "6600000002": "1234567.89"})
    with robot.unit_of_work() as session:
        life.get(session, campaign_id).variables = {"tail": long_tail}
    add_manager(robot)
    with robot.unit_of_work() as session, pytest.raises(life.CampaignError) as refused:
        life.approve(session, life.get(session, campaign_id), manager="boss", now=robot.clock.now(),
                     window=SendingWindow(robot.calendar), rate_per_s=20)
    assert refused.value.code == "phone_message_too_long" and refused.value.params["seconds"] > 60
    text = refusal_text(robot, refused.value)
    assert "не более 60 с" in text and "сократите текст" in text
    with robot.sessions() as session:
        assert life.get(session, campaign_id).state == "draft"


def test_a_call_lost_mid_way_is_settled_once_and_called_again_in_1h30(robot, clock, tmp_path):
    customers(robot, ["+79130000001"])
    campaign_id = campaign(robot, tmp_path)
    approve_and_start(robot, campaign_id)
    assert tick(robot).planned == 1
    dialler = Dialler(robot, lines_from_settings(robot.settings))
    claimed = dialler._claim("line0")
    assert claimed is not None and dialler._claim("line1") is None  # one call, taken once
    started = clock.now()
    # The dialler dies here. Within the bound the call is left alone (it may still be going on) …
    clock.advance(timedelta(minutes=2))
    tick(robot)
    with robot.sessions() as session:
        assert session.get(CampaignAttempt, claimed.attempt_id).result == "calling"
    # … after it, the outcome is lost: interrupted, negative, the next call 1 h 30 min after this one.
    clock.advance(timedelta(minutes=3))
    tick(robot)
    with robot.sessions() as session:
        attempt = session.get(CampaignAttempt, claimed.attempt_id)
        recipient = session.get(CampaignRecipient, attempt.recipient_id)
        assert attempt.result == "interrupted"
        assert recipient.state == "pending" and recipient.next_due_at == started + timedelta(hours=1, minutes=30)
    # A dialler that comes back with the outcome after all does not store it twice.
    dialler._store(claimed.attempt_id, Outcome("answered", "end of file", "x", 3.0, ()))
    with robot.sessions() as session:
        assert session.get(CampaignAttempt, claimed.attempt_id).result == "interrupted"
    clock.moment = started + timedelta(hours=1, minutes=30)
    assert tick(robot).planned == 1
    with robot.sessions() as session:
        assert [a.result for a in session.scalars(select(CampaignAttempt).order_by(CampaignAttempt.seq))] == \
            ["interrupted", "queued"]


def test_max_attempts_and_a_positive_call_for_an_info_campaign(robot, clock, tmp_path):
    robot.settings.phone_max_attempts = 2
    customers(robot, ["+79130000001", "+79130000002"])
    campaign_id = campaign(robot, tmp_path, kind="info", body="Плановые работы.")
    approve_and_start(robot, campaign_id)
    dialler = Dialler(robot, lines_from_settings(robot.settings))
    for _ in range(2):
        assert tick(robot).planned >= 1
        first, second = dialler._claim("line0"), dialler._claim("line1")
        dialler._store(first.attempt_id, Outcome("no_answer", "ringing timeout", "a", 3.0, ()))
        if second is not None:
            dialler._store(second.attempt_id, Outcome("answered", "end of file", "b", 3.0, ()))
        clock.advance(timedelta(hours=1, minutes=30))
    with robot.sessions() as session:
        found = {r.customer_id: (r.state, r.reason, r.attempts) for r in session.scalars(select(CampaignRecipient))}
        report = progress(session, campaign_id)
    # An info campaign's need ends with the message heard; the other ran out of its 2 calls.
    assert sorted(found.values()) == [("ended", "max_attempts", 2), ("positive", "call_answered", 1)]
    assert report.calls == {"no_answer": 2, "answered": 1}
    assert tick(robot).planned == 0
    with robot.sessions() as session:
        text = env(robot).get_template("informer/status.txt.j2").render(
            c=life.get(session, campaign_id), p=progress(session, campaign_id))
    assert "Прослушали до конца: 1" in text and "не ответили: 2" in text


@pytest.mark.parametrize(("events", "result"), [
    ([("CALL_RINGING", ""), ("CALL_ESTABLISHED", ""), ("AUDIO_ERROR", "0,end of file"),
      ("CALL_CLOSED", "end of file")], "answered"),
    ([("CALL_RINGING", ""), ("CALL_CLOSED", "486 Rejected")], "busy"),
    ([("CALL_RINGING", ""), ("CALL_CLOSED", "603 Decline")], "busy"),
    ([("CALL_RINGING", ""), ("CALL_ESTABLISHED", ""), ("CALL_CLOSED", "Connection reset by peer")], "hung_up"),
    ([("CALL_CLOSED", "Connection timed out")], "unreachable"),
    ([("CALL_RINGING", ""), ("CALL_CLOSED", "480 Temporarily Unavailable")], "no_answer"),
    ([("CALL_RINGING", ""), ("CALL_ESTABLISHED", ""), ("CALL_DTMF_START", "0"),
      ("CALL_CLOSED", "Call transfered")], "operator"),
    # Another key is no request for the operator; the call goes on to its end.
    ([("CALL_ESTABLISHED", ""), ("CALL_DTMF_START", "5"), ("CALL_CLOSED", "end of file")], "answered"),
])
def test_outcome_from_events(events, result):
    watch = CallWatch(operator_key="0")
    actions = [watch.feed(Event(kind, "c1", param)) for kind, param in events]
    assert watch.result == result
    assert ("transfer" in actions) == (result == "operator")
    # Events of another call (a late one of the line's previous call) change nothing.
    assert CallWatch().feed(Event("CALL_CLOSED", "c2", "486")) is None


def test_timeouts_tell_no_answer_from_unreachable():
    ringing = CallWatch()
    ringing.feed(Event("CALL_RINGING", "c1"))
    silent = CallWatch()
    assert (ringing.timed_out(), silent.timed_out()) == ("no_answer", "unreachable")


def test_trunk_and_operator_from_settings(robot):
    robot.settings.phone_dial_uri = "sip:{digits}@pbx.example;user=phone"
    robot.settings.phone_operator = "8 (3812) 40-05-00"
    assert trunk(robot.settings)("+79130000001") == "sip:79130000001@pbx.example;user=phone"
    assert operator_uri(robot.settings) == "sip:73812400500@pbx.example;user=phone"
    robot.settings.phone_lines = 3
    lines = lines_from_settings(robot.settings)
    assert [(line.sip_port, line.ctrl_port) for line in lines] == [(5060, 4444), (5062, 4445), (5064, 4446)]
    assert lines[2].account.startswith("<sip:robot@127.0.0.1:5064>")


def test_the_dialler_waits_for_a_missing_line_and_stops_cleanly(robot):
    robot.settings.phone_ctrl_port = 1  # nothing listens: the line is retried, not given up
    dialler = Dialler(robot, lines_from_settings(robot.settings)[:1])

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(dialler.run(stop))
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.wait_for(task, 5)

    # A thread of its own: a browser test's Playwright may keep an event loop running in this one.
    with ThreadPoolExecutor(1) as apart:
        apart.submit(asyncio.run, run()).result()
    assert dialler.done.outcomes == {}


def test_live_campaign_page_shows_calls_in_progress_and_outcomes(robot, desk_as, tmp_path):
    customers(robot, ["+79130000001", "+79130000002", "+79130000003"])
    campaign_id = campaign(robot, tmp_path)
    approve_and_start(robot, campaign_id)
    assert tick(robot).planned == 3
    dialler = Dialler(robot, lines_from_settings(robot.settings))
    answered, busy = dialler._claim("line0"), dialler._claim("line1")
    dialler._store(answered.attempt_id, Outcome("answered", "end of file", "a", 3.0, ()))
    dialler._store(busy.attempt_id, Outcome("busy", "486 Rejected", "b", 0.1, ()))
    assert dialler._claim("line0") is not None  # the third call is going on now
    manager = desk_as("omsk-1-head")
    page = manager.page(f"/desk/campaigns/{campaign_id}")
    assert page.status_code == 200 and "звонков идёт сейчас" in page.text and "Тема:" not in page.text
    live = manager.page(f"/desk/campaigns/{campaign_id}/progress.json").json()
    assert {k: live[k] for k in ("calls_calling", "calls_queued", "calls_answered", "calls_busy", "calls_no_answer")} \
        == {"calls_calling": 1, "calls_queued": 0, "calls_answered": 1, "calls_busy": 1, "calls_no_answer": 0}


def test_stopping_a_campaign_cancels_its_queued_calls_not_the_one_going_on(robot, clock, tmp_path):
    customers(robot, ["+79130000001", "+79130000002"])
    campaign_id = campaign(robot, tmp_path)
    approve_and_start(robot, campaign_id)
    assert tick(robot).planned == 2
    dialler = Dialler(robot, lines_from_settings(robot.settings))
    going_on = dialler._claim("line0")
    with robot.unit_of_work() as session:
        life.stop(session, life.get(session, campaign_id), actor="boss", now=clock.now())
    assert dialler._claim("line1") is None
    dialler._store(going_on.attempt_id, Outcome("answered", "end of file", "a", 3.0, ()))
    with robot.sessions() as session:
        results = sorted(a.result for a in session.scalars(select(CampaignAttempt)))
        states = sorted(r.state for r in session.scalars(select(CampaignRecipient)))
    assert results == ["answered", "cancelled"] and states == ["ended", "ended"]
