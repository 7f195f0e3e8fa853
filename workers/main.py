"""Entry points of worker processes: RQ workers and the periodic scheduler."""

from __future__ import annotations

import logging

from rq.cron import CronScheduler

from robot.app import Robot
from robot.dispatch import RECONCILE
from workers import jobs
from workers.runtime import RobotWorker

#: The reconciler's period; the Standard's one-minute promise is what it protects.
RECONCILE_EVERY_S = 60


def run_worker(robot: Robot, *, burst: bool = False, with_scheduler: bool = True) -> bool:
    dispatcher = robot.dispatcher
    worker = RobotWorker([dispatcher.queue], connection=dispatcher.connection, robot=robot)
    return worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="WARNING")


def run_cron(robot: Robot) -> None:
    dispatcher = robot.dispatcher
    # At start-up first: whatever a crash or an empty Redis left behind comes back at once.
    dispatcher.enqueue(RECONCILE, job_id="reconcile-startup")
    scheduler = CronScheduler(connection=dispatcher.connection, logging_level=logging.WARNING)
    scheduler.register(jobs.reconcile, queue_name=dispatcher.queue_name, interval=RECONCILE_EVERY_S,
                       job_timeout=300, result_ttl=0)
    scheduler.start()
