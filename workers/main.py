"""Entry point of worker processes: one RQ worker, or a pool of them sharing one loaded model."""

from __future__ import annotations

import gc

from rq.worker_pool import WorkerPool

from robot.app import Robot
from workers.runtime import RobotWorker, bind


def run_worker(robot: Robot, *, processes: int = 1, burst: bool = False, with_scheduler: bool = True) -> bool:
    dispatcher = robot.dispatcher
    _ = robot.calendars  # a broken calendar.yaml stops the worker here, not each message it would process
    if processes <= 1:
        worker = RobotWorker([dispatcher.queue], connection=dispatcher.connection, robot=robot)
        return worker.work(burst=burst, with_scheduler=with_scheduler, logging_level="WARNING")
    # Load the classifier and the routing rules once, here, then fork the workers: they share
    # those pages copy-on-write instead of each holding its own copy. gc.freeze keeps the
    # collector from touching (and so copying) those objects in every child. Nothing that holds
    # a connection exists yet.
    # The jobs' modules too: a module first imported in a child is a private copy in each child.
    import workers.deadlines
    import workers.informer
    import workers.jobs  # noqa: F401
    from classifiers import classify

    classify("Прогрев", "Нет света третий день, ул. Ленина, 5. Иванов")
    _ = robot.router  # loads and checks routing_rules.yaml before forking
    _ = robot.templates  # and the Jinja environment that renders every reply
    # The production calendar: the holidays package imports every country's module (≈ 8 MB).
    robot.calendar.is_working_day(robot.clock.now().date())
    bind(robot)
    gc.freeze()
    pool = WorkerPool([dispatcher.queue_name], connection=dispatcher.connection, num_workers=processes,
                      worker_class=RobotWorker)
    pool.start(burst=burst, logging_level="WARNING")
    return True
