"""Entry point of worker processes."""

from __future__ import annotations

from robot.app import Robot
from workers.runtime import RobotWorker


def run_worker(robot: Robot, *, burst: bool = False, with_scheduler: bool = True) -> bool:
    dispatcher = robot.dispatcher
    worker = RobotWorker([dispatcher.queue], connection=dispatcher.connection, robot=robot)
    return worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="WARNING")
