"""Due actions against real parts: the database (SQLite and PostgreSQL), Redis, RQ jobs run in
process with the scheduler, and an SMTP sink as the relay. Time moves only by the FrozenClock.

R13–R16: reminders a working day before, escalation at the due moment, the R15 notice at the end
of a question's first working day, one extension with the customer told, staff mail in working
hours only, recomputed deadlines after a calendar change, nothing lost when Redis is emptied.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from robot.app import Robot
from robot.clock import FrozenClock
from robot.deadlines.plan import ESCALATE, NOTIFY_CUSTOMER, REMIND
from robot.deadlines.recompute import recompute
from robot.deadlines.schedule import FIRE_DUE, due_job_id
from robot.deadlines.service import (
    DeadlineError,
    close_blocker,
    deadline_state,
    extend,
    mark_answered,
)
from robot.reconcile import reconcile
from robot.storage.models import Appeal, DueAction, Event, OutboundMail
from tests.conftest import OMSK, Sink, customer_mail, run_jobs, send
from tests.deadline_support import CUSTOMER, STAFF, add_staff, at, open_appeal


@pytest.fixture
def staff(robot: Robot) -> None:
    add_staff(robot)


def appeal(robot: Robot, appeal_id: int) -> Appeal:
    with robot.sessions() as session:
        return session.get(Appeal, appeal_id)


def rows(robot: Robot, appeal_id: int, state: str = "pending") -> dict[str, datetime]:
    with robot.sessions() as session:
        return {row.action: row.due_at.astimezone(OMSK) for row in session.scalars(
            select(DueAction).where(DueAction.appeal_id == appeal_id, DueAction.state == state))}


def events(robot: Robot, appeal_id: int) -> list[str]:
    with robot.sessions() as session:
        return list(session.scalars(select(Event.action).where(Event.appeal_id == appeal_id).order_by(Event.id)))


def tick(robot: Robot, clock: FrozenClock, moment: datetime) -> None:
    """Time comes to ``moment``: the periodic reconciler runs, then the workers."""
    clock.moment = moment
    reconcile(robot)
    run_jobs(robot)


def mail_to(sink: Sink, address: str) -> list[EmailMessage]:
    return [m for m in sink.messages() if m["To"].addresses[0].addr_spec == address]


def test_registration_plans_the_deadline_and_its_due_actions(robot, gateway, sink, clock, staff):
    """R13/R15/R16 through the pipeline: a question on Monday 10:00 is due Thursday 17:00; the
    reminder is Wednesday 08:00, the customer's R15 notice Monday 17:00."""
    send(gateway, customer_mail(subject="Вопрос о тарифе", body="Подскажите, какой тариф действует для дома?"))
    run_jobs(robot)
    with robot.sessions() as session:
        registered = session.scalars(select(Appeal)).one()
    assert registered.due_at == at(2026, 1, 15, 17, 0)
    planned = rows(robot, registered.id)
    assert planned[ESCALATE] == at(2026, 1, 15, 17, 0)
    assert planned[REMIND] == at(2026, 1, 14, 8, 0)
    if registered.kind == "question":
        assert planned[NOTIFY_CUSTOMER] == at(2026, 1, 12, 17, 0)
    assert len(sink.wait_for(1)) == 1  # the acknowledgement, nothing else yet


@pytest.mark.parametrize(("received", "notice_at"), [((16, 59), at(2026, 1, 12, 17, 0)),
                                                     ((17, 1), at(2026, 1, 13, 17, 0))])
def test_question_unanswered_by_end_of_first_working_day_gets_one_notice(robot, sink, clock, staff, received,
                                                                          notice_at):
    """R15: a question not answered on its first working day → the customer is told when the answer
    comes, once. Received at 16:59 its first day is Monday; at 17:01, Tuesday."""
    clock.moment = at(2026, 1, 12, *received)
    appeal_id = open_appeal(robot)
    assert rows(robot, appeal_id)[NOTIFY_CUSTOMER] == notice_at
    tick(robot, clock, notice_at - timedelta(minutes=1))
    assert mail_to(sink, CUSTOMER) == []
    tick(robot, clock, notice_at)
    notices = mail_to(sink, CUSTOMER)
    assert len(notices) == 1
    assert "до 15 января 2026 г." in notices[0]["Subject"]
    assert notices[0]["Auto-Submitted"] == "auto-generated"
    tick(robot, clock, notice_at + timedelta(minutes=5))
    assert len(mail_to(sink, CUSTOMER)) == 1
    assert "notify_customer" not in rows(robot, appeal_id)


def test_answered_appeal_gets_no_notice_reminder_or_escalation(robot, sink, clock, staff):
    appeal_id = open_appeal(robot)
    clock.advance(timedelta(hours=2))
    with robot.unit_of_work() as session:
        mark_answered(session, session.get(Appeal, appeal_id), now=clock.now(), actor="petrova")
    for moment in (at(2026, 1, 12, 17, 0), at(2026, 1, 14, 8, 0), at(2026, 1, 15, 17, 0)):
        tick(robot, clock, moment)
    assert sink.messages() == []
    assert rows(robot, appeal_id) == {}
    assert set(rows(robot, appeal_id, "cancelled")) == {REMIND, ESCALATE, NOTIFY_CUSTOMER}
    assert "answered_in_time" in events(robot, appeal_id)
    assert close_blocker(appeal(robot, appeal_id), clock.now()) is None


def test_appeal_answered_on_the_desk_without_the_hook_still_stops_its_actions(robot, sink, clock, staff):
    """A job checks the appeal before acting: an answered or closed appeal is never escalated."""
    appeal_id = open_appeal(robot, kind="application")
    with robot.unit_of_work() as session:
        session.get(Appeal, appeal_id).status = "closed"
    tick(robot, clock, at(2026, 1, 15, 17, 0))
    assert sink.messages() == []
    assert appeal(robot, appeal_id).escalated_at is None


def test_reminder_a_working_day_before_goes_to_the_assignee(robot, sink, clock, staff):
    """A reminder at 08:00 of the working day before the due day, in Russian, to the assignee."""
    clock.moment = at(2026, 1, 16, 11, 0)  # Friday: due Wednesday 21st, reminded Tuesday 20th
    appeal_id = open_appeal(robot, kind="application", assignee="petrova")
    tick(robot, clock, at(2026, 1, 19, 8, 0))
    assert sink.messages() == []
    tick(robot, clock, at(2026, 1, 20, 8, 0))
    [reminder] = sink.wait_for(1)
    assert reminder["To"].addresses[0].addr_spec == STAFF["petrova"]
    assert reminder["Subject"] == f"Напоминание: срок ответа по обращению № {appeal(robot, appeal_id).number} " \
                                  "истекает 21 января 2026 г."
    assert "17:00 21 января 2026 г." in reminder.get_body(("plain",)).get_content()
    assert reminder["Auto-Submitted"] == "auto-generated"


def test_reminder_without_assignee_goes_to_the_queue_members(robot, sink, clock, staff):
    open_appeal(robot, kind="application")
    tick(robot, clock, at(2026, 1, 14, 8, 0))
    # omsk-1's member in routing_rules.yaml, and every active user who works in omsk-1.
    assert sorted(m["To"].addresses[0].addr_spec for m in sink.wait_for(2)) == [STAFF["petrova"],
                                                                               STAFF["omsk-1-specialists"]]


def test_escalation_at_the_due_moment_marks_overdue_and_requires_a_reason_for_delay(robot, sink, clock, staff):
    """At the due moment the queue's supervisor is told, the appeal is escalated for the desk, and
    it cannot be closed without the reason for delay."""
    appeal_id = open_appeal(robot, kind="application", assignee="nobody-without-address")
    due = at(2026, 1, 15, 17, 0)
    tick(robot, clock, due - timedelta(seconds=1))
    assert appeal(robot, appeal_id).escalated_at is None
    assert close_blocker(appeal(robot, appeal_id), clock.now()) is None
    tick(robot, clock, due)
    [escalation] = sink.wait_for(1)
    assert escalation["To"].addresses[0].addr_spec == STAFF["omsk-1-head"]
    assert escalation["Subject"].startswith("Просрочено обращение №")
    escalated = appeal(robot, appeal_id)
    assert (escalated.escalated_at, escalated.escalated_to) == (due, "omsk-1-head")
    assert deadline_state(escalated, clock.now(), OMSK) == "overdue"
    assert close_blocker(escalated, clock.now()) == "delay_reason_required"
    escalated.delay_reason = "Ждали выезда бригады"
    assert close_blocker(escalated, clock.now()) is None
    # The reminder found no address for its login: recorded, nothing sent.
    assert "notify_unresolved" in events(robot, appeal_id)
    tick(robot, clock, due + timedelta(hours=1))
    assert len(sink.messages()) == 1


def test_escalation_after_hours_waits_for_the_next_working_morning(robot, sink, clock, staff):
    """R16: the reconciler was down over the deadline; at Friday 22:00 the appeal is escalated for
    the desk at once, and the supervisor's e-mail waits for Monday 08:00."""
    appeal_id = open_appeal(robot, kind="application", assignee="nobody-without-address")
    tick(robot, clock, at(2026, 1, 16, 22, 0))
    assert appeal(robot, appeal_id).escalated_at == at(2026, 1, 16, 22, 0)
    assert sink.messages() == []
    with robot.sessions() as session:
        waiting = session.scalars(select(OutboundMail).where(OutboundMail.purpose == "escalation")).one()
    assert waiting.next_attempt_at == at(2026, 1, 19, 8, 0)
    for moment in (at(2026, 1, 17, 10, 0), at(2026, 1, 18, 23, 0), at(2026, 1, 19, 7, 59)):
        tick(robot, clock, moment)
        assert sink.messages() == []
    tick(robot, clock, at(2026, 1, 19, 8, 0))
    assert len(sink.wait_for(1)) == 1


def test_supervisor_without_an_address_is_recorded_and_the_appeal_still_escalated(robot, sink, clock):
    appeal_id = open_appeal(robot, kind="complaint")
    tick(robot, clock, appeal(robot, appeal_id).due_at)
    assert appeal(robot, appeal_id).escalated_at is not None
    assert "notify_unresolved" in events(robot, appeal_id)
    assert sink.messages() == []


def test_extension_once_with_reason_tells_the_customer_and_no_stale_escalation_fires(robot, sink, clock, staff):
    """An extension: once, with a reason, a new due date; the customer is told; the old due moment
    passes without an escalation (version check)."""
    appeal_id = open_appeal(robot, kind="application", assignee="petrova")
    clock.advance(timedelta(hours=3))
    with robot.unit_of_work() as session:
        new_due = extend(session, session.get(Appeal, appeal_id), reason="Нужен выезд на место",
                         actor="petrova", now=clock.now(), robot=robot)
    assert new_due == at(2026, 1, 20, 17, 0)  # 3 + 3 working days
    run_jobs(robot)
    [notice] = sink.wait_for(1)
    assert notice["To"].addresses[0].addr_spec == CUSTOMER
    assert "продлён до 20 января 2026 г." in notice["Subject"]
    assert "Нужен выезд на место" in notice.get_body(("plain",)).get_content()
    with robot.unit_of_work() as session, pytest.raises(DeadlineError) as again:
        extend(session, session.get(Appeal, appeal_id), reason="Ещё", actor="petrova", now=clock.now(), robot=robot)
    assert again.value.code == "already_extended"

    tick(robot, clock, at(2026, 1, 15, 17, 0))  # the old due moment
    assert appeal(robot, appeal_id).escalated_at is None
    assert {m["Subject"].split(":")[0] for m in sink.messages()} <= {notice["Subject"].split(":")[0], "Напоминание"}
    tick(robot, clock, at(2026, 1, 20, 17, 0))
    assert appeal(robot, appeal_id).escalated_at == at(2026, 1, 20, 17, 0)
    assert len(mail_to(sink, STAFF["omsk-1-head"])) == 1
    with robot.sessions() as session:
        superseded = session.scalars(select(DueAction).where(DueAction.appeal_id == appeal_id,
                                                             DueAction.state == "superseded")).all()
    assert {row.action for row in superseded} >= {ESCALATE, REMIND}


def test_a_due_date_moved_without_replanning_never_escalates_at_the_old_moment(robot, sink, clock, staff):
    """Code that sets ``due_at`` directly (a date chosen on the desk) gets a plan for the new date
    when the old rows come due: no stale escalation."""
    appeal_id = open_appeal(robot, kind="application", assignee="nobody-without-address")
    with robot.unit_of_work() as session:
        session.get(Appeal, appeal_id).due_at = at(2026, 1, 22, 17, 0)
    tick(robot, clock, at(2026, 1, 15, 17, 0))
    assert appeal(robot, appeal_id).escalated_at is None
    assert rows(robot, appeal_id)[ESCALATE] == at(2026, 1, 22, 17, 0)
    tick(robot, clock, at(2026, 1, 22, 17, 0))
    assert appeal(robot, appeal_id).escalated_at == at(2026, 1, 22, 17, 0)
    assert len(mail_to(sink, STAFF["omsk-1-head"])) == 1


@pytest.mark.parametrize(
    ("advance", "reason", "until", "code"),
    [
        (timedelta(days=4), "Причина", None, "overdue"),
        (timedelta(0), "   ", None, "empty_reason"),
        (timedelta(0), "Причина", datetime(2026, 1, 17).date(), "not_working_day"),
        (timedelta(0), "Причина", datetime(2026, 1, 14).date(), "not_later"),
        (timedelta(0), "Причина", datetime(2026, 1, 21).date(), "too_long"),
    ],
)
def test_extension_refused_with_a_clear_code(robot, clock, advance, reason, until, code):
    appeal_id = open_appeal(robot, kind="application")
    clock.advance(advance)
    with robot.unit_of_work() as session, pytest.raises(DeadlineError) as refused:
        extend(session, session.get(Appeal, appeal_id), reason=reason, actor="petrova", now=clock.now(), robot=robot,
               until=until)
    assert refused.value.code == code


def test_postal_letter_gets_ten_days_and_an_extension_of_ten_more(robot, clock, staff):
    """R14: 10 working days to answer a postal letter, at most 10 more on extension."""
    appeal_id = open_appeal(robot, kind="complaint", channel="post", email=None)
    assert appeal(robot, appeal_id).due_at == at(2026, 1, 26, 17, 0)
    with robot.unit_of_work() as session:
        new_due = extend(session, session.get(Appeal, appeal_id), reason="Запрос в архив", actor="petrova",
                         now=clock.now(), robot=robot)
    assert new_due == at(2026, 2, 9, 17, 0)
    assert "no_reply" in events(robot, appeal_id)  # nobody to tell by e-mail: recorded


def write_calendar(robot: Robot, path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = (os.stat(path).st_mtime_ns // 1_000_000_000 + 10) * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))
    robot.calendars.reload()


@pytest.fixture
def calendar_file(settings, tmp_path) -> Path:
    path = tmp_path / "calendar.yaml"
    path.write_text("days_off: []\n", encoding="utf-8")
    settings.calendar_file = path
    return path


def test_calendar_change_moves_open_deadlines_and_the_old_escalation_never_fires(robot, sink, clock, staff,
                                                                                  calendar_file):
    """R16: a day off added to calendar.yaml moves open deadlines; nothing fires at the old moment."""
    first = open_appeal(robot, kind="application")
    second = open_appeal(robot, kind="complaint")
    answered = open_appeal(robot, kind="application")
    with robot.unit_of_work() as session:
        mark_answered(session, session.get(Appeal, answered), now=clock.now())
    write_calendar(robot, calendar_file, "days_off: [2026-01-14]\n")
    done = recompute(robot)
    assert (done.checked, done.moved) == (2, 2)
    assert appeal(robot, first).due_at == at(2026, 1, 16, 17, 0)
    assert appeal(robot, second).due_at == at(2026, 2, 2, 17, 0)
    assert appeal(robot, answered).due_at == at(2026, 1, 15, 17, 0)
    assert rows(robot, first)[REMIND] == at(2026, 1, 15, 8, 0)  # the working day before, skipping the 14th
    tick(robot, clock, at(2026, 1, 15, 17, 0))  # the old due moment
    assert appeal(robot, first).escalated_at is None
    assert mail_to(sink, STAFF["omsk-1-head"]) == []
    tick(robot, clock, at(2026, 1, 16, 17, 0))
    assert appeal(robot, first).escalated_at is not None
    assert len(mail_to(sink, STAFF["omsk-1-head"])) == 1
    assert recompute(robot).moved == 0  # nothing more to move


def test_reconciler_recomputes_by_itself_when_the_calendar_changes(robot, clock, calendar_file):
    appeal_id = open_appeal(robot, kind="application")
    reconcile(robot)  # records the rules the deadlines were computed with
    write_calendar(robot, calendar_file, "limits:\n  application: 5\n")
    assert reconcile(robot).due >= 1
    run_jobs(robot)
    assert appeal(robot, appeal_id).due_at == at(2026, 1, 19, 17, 0)
    assert reconcile(robot).due == 0


def test_queue_calendar_counts_by_its_named_set(robot, clock, settings, calendar_file, tmp_path):
    """A queue takes a named calendar of calendar.yaml; its deadlines count by it."""
    rules = (Path(__file__).resolve().parent.parent / "routing_rules.yaml").read_text(encoding="utf-8")
    marker = "    supervisor: omsk-1-head\n"
    assert rules.count(marker) == 1
    routed = tmp_path / "routing_rules.yaml"
    routed.write_text(rules.replace(marker, marker + "    calendar: omsk-1-local\n"), encoding="utf-8")
    settings.routing_rules = routed
    write_calendar(robot, calendar_file, "calendars:\n  omsk-1-local:\n    days_off: [2026-01-13]\n")
    in_omsk_1 = open_appeal(robot, kind="question")
    elsewhere = open_appeal(robot, kind="question", queue="omsk-2")
    assert appeal(robot, in_omsk_1).due_at == at(2026, 1, 16, 17, 0)
    assert appeal(robot, elsewhere).due_at == at(2026, 1, 15, 17, 0)


def test_redis_flushed_the_reconciler_restores_every_pending_job(robot, sink, clock, staff, redis):
    """RELIABILITY: nothing due lives only in Redis — after a flush, each due moment is scheduled
    again before it comes, and every action fires exactly once."""
    clock.moment = at(2026, 1, 12, 16, 55)
    ids = [open_appeal(robot, kind="question", assignee="petrova") for _ in range(3)]
    scheduled = robot.dispatcher.queue.scheduled_job_registry
    assert scheduled.get_job_ids() == [due_job_id(at(2026, 1, 12, 17, 0))]  # the R15 notices, 5 minutes ahead
    moments = sorted({moment for appeal_id in ids for moment in rows(robot, appeal_id).values()})
    assert len(moments) == 3
    for moment in moments:
        clock.moment = moment - timedelta(minutes=5)
        redis.flushdb()
        assert reconcile(robot).due == 1
        job = robot.dispatcher.queue.fetch_job(due_job_id(moment))
        assert job is not None and job.func_name == FIRE_DUE
        tick(robot, clock, moment)
    assert len(mail_to(sink, CUSTOMER)) == 3  # R15 notices
    assert len(mail_to(sink, STAFF["petrova"])) == 3  # reminders
    assert len(mail_to(sink, STAFF["omsk-1-head"])) == 3  # escalations
    with robot.sessions() as session:
        assert set(session.scalars(select(DueAction.state))) == {"done"}


def test_a_due_job_run_twice_acts_once(robot, sink, clock, staff):
    appeal_id = open_appeal(robot, kind="application")
    clock.moment = appeal(robot, appeal_id).due_at
    for _ in range(2):
        robot.dispatcher.enqueue(FIRE_DUE, int(clock.now().timestamp()), job_id=f"twice-{_}")
        run_jobs(robot)
    assert len(mail_to(sink, STAFF["omsk-1-head"])) == 1
    assert events(robot, appeal_id).count("escalated") == 1


def test_correcting_the_kind_moves_the_deadline(robot, clock, staff):
    """A specialist's correction of the kind gives the kind's own limit, from the same registration."""
    from robot.pipeline.correct import correct

    appeal_id = open_appeal(robot, kind="question")
    correct(robot, appeal(robot, appeal_id).number, actor="petrova", kind="complaint")
    corrected = appeal(robot, appeal_id)
    assert corrected.due_at == at(2026, 1, 30, 17, 0)
    assert corrected.deadline_version == 1
    assert NOTIFY_CUSTOMER not in rows(robot, appeal_id)  # R15 is for questions


def test_an_action_that_keeps_failing_is_given_up_and_shown(robot, clock, staff, monkeypatch):
    """A broken action (here: its handler raises) is retried by the next passes, then marked
    failed with an event; it never blocks the other rows."""
    from robot.deadlines import actions

    def broken(*args):
        raise RuntimeError("template missing")

    monkeypatch.setitem(actions.HANDLERS, ESCALATE, broken)
    failing = open_appeal(robot, kind="application")
    fine = open_appeal(robot, kind="question")
    due = appeal(robot, failing).due_at
    for minute in range(actions.MAX_ATTEMPTS):
        tick(robot, clock, due + timedelta(minutes=minute))
    with robot.sessions() as session:
        row = session.scalars(select(DueAction).where(DueAction.appeal_id == failing,
                                                      DueAction.action == ESCALATE)).one()
    assert (row.state, row.attempts) == ("failed", actions.MAX_ATTEMPTS)
    assert "template missing" in row.last_error
    assert "due_action_failed" in events(robot, failing)
    assert rows(robot, fine) == {}  # nothing left pending; its reminder and R15 notice went through
    assert set(rows(robot, fine, "done")) == {REMIND, NOTIFY_CUSTOMER}
