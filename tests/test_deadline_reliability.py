"""A worker killed (`kill -9`) in the middle of an escalation → one e-mail to the supervisor, not two.

The worker is a real `mailrobot worker` process with the system clock; the appeal is made overdue
in real time, and the test's calendar makes today a working day of 24 hours, so the escalation
is sent at once whatever day and hour the test runs (R16 would otherwise hold it for 08:00).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from robot.reconcile import reconcile
from robot.storage.models import Appeal, DueAction, Event, OutboundMail
from tests.conftest import OMSK, kill_worker_mid_send, run_jobs
from tests.deadline_support import STAFF, add_staff, open_appeal


def test_worker_killed_mid_escalation_sends_one_email(robot, sink, clock, settings, tmp_path):
    """RELIABILITY, R13: the escalation is done once and its e-mail delivered once."""
    today = datetime.now(UTC).astimezone(OMSK).date()
    calendar = tmp_path / "calendar.yaml"
    calendar.write_text(f"working_days: [{today}]\nfull_days: [{today}]\n", encoding="utf-8")
    settings.calendar_file = calendar
    settings.workday_start = datetime.min.time()
    settings.workday_end = datetime.max.time().replace(microsecond=0)
    add_staff(robot)

    clock.moment = datetime.now(UTC) - timedelta(days=40)
    appeal_id = open_appeal(robot, kind="complaint", assignee="nobody-without-address")
    clock.moment = datetime.now(UTC)
    assert reconcile(robot).due == 1  # the overdue moment's job, queued for any worker

    kill_worker_mid_send(settings, sink, timeout=60)

    with robot.sessions() as session:
        escalate = session.scalars(select(DueAction).where(DueAction.appeal_id == appeal_id,
                                                           DueAction.action == "escalate")).one()
        mail = session.scalars(select(OutboundMail).where(OutboundMail.purpose == "escalation")).one()
        assert session.get(Appeal, appeal_id).escalated_at is not None
    assert escalate.state == "done"  # committed before the send began
    assert (mail.status, mail.attempts) == ("pending", 1)  # claimed by the dead worker

    # The lease runs out; the reconciler hands the mail to a live worker; the escalation is not redone.
    clock.moment = datetime.now(UTC) + timedelta(minutes=10)
    reconcile(robot)
    run_jobs(robot)
    reconcile(robot)
    run_jobs(robot)
    assert len(sink.wait_for(1)) == 1
    assert [m["To"].addresses[0].addr_spec for m in sink.messages()] == [STAFF["omsk-1-head"]]
    with robot.sessions() as session:
        assert session.scalars(select(OutboundMail.status).where(OutboundMail.purpose == "escalation")).all() == [
            "sent"]
        assert session.scalars(select(Event.action).where(Event.appeal_id == appeal_id)).all().count("escalated") == 1
