"""Group commit: messages that arrive at the same moment share one transaction.

Each SMTP session waits for its own message to be committed before it answers 250, exactly as
before; but while one transaction is being written, the messages that arrive meanwhile gather
and go together in the next one — one fsync and one hand-over of SQLite's single write lock for
all of them, instead of one each. If a transaction fails, every message in it is refused with a
temporary error, and their senders retry.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future

from robot.app import Robot
from robot.intake.accept import Accepted, Incoming, accept_many

log = logging.getLogger("robot.intake")

#: More than this many messages wait for the next transaction.
MAX_BATCH = 64

_STOP = object()


class GroupCommitter:
    def __init__(self, robot: Robot, *, max_batch: int = MAX_BATCH) -> None:
        self.robot = robot
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def submit(self, item: Incoming) -> Future[Accepted]:
        future: Future[Accepted] = Future()
        self._queue.put((item, future))
        return future

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    self._queue.put(_STOP)
                    break
                batch.append(more)
            self._commit(batch)

    def _commit(self, batch: list[tuple[Incoming, Future[Accepted]]]) -> None:
        try:
            results = accept_many(self.robot, [item for item, _ in batch])
        except Exception as error:
            log.error("storing %d message(s) failed: %s", len(batch), error, exc_info=True)
            for _, future in batch:
                future.set_exception(error)
            return
        for (_, future), result in zip(batch, results):
            future.set_result(result)
