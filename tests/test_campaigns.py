"""The auto-informer (R21–R25): weekly resends until a positive result, inside the window only,
approved by a manager, and every send a row with its result. Time moves by the clock seam only."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from robot.informer import campaigns as life
from robot.informer.confirm import confirm
from robot.informer.planner import tick
from robot.informer.replies import match_reply
from robot.informer.scenario import ScenarioError, load_scenario, rub
from robot.informer.texts import refusal_text
from robot.mail.parse import parse
from robot.storage.models import Appeal, Campaign, CampaignAttempt, Event, OutboundMail
from tests.campaign_support import (
    add_customers,
    add_manager,
    approve,
    by_recipient,
    campaign,
    confirm_link,
    create,
    launch,
    recipients,
    run_until,
    scenario_file,
    start,
    tick_and_deliver,
    window,
    write_list,
)

OMSK = ZoneInfo("Asia/Omsk")
AMOUNTS = {"1100000001": "1234.56", "1100000002": "99,5"}


@pytest.fixture
def ready(robot):
    add_customers(robot, 2)
    add_manager(robot)
    return robot


def sent_moments(messages) -> list[datetime]:
    return sorted(parsedate_to_datetime(m["Date"]).astimezone(OMSK) for m in messages)


def test_never_confirming_customer_gets_one_message_a_week_inside_the_window(ready, clock, sink, tmp_path):
    """R23: resent every 7 days; R16: 08:00–17:00 Omsk, no Sundays, no holidays (23 Feb 2026)."""
    clock.moment = datetime(2026, 2, 15, 9, 0, tzinfo=OMSK)  # a Sunday: nothing goes out today
    launch(ready, tmp_path, start="2026-02-15 09:00", end="2026-03-20 17:00", amounts=AMOUNTS)
    run_until(ready, clock, datetime(2026, 3, 22, 0, 0, tzinfo=OMSK))
    got = by_recipient(sink)
    assert sorted(got) == ["c1@example.ru", "c2@example.ru"]
    moments = sent_moments(got["c1@example.ru"])
    # Monday 16 Feb (Sunday skipped); the next Monday is Defender of the Fatherland Day → Tuesday.
    assert [m.strftime("%a %d.%m %H:%M") for m in moments] == [
        "Mon 16.02 08:00", "Tue 24.02 08:00", "Tue 03.03 08:00", "Tue 10.03 08:00", "Tue 17.03 08:00"]
    for moment in sent_moments(sink.messages()):
        assert moment.weekday() != 6 and 8 <= moment.hour < 17
    # The campaign ended with its window; each send is an attempt row with its result.
    assert campaign(ready, 1).state == "finished"
    with ready.sessions() as session:
        results = session.execute(select(CampaignAttempt.result, func.count()).group_by(CampaignAttempt.result)).all()
    assert results == [("sent", 10)]


def test_message_is_russian_with_amount_date_and_a_confirmation_link(ready, clock, sink, tmp_path):
    launch(ready, tmp_path, amounts=AMOUNTS)
    tick_and_deliver(ready)
    message = by_recipient(sink)["c1@example.ru"][0]
    text = message.get_body(("plain",)).get_content()
    assert message["Subject"] == "Задолженность по лицевому счёту 1100000001"
    assert "Уважаемый(ая) Потребитель 1!" in text
    assert "На 10 января 2026 г. задолженность по договору составляет 1 234,56 руб." in text
    assert "/informer/confirm/" in text
    assert message["Auto-Submitted"] == "auto-generated"
    assert rub("1234567.5") == "1 234 567,50 руб." and rub(-3) == "-3,00 руб."


def test_a_customer_who_confirms_gets_no_more(ready, clock, sink, tmp_path):
    launch(ready, tmp_path, amounts=AMOUNTS)
    tick_and_deliver(ready)
    token = confirm_link(by_recipient(sink)["c2@example.ru"][0])
    with ready.unit_of_work() as session:
        assert confirm(session, ready.signing_key, token, clock.now()) is not None
        assert confirm(session, ready.signing_key, token[:-1] + "0", clock.now()) is None  # forged
    run_until(ready, clock, clock.now() + timedelta(days=21, hours=1))
    got = by_recipient(sink)
    assert len(got["c2@example.ru"]) == 1
    assert len(got["c1@example.ru"]) == 4  # days 0, 7, 14, 21
    assert recipients(ready, 1)["1100000002"].reason == "confirmed"


def test_no_sending_without_approval(ready, clock, sink, tmp_path):
    """R24: nothing leaves before a manager approves; not even a campaign forced to running."""
    campaign_id = create(ready, scenario_file(tmp_path))
    with pytest.raises(life.CampaignError) as refused:
        start(ready, campaign_id)
    assert refused.value.code == "not_approved"
    with ready.unit_of_work() as session:
        session.get(Campaign, campaign_id).state = "running"  # behind the life cycle's back
    assert tick(ready).planned == 0
    assert campaign(ready, campaign_id).state == "draft"
    assert sink.received == []


def test_only_an_active_manager_approves(ready, clock, tmp_path):
    campaign_id = create(ready, scenario_file(tmp_path))
    with ready.unit_of_work() as session:
        life.import_recipients(session, life.get(session, campaign_id), write_list(tmp_path, list(AMOUNTS.items())),
                               actor="specialist", now=clock.now())
    add_manager(ready, "spec", role="specialist")
    add_manager(ready, "old", active=False)
    for login in ("spec", "old", "nobody"):
        with pytest.raises(life.CampaignError) as refused:
            approve(ready, campaign_id, login)
        assert refused.value.code == "not_a_manager"
    approve(ready, campaign_id, "boss")
    assert (campaign(ready, campaign_id).state, campaign(ready, campaign_id).approved_by) == ("approved", "boss")


def test_change_after_approval_needs_a_new_approval(ready, clock, sink, tmp_path):
    campaign_id = launch(ready, tmp_path, amounts=AMOUNTS)
    # A new debt list while running: back to draft; nothing is sent until approved again.
    with ready.unit_of_work() as session:
        report = life.import_recipients(session, life.get(session, campaign_id),
                                        write_list(tmp_path, [("1100000001", "2000")], "new.csv"),
                                        actor="specialist", now=clock.now())
    assert report.updated == 1
    assert campaign(ready, campaign_id).state == "draft"
    assert tick(ready).planned == 0
    with pytest.raises(life.CampaignError):
        start(ready, campaign_id)
    # The same content again is no change; a changed subject is.
    spec = load_scenario(scenario_file(tmp_path), ready.settings.tz)
    approve(ready, campaign_id)
    with ready.unit_of_work() as session:
        assert not life.update_scenario(session, life.get(session, campaign_id), spec, actor="x", now=clock.now())
    changed = load_scenario(scenario_file(tmp_path, text=scenario_file(tmp_path).read_text().replace(
        "Задолженность по", "Долг по")), ready.settings.tz)
    with ready.unit_of_work() as session:
        assert life.update_scenario(session, life.get(session, campaign_id), changed, actor="x", now=clock.now())
    assert campaign(ready, campaign_id).state == "draft"
    approve(ready, campaign_id)
    start(ready, campaign_id)
    tick_and_deliver(ready)
    assert "2 000,00 руб." in by_recipient(sink)["c1@example.ru"][0].get_body(("plain",)).get_content()
    with ready.sessions() as session:
        actions = session.scalars(select(Event.action).where(Event.action.like("campaign_%"))).all()
    assert actions.count("campaign_approval_revoked") == 2


def test_only_customers_with_contracts_and_consented_email(robot, clock, sink, tmp_path):
    """R24: an account that is no customer is refused with its line; no consent → no e-mail."""
    add_customers(robot, 1)
    add_customers(robot, 1, consent=False, start=2)
    add_manager(robot)
    campaign_id = create(robot, scenario_file(tmp_path, recipients="all: false"))
    with robot.unit_of_work() as session:
        report = life.import_recipients(session, life.get(session, campaign_id), write_list(
            tmp_path, [("1100000001", "10"), ("1100000002", "20"), ("9999999999", "30")]),
            actor="specialist", now=clock.now())
    assert [(p.line, p.code, p.value) for p in report.problems] == [(4, "unknown_account", "9999999999")]
    assert (report.added, report.excluded) == (2, 1)
    approve(robot, campaign_id)
    start(robot, campaign_id)
    tick_and_deliver(robot)
    assert list(by_recipient(sink)) == ["c1@example.ru"]
    assert recipients(robot, campaign_id)["1100000002"].reason == "no_email"


def test_missing_variable_refuses_approval(ready, tmp_path):
    campaign_id = create(ready, scenario_file(tmp_path))  # `amount` comes from no list
    with pytest.raises(life.CampaignError) as refused:
        approve(ready, campaign_id)
    assert refused.value.code == "missing_variables" and refused.value.params["count"] == 2


def test_paid_list_and_manual_mark_stop_the_resends(ready, clock, sink, tmp_path):
    add_customers(ready, 1, start=3)
    campaign_id = launch(ready, tmp_path, amounts={**AMOUNTS, "1100000003": "5"})
    tick_and_deliver(ready)
    paid = tmp_path / "paid.csv"
    paid.write_text("Лицевой счёт;Сумма\n1100000001;1234.56\n5555555555;1\n", encoding="utf-8")
    with ready.unit_of_work() as session:
        report = life.import_paid(session, life.get(session, campaign_id), paid, actor="specialist", now=clock.now())
        marked, unknown = life.mark_accounts(session, life.get(session, campaign_id), ["1100000002"], via="marked",
                                             actor="specialist", now=clock.now())
    assert report.marked == 1 and [p.value for p in report.problems] == ["5555555555"]
    assert (marked, unknown) == (1, [])
    run_until(ready, clock, clock.now() + timedelta(days=8))
    got = by_recipient(sink)
    assert (len(got["c1@example.ru"]), len(got["c2@example.ru"]), len(got["c3@example.ru"])) == (1, 1, 2)


def test_a_reply_from_the_recipient_is_a_positive_result(ready, clock, sink, tmp_path):
    campaign_id = launch(ready, tmp_path, amounts=AMOUNTS)
    tick_and_deliver(ready)
    ours = by_recipient(sink)["c1@example.ru"][0]["Message-ID"]

    def reply(sender: str, extra: str = "") -> bytes:
        return (f"From: {sender}\r\nTo: robot@omskenergo.example\r\nSubject: Re: долг\r\nMessage-ID: <r{len(extra)}"
                f"@example.ru>\r\nIn-Reply-To: {ours}\r\n{extra}\r\nОплачу завтра.\r\n").encode()

    with ready.unit_of_work() as session:
        assert not match_reply(session, parse(reply("stranger@example.ru")), clock.now())
        assert not match_reply(session, parse(reply("c1@example.ru", "Auto-Submitted: auto-replied\r\n")), clock.now())
        assert match_reply(session, parse(reply("C1@Example.ru")), clock.now())
    assert recipients(ready, campaign_id)["1100000001"].reason == "replied"



def test_a_reply_through_the_gateway_is_positive_and_registered_unflagged(ready, clock, sink, gateway, tmp_path):
    """R23 + R1: the customer's reply to campaign mail, sent by mail, ends the resends; it is still
    registered (it may ask something), and it is no stranger's reply to be flagged."""
    from tests.conftest import run_jobs, send

    campaign_id = launch(ready, tmp_path, amounts=AMOUNTS)
    tick_and_deliver(ready)
    ours = by_recipient(sink)["c1@example.ru"][0]["Message-ID"]
    reply = (f"From: c1@example.ru\r\nTo: info@omskenergo.example\r\nSubject: Re: долг\r\n"
             f"Message-ID: <answer-1@example.ru>\r\nIn-Reply-To: {ours}\r\n\r\nОплачу завтра.\r\n").encode()
    send(gateway, reply, sender="c1@example.ru")
    run_jobs(ready)
    assert recipients(ready, campaign_id)["1100000001"].reason == "replied"
    with ready.sessions() as session:
        [appeal] = session.scalars(select(Appeal)).all()
        actions = set(session.scalars(select(Event.action).where(Event.appeal_id == appeal.id)))
    assert "unverified_reply" not in appeal.flags
    assert "campaign_reply" in actions and "reply_not_joined" not in actions


def test_refused_address_stops_the_retries_and_is_reported(ready, clock, sink, tmp_path):
    """A hard bounce (the relay's 550) ends the sends to that address."""
    campaign_id = launch(ready, tmp_path, amounts=AMOUNTS)
    sink.refuse_with = "550 5.1.1 no such mailbox"
    tick_and_deliver(ready)
    sink.refuse_with = None
    run_until(ready, clock, clock.now() + timedelta(days=15))
    assert sink.received == []
    states = {a: (r.state, r.reason) for a, r in recipients(ready, campaign_id).items()}
    assert states == {"1100000001": ("bounced", "hard_bounce"), "1100000002": ("bounced", "hard_bounce")}
    with ready.sessions() as session:
        assert set(session.scalars(select(CampaignAttempt.result))) == {"failed"}


def test_rate_limit_spreads_the_sends_and_keeps_inside_the_hours(robot, clock, tmp_path):
    robot.settings.informer_rate_per_s = 2
    add_customers(robot, 300)
    add_manager(robot)
    launch(robot, tmp_path, amounts={f"11{i:08d}": "1" for i in range(1, 301)})
    first = tick(robot)
    assert first.planned == 120  # 2 per second over the minute
    assert tick(robot).planned == 0  # the minute's budget is spent
    with robot.sessions() as session:
        moments = sorted(session.scalars(select(OutboundMail.next_attempt_at)))
    assert moments[0] == clock.now() and moments[-1] == clock.now() + timedelta(seconds=50)
    # Delivered meanwhile (a backlog of undelivered campaign mail would hold the planner back).
    with robot.unit_of_work() as session:
        session.execute(update(OutboundMail).values(status="sent"))
    # Thirty seconds before 17:00 only what the rate allows until then is planned.
    clock.moment = datetime(2026, 1, 12, 16, 59, 30, tzinfo=OMSK)
    assert tick(robot).planned == 60
    clock.moment = datetime(2026, 1, 12, 17, 0, tzinfo=OMSK)
    assert tick(robot).planned == 0


def test_planned_outage_window_that_cannot_meet_r21_is_refused(ready, clock, tmp_path):
    """R21: within 3 days of the decision and at least 24 h before the outage, else refused."""
    def outage(decided: str, begins: str, end: str = "2026-01-20 08:00") -> int:
        text = f"""\
name: Плановое отключение
kind: outage
window: {{start: 2026-01-12 08:00, end: {end}}}
recipients: {{units: [omsk-1]}}
subject: Плановое отключение электроэнергии
body: "{{{{ outage_start | ru_datetime }}}} – {{{{ outage_end | ru_time }}}} не будет электроэнергии."
outage: {{decided: {decided}, start: {begins}, end: 2026-01-21 17:00}}
"""
        return create(ready, scenario_file(tmp_path, text=text, name=f"{decided[:10]}-{begins[:10]}.yaml"))

    late = outage("2026-01-12 09:00", "2026-01-13 09:00", end="2026-01-13 08:00")  # 23 hours' notice
    stale = outage("2026-01-05 09:00", "2026-01-21 09:00")  # decided a week ago
    after = outage("2026-01-12 09:00", "2026-01-14 09:00", end="2026-01-16 17:00")
    good = outage("2026-01-12 09:00", "2026-01-21 09:00")
    codes = {}
    for campaign_id in (late, stale, after):
        with pytest.raises(life.CampaignError) as refused:
            approve(ready, campaign_id)
        codes[campaign_id] = refused.value.code
    assert codes == {late: "outage_too_late", stale: "outage_too_late", after: "outage_window_after_outage"}
    assert "не позднее чем за 24 часа" in refusal_text(ready, life.CampaignError(
        "outage_too_late", first=clock.now(), deadline=clock.now(), decided=clock.now(), outage=clock.now()))
    approve(ready, good)
    # Three days later the window can no longer meet the rule: starting is refused too.
    clock.advance(timedelta(days=3, hours=1))
    with pytest.raises(life.CampaignError) as refused:
        start(ready, good)
    assert refused.value.code == "outage_too_late"


def test_survey_cap_and_customers_due(ready, clock, sink, tmp_path):
    """R25: at most one passive survey per 3 months; customers due for their yearly one are listed."""
    text = """\
name: Опрос удовлетворённости
kind: survey
window: {start: 2026-01-12 08:00, end: 2026-06-30 17:00}
recipients: {all: true}
subject: Оцените нашу работу
body: "{{ name }}, оцените, пожалуйста, нашу работу."
"""
    first = create(ready, scenario_file(tmp_path, text=text.replace("2026-06-30", "2026-01-31")))
    approve(ready, first)
    start(ready, first)
    tick_and_deliver(ready)
    assert len(sink.received) == 2
    with ready.sessions() as session:
        assert life.surveys_due(session, clock.now()) == []
    clock.advance(timedelta(days=30))
    add_customers(ready, 1, start=3)
    second = create(ready, scenario_file(tmp_path, text=text.replace("2026-01-12 08:00", "2026-02-11 08:00"),
                                         name="second.yaml"))
    approve(ready, second)
    start(ready, second)
    tick_and_deliver(ready)
    assert [m["To"].addresses[0].addr_spec for m in sink.messages()[2:]] == ["c3@example.ru"]
    assert {a: r.reason for a, r in recipients(ready, second).items()} == {
        "1100000001": "survey_cap", "1100000002": "survey_cap", "1100000003": None}
    with ready.sessions() as session:
        due = life.surveys_due(session, clock.now() + timedelta(days=320))
    assert [c.account_number for c, _, _ in due] == ["1100000001", "1100000002"]


def test_scenario_errors_are_located(ready, tmp_path):
    bad = scenario_file(tmp_path, text="""\
name: Проверка
kind: debts
window:
  start: 2026-01-12 08:00
  end: вчера
subject: "{{ name"
body: текст
colour: red
""")
    with pytest.raises(ScenarioError) as error:
        load_scenario(bad, ready.settings.tz)
    lines = sorted((p.line, p.message.split(":")[0]) for p in error.value.problems)
    assert (2, "kind") in lines and (8, "unknown key 'colour'") in lines
    good_kind = bad.read_text().replace("debts", "debt").replace("colour: red\n", "")
    with pytest.raises(ScenarioError) as error:
        load_scenario(scenario_file(tmp_path, text=good_kind), ready.settings.tz)
    assert sorted((p.line, p.message.split(":")[0]) for p in error.value.problems) == [
        (5, "window.end"), (6, "subject")]


def test_two_ticks_at_once_plan_each_send_once(ready, clock, tmp_path):
    launch(ready, tmp_path, amounts=AMOUNTS)
    assert tick(ready).planned == 2
    assert tick(ready).planned == 0
    with ready.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboundMail)) == 2


def test_window_rules(ready):
    allowed = window(ready)
    assert allowed.allows(datetime(2026, 1, 17, 10, 0, tzinfo=OMSK))  # an ordinary Saturday (R16: no Sundays)
    assert not allowed.allows(datetime(2026, 1, 18, 10, 0, tzinfo=OMSK))  # Sunday
    assert not allowed.allows(datetime(2026, 1, 8, 10, 0, tzinfo=OMSK))  # New Year holidays
    assert not allowed.allows(datetime(2026, 1, 12, 7, 59, tzinfo=OMSK))
    assert not allowed.allows(datetime(2026, 1, 12, 17, 0, tzinfo=OMSK))
    assert allowed.next_allowed(datetime(2026, 1, 3, 12, 0, tzinfo=OMSK)) == datetime(2026, 1, 10, 8, 0, tzinfo=OMSK)
