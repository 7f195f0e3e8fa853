"""The auto-informer under faults (R23, RELIABILITY): a worker killed mid-send, an emptied Redis,
a bounce that comes back. No double send, no forgotten resend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from robot.informer.planner import tick
from robot.informer.window import SendingWindow
from robot.reconcile import reconcile
from robot.storage.models import BouncingAddress, CampaignAttempt, OutboundMail
from tests.campaign_support import (
    add_customers,
    add_manager,
    by_recipient,
    launch,
    recipients,
    run_until,
    tick_and_deliver,
)
from tests.conftest import kill_worker_mid_send, run_jobs, send
from tests.test_loops import _dsn

AMOUNTS = {"1100000001": "100", "1100000002": "200"}


def _counts(sink) -> dict[str, int]:
    return {address: len(messages) for address, messages in by_recipient(sink).items()}


def test_worker_killed_mid_send_sends_once_and_the_resend_still_comes(robot, clock, sink, settings, tmp_path):
    add_customers(robot, 2)
    add_manager(robot)
    launch(robot, tmp_path, amounts=AMOUNTS, end="2028-12-31 17:00")
    assert tick(robot).planned == 2
    kill_worker_mid_send(settings, sink, timeout=60)
    sink.hold = None
    assert sink.received == []
    # Ticks meanwhile plan nothing more for this week: the sends are rows already.
    assert tick(robot).planned == 0

    # The dead worker's claim runs out (it claimed by the real clock); the reconciler hands the
    # mail to a live worker: one message each.
    clock.moment = datetime.now(UTC) + timedelta(minutes=10)
    assert reconcile(robot).deliver == 2
    run_jobs(robot)
    assert _counts(sink) == {"c1@example.ru": 1, "c2@example.ru": 1}

    # A week on (inside the sending hours), the resend comes — once.
    clock.moment = SendingWindow(robot.calendar).next_allowed(clock.now() + timedelta(days=7))
    tick_and_deliver(robot)
    tick_and_deliver(robot)
    assert _counts(sink) == {"c1@example.ru": 2, "c2@example.ru": 2}


def test_redis_flushed_mid_campaign_loses_no_send_and_no_resend(robot, clock, sink, redis, tmp_path):
    add_customers(robot, 2)
    add_manager(robot)
    launch(robot, tmp_path, amounts=AMOUNTS)
    assert tick(robot).jobs == 1
    redis.flushdb()  # the delivery job is gone
    run_jobs(robot)
    assert sink.received == []
    clock.advance(timedelta(minutes=1))
    reconcile(robot)  # re-enqueues the due mail, and a tick for the running campaign
    run_jobs(robot)
    assert _counts(sink) == {"c1@example.ru": 1, "c2@example.ru": 1}

    # A week on Redis is empty again: the due resend lives in the database, the reconciler's tick plans it.
    clock.advance(timedelta(days=7))
    redis.flushdb()
    reconcile(robot)
    run_jobs(robot)
    reconcile(robot)
    run_jobs(robot)
    assert _counts(sink) == {"c1@example.ru": 2, "c2@example.ru": 2}
    with robot.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CampaignAttempt)) == 4


def test_bounce_of_campaign_mail_stops_its_resends_and_is_reported(robot, gateway, clock, sink, tmp_path):
    """A DSN quoting our campaign mail (recorded by the pipeline's bounce handling) ends that address's sends."""
    add_customers(robot, 2)
    add_manager(robot)
    campaign_id = launch(robot, tmp_path, amounts=AMOUNTS)
    tick_and_deliver(robot)
    first = by_recipient(sink)["c1@example.ru"][0]
    send(gateway, _dsn(first, "c1@example.ru"), sender="")
    run_jobs(robot)
    with robot.sessions() as session:
        assert [b.address for b in session.scalars(select(BouncingAddress))] == ["c1@example.ru"]
        assert session.scalar(select(OutboundMail.status).where(OutboundMail.rcpt_to == "c1@example.ru")) == "bounced"
    run_until(robot, clock, clock.now() + timedelta(days=7, hours=1))
    assert _counts(sink) == {"c1@example.ru": 1, "c2@example.ru": 2}
    tick(robot)  # copies the last delivery's outcome onto its attempt
    state = recipients(robot, campaign_id)["1100000001"]
    assert (state.state, state.reason) == ("bounced", "hard_bounce")
    with robot.sessions() as session:
        results = sorted(session.scalars(select(CampaignAttempt.result)))
    assert results == ["bounced", "sent", "sent"]
