"""Faults: a relay that is down, an empty Redis, killed workers, concurrent sessions (RELIABILITY)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from aiosmtpd.controller import Controller
from sqlalchemy import select

from robot.dispatch import Dispatcher
from robot.reconcile import reconcile
from robot.storage.models import Appeal, Event, OutboundMail, RawMessage
from tests.conftest import (
    Sink,
    customer_mail,
    free_port,
    kill_worker_mid_send,
    run_jobs,
    send,
    settings_env,
)


def _outbound(robot) -> OutboundMail:
    with robot.sessions() as session:
        return session.scalars(select(OutboundMail)).one()


def test_relay_down_for_an_hour_delays_the_ack_and_loses_nothing(robot, gateway, sink, clock, redis):
    """R1, RELIABILITY §3: retries with growing pauses, then exactly one acknowledgement."""
    relay_port = free_port()  # nothing listens there yet
    robot.settings.outbound_smtp_port = relay_port
    send(gateway, customer_mail())
    run_jobs(robot)
    mail = _outbound(robot)
    assert (mail.status, mail.attempts) == ("pending", 1)
    assert mail.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert mail.last_error

    # The retry is scheduled in RQ (not run yet: its time has not come).
    scheduled = robot.dispatcher.queue.scheduled_job_registry.get_job_ids()
    assert scheduled == [f"deliver-{mail.id}-1"]

    # Each further failure waits longer.
    pauses = []
    for _ in range(4):
        clock.moment = _outbound(robot).next_attempt_at
        reconcile(robot)
        run_jobs(robot)
        pauses.append(_outbound(robot).next_attempt_at - clock.now())
    assert pauses == [timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240), timedelta(seconds=480)]

    # While the retry waits in RQ, the reconciler leaves it alone.
    assert reconcile(robot).deliver == 0
    # An hour later the relay is back — and Redis, restarted, is empty: the reconciler finds the
    # mail due in the database, and it goes out once.
    relay = Sink("127.0.0.1", relay_port)
    controller = Controller(relay, hostname=relay.host, port=relay.port, decode_data=False)
    controller.start()
    try:
        clock.advance(timedelta(hours=1))
        redis.flushdb()
        assert reconcile(robot).deliver == 1
        run_jobs(robot)
        assert len(relay.wait_for(1)) == 1
    finally:
        controller.stop()
    mail = _outbound(robot)
    assert (mail.status, mail.attempts) == ("sent", 6)
    assert reconcile(robot).deliver == 0


def test_relay_refusing_the_recipient_marks_the_mail_failed(robot, gateway, sink):
    sink.refuse_with = "550 5.1.1 No such user"
    send(gateway, customer_mail())
    run_jobs(robot)
    mail = _outbound(robot)
    assert mail.status == "failed"
    assert "550" in mail.last_error
    with robot.sessions() as session:
        assert "mail_failed" in session.scalars(select(Event.action)).all()


def test_redis_emptied_before_the_worker_ran_loses_nothing(robot, gateway, sink, clock, redis):
    """RELIABILITY §3: nothing due lives only in Redis."""
    send(gateway, customer_mail())
    redis.flushdb()
    run_jobs(robot)
    assert sink.received == []
    clock.advance(timedelta(minutes=1))  # past the grace an intake has to enqueue
    assert reconcile(robot).process == 1
    run_jobs(robot)
    assert len(sink.wait_for(1)) == 1


def test_redis_down_at_intake_still_accepts_the_message(robot, gateway, sink, clock, tmp_path):
    """The database is the system of record: a dead Redis does not make the gateway refuse mail."""
    live = robot.dispatcher
    robot.dispatcher = Dispatcher(f"unix://{tmp_path}/no-redis.sock", live.queue_name)
    send(gateway, customer_mail())
    with robot.sessions() as session:
        assert session.scalars(select(RawMessage.status)).one() == "received"
    robot.dispatcher = live
    clock.advance(timedelta(minutes=1))
    reconcile(robot)
    run_jobs(robot)
    assert len(sink.wait_for(1)) == 1


def test_reconciler_leaves_queued_jobs_alone(robot, gateway, clock):
    """A message whose job is still queued is not enqueued twice."""
    send(gateway, customer_mail())
    clock.advance(timedelta(minutes=1))
    assert reconcile(robot).process == 0
    assert robot.dispatcher.queue.count == 1


def test_worker_killed_mid_send_gives_exactly_one_ack(robot, gateway, sink, clock, settings):
    """RELIABILITY: `kill -9` of a worker mid-job, then recovery → exactly one acknowledgement."""
    send(gateway, customer_mail())
    kill_worker_mid_send(settings, sink, timeout=30)
    mail = _outbound(robot)
    assert (mail.status, mail.attempts) == ("pending", 1)  # claimed by the dead worker

    # Once the dead worker's lease has run out, the reconciler hands the mail to a live worker.
    clock.moment = datetime.now(timezone.utc) + timedelta(minutes=10)
    assert reconcile(robot).deliver == 1
    run_jobs(robot)
    assert len(sink.wait_for(1)) == 1
    assert _outbound(robot).status == "sent"
    with robot.sessions() as session:
        assert len(session.scalars(select(Appeal)).all()) == 1


def test_registration_numbers_unique_under_20_concurrent_sessions(robot, gateway, sink, settings):
    """R19: one journal; 20 SMTP sessions at once and two worker processes → 20 distinct numbers."""
    raws = [customer_mail(message_id=f"<c{i}@example.ru>", body=f"Нет света, дом {i}") for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(lambda raw: send(gateway, raw), raws))
    workers = [subprocess.Popen([sys.executable, "-m", "robot.cli.main", "worker", "--burst", "--processes", "1"],
                                env=settings_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
               for _ in range(2)]
    for worker in workers:
        _, stderr = worker.communicate(timeout=120)
        assert worker.returncode == 0, stderr.decode()[-2000:]
    with robot.sessions() as session:
        numbers = session.scalars(select(Appeal.number)).all()
    assert sorted(numbers) == [f"2026-{n:06d}" for n in range(1, 21)]
    assert len(sink.wait_for(20)) == 20


def test_scheduler_enqueues_the_reconciler_at_once_and_once_per_period(robot):
    """The reconciler runs at start-up and then every minute; two schedulers still give one job."""
    from robot.dispatch import run_periodic

    stop = threading.Event()
    threads = [threading.Thread(target=run_periodic, args=(robot.dispatcher, stop), kwargs={"every_s": 3600})
               for _ in range(2)]
    for thread in threads:
        thread.start()
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    jobs = robot.dispatcher.queue.get_jobs()
    assert [job.func_name for job in jobs] == ["workers.jobs.reconcile"]


def test_relay_connection_is_kept_and_replaced_when_the_relay_restarts(robot, gateway, sink, clock):
    """One connection serves many acknowledgements; a relay restart costs nothing but a reconnect."""
    send(gateway, customer_mail(message_id="<one@example.ru>"))
    run_jobs(robot)
    assert len(sink.wait_for(1)) == 1
    # The relay restarts: the kept connection is dead, and the next delivery must notice.
    robot.relay._client.sock.shutdown(socket.SHUT_RDWR)  # what a relay restart does to our end
    send(gateway, customer_mail(message_id="<two@example.ru>"))
    run_jobs(robot)
    assert len(sink.wait_for(2)) == 2
    with robot.sessions() as session:
        assert session.scalars(select(OutboundMail.status)).all() == ["sent", "sent"]


def test_worker_pool_shares_one_loaded_model_and_processes_everything(robot, gateway, sink, settings):
    """`mailrobot worker --processes 2`: a pool forked after the model is loaded does the work."""
    for i in range(6):
        send(gateway, customer_mail(message_id=f"<p{i}@example.ru>", body=f"Нет света, дом {i}"))
    pool = subprocess.run([sys.executable, "-m", "robot.cli.main", "worker", "--burst", "--processes", "2"],
                          env=settings_env(settings), capture_output=True, timeout=120)
    assert pool.returncode == 0, pool.stderr.decode()[-2000:]
    assert len(sink.wait_for(6)) == 6
    with robot.sessions() as session:
        assert len(session.scalars(select(Appeal)).all()) == 6


def test_intake_goes_ahead_of_waiting_workers_for_the_sqlite_write_lock(tmp_path):
    """R1 (acknowledged within seconds, storage before 250): on SQLite the gateway's commit waits for
    the single writer; a worker waiting at the same time stands back, so a worker committing chunk
    after chunk cannot keep a sender waiting. Each lock here is another process's view (own fds)."""
    from robot.storage.db import WriteLock

    path = tmp_path / "db.writelock"
    for _ in range(5):  # the order must hold every time, not by luck
        holder, intake, worker = (WriteLock(path, 5.0) for _ in range(3))
        order: list[str] = []
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with holder.held():
                held.set()
                release.wait(5)

        def take(lock: WriteLock, name: str, priority: bool) -> None:
            with lock.held(priority=priority):
                order.append(name)

        holding = threading.Thread(target=hold)
        holding.start()
        assert held.wait(5)
        waiting_worker = threading.Thread(target=take, args=(worker, "worker", False))
        waiting_worker.start()
        waiting_intake = threading.Thread(target=take, args=(intake, "intake", True))
        waiting_intake.start()
        deadline = time.monotonic() + 5
        while not WriteLock(path, 1.0).intake_waits() and time.monotonic() < deadline:
            time.sleep(0.001)
        assert WriteLock(path, 1.0).intake_waits()  # the gateway is waiting now
        release.set()
        for thread in (holding, waiting_worker, waiting_intake):
            thread.join(5)
        assert order == ["intake", "worker"]
