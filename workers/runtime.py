"""The robot a worker process serves.

RQ calls job functions with plain arguments only, so the worker that runs them binds the
process's Robot here once, when it starts (``RobotWorker``), and jobs look it up.
"""

from __future__ import annotations

from rq import SimpleWorker

from robot.app import Robot

_bound: Robot | None = None


def bind(robot: Robot) -> None:
    global _bound
    _bound = robot


def current() -> Robot:
    if _bound is None:
        raise RuntimeError("no Robot bound in this worker process; start workers with `mailrobot worker`")
    return _bound


class RobotWorker(SimpleWorker):
    """An RQ worker that runs jobs in its own process (no fork per job: lower latency, warm caches).

    Without ``robot`` it serves the Robot already bound in this process — the one a worker pool
    bound before it forked its workers.
    """

    def __init__(self, *args, robot: Robot | None = None, **kwargs) -> None:
        if robot is not None:
            bind(robot)
        current()  # fail now, not at the first job, when nothing is bound
        super().__init__(*args, **kwargs)
