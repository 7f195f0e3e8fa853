"""Hand work to RQ by job name, after the database has committed what the work is about.

The core never imports ``workers``: RQ accepts a dotted path, and the worker process resolves it.
Enqueueing is best effort by design: a job that never reaches Redis is found again by the
reconciler, because what is due is always a row in the database.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from functools import cached_property

from redis import Redis
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.job import Job

log = logging.getLogger("robot.dispatch")

PROCESS_MESSAGES = "workers.jobs.process_messages"
DELIVER_MAIL = "workers.jobs.deliver_mail"
RECONCILE = "workers.jobs.reconcile"

#: The reconciler's period: the Standard's one-minute promise is what it protects.
RECONCILE_EVERY_S = 60

#: Job states in which a job will still run by itself; the reconciler leaves those alone.
_ALIVE = {"queued", "started", "scheduled", "deferred"}


class Dispatcher:
    def __init__(self, redis_url: str, queue_name: str) -> None:
        self.redis_url = redis_url
        self.queue_name = queue_name

    @cached_property
    def connection(self) -> Redis:
        return Redis.from_url(self.redis_url, socket_timeout=5, socket_connect_timeout=5)

    @cached_property
    def queue(self) -> Queue:
        return Queue(self.queue_name, connection=self.connection)

    def enqueue(self, job_name: str, *args: object, job_id: str, at: datetime | None = None,
                unique: bool = False) -> bool:
        """Enqueue ``job_name(*args)``; returns False (and logs) when Redis cannot take it now.

        ``unique``: do nothing if a job with this id exists already.
        """
        try:
            options = dict(job_id=job_id, result_ttl=0, failure_ttl=7 * 24 * 3600, job_timeout=300, unique=unique)
            if at is None:
                self.queue.enqueue(job_name, *args, **options)
            else:
                self.queue.enqueue_at(at, job_name, *args, **options)
        except DuplicateJobError:
            return True
        except Exception:
            log.warning("could not enqueue %s %s; the reconciler will pick it up", job_name, job_id, exc_info=True)
            return False
        return True

    def is_pending(self, job_id: str) -> bool:
        """Whether a job with this id is queued, running or scheduled right now."""
        try:
            job = Job.fetch(job_id, connection=self.connection)
        except Exception:
            return False
        status = job.get_status(refresh=False)
        return status is not None and str(getattr(status, "value", status)) in _ALIVE


def process_job_id(raw_ids: list[int]) -> str:
    """The id of the job that processes ``raw_ids``.

    A single message's job is ``process-N``, the id the reconciler looks for; a batch's names its
    first and last message, and the reconciler gives such messages a grace period before it
    enqueues them again on their own.
    """
    return f"process-{raw_ids[0]}" if len(raw_ids) == 1 else f"process-{raw_ids[0]}-{raw_ids[-1]}"


def run_periodic(dispatcher: Dispatcher, stop: threading.Event, *, every_s: float = RECONCILE_EVERY_S) -> None:
    """Enqueue the reconciler now and then every ``every_s`` seconds until ``stop`` is set.

    Now first: whatever a crash or an empty Redis left behind comes back at once. One job id per
    period, so two schedulers running by mistake still enqueue one reconciler per period.
    """
    while not stop.is_set():
        period = int(time.time() // every_s)
        dispatcher.enqueue(RECONCILE, job_id=f"reconcile-{period}", unique=True)
        stop.wait(every_s - time.time() % every_s)
