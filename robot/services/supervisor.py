"""`mailrobot up`: the whole single-machine system in the foreground.

A local redis-server (unless a Redis URL is set), the SMTP gateway, the web app, N workers and (when a
mailbox is configured) the IMAP intake, each a child process running `mailrobot <part>`, so the
same parts run alone on other machines — forked from one fork server that imported what they all
use once (robot/services/parts.py), so that they share those pages; the scheduler (`mailrobot
cron` on its own) runs as a thread of this process. A child that dies is restarted; Ctrl-C or
SIGTERM stops them all, workers first finishing their job.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.context
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from robot.config import Settings
from robot.dispatch import Dispatcher, run_periodic
from robot.services.redis_server import start_redis

log = logging.getLogger("robot.up")

#: How long children get to finish their current work after SIGTERM.
STOP_GRACE_S = 15.0


@dataclass
class Child:
    part: str
    #: A program other than `mailrobot <part>` (a baresip line of the phone channel).
    command: list[str] | None = None
    process: subprocess.Popen[bytes] | _Forked | None = None
    restarts: int = 0
    started_at: float = field(default=0.0)


def run_up(settings: Settings) -> int:
    settings.ensure_dirs()
    # In a child, so that Alembic and SQLAlchemy never load into this long-lived, idle process.
    subprocess.run([sys.executable, "-m", "robot.cli.main", "db", "upgrade"], check=True)
    settings.signing_key()  # created once here, not raced for by the children

    env = dict(os.environ)
    env["MAILROBOT_DATA_DIR"] = str(settings.data_dir.resolve())
    redis_process, redis_url = None, settings.redis_url
    if not redis_url:
        redis_process, redis_url = start_redis(settings.data_dir)
        env["MAILROBOT_REDIS_URL"] = redis_url
        log.info("started redis-server at %s", redis_url)

    # One `worker` child runs a pool of MAILROBOT_WORKERS processes that share the loaded model.
    children = [Child("smtp"), Child("web"), Child("worker")]
    if settings.imap_host:
        children.append(Child("imap"))  # the IMAP intake, when a mailbox is configured
    if settings.phone_account:
        # The phone channel: one baresip per line (config dirs in the data dir) and the dialler.
        from robot.phone.baresip import command, write_config
        from robot.phone.dialler import lines_from_settings

        for line in lines_from_settings(settings):
            write_config(line)
            children.append(Child(f"baresip-{line.name}", command=command(line)))
        children.append(Child("phone", command=[sys.executable, "-m", "robot.cli.main", "phone", "dial"]))
    stopping = threading.Event()

    def request_stop(signum, _frame) -> None:
        stopping.set()
        log.info("received %s, stopping", signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    for child in children:
        _start(child, env)
    # The scheduler: the reconciler every minute, from a thread of this process.
    dispatcher = Dispatcher(redis_url, settings.queue_name)
    periodic = threading.Thread(target=run_periodic, args=(dispatcher, stopping), name="periodic", daemon=True)
    periodic.start()
    log.info("mailrobot is up: SMTP on %s:%s, web on http://%s:%s, %s worker(s)", settings.smtp_host,
             settings.smtp_port, settings.web_host, settings.web_port, settings.workers)
    try:
        while not stopping.is_set():
            for child in children:
                assert child.process is not None
                code = child.process.poll()
                if code is not None and not stopping.is_set():
                    log.error("%s exited with status %s; restarting", child.part, code)
                    # A part that keeps crashing at start should not spin the CPU.
                    if time.monotonic() - child.started_at < 5:
                        time.sleep(min(2 ** child.restarts, 30))
                    child.restarts += 1
                    _start(child, env)
            stopping.wait(0.2)
    finally:
        periodic.join(timeout=5)
        _stop(children)
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=10)
    log.info("mailrobot stopped")
    return 0


def _start(child: Child, env: dict[str, str]) -> None:
    if child.command is None:
        child.process = _Forked(child.part, env)
    else:
        # A session of its own, so that only the supervisor decides when a child stops (see _stop).
        child.process = subprocess.Popen(child.command, env=env, start_new_session=True, stdin=subprocess.DEVNULL)
    child.started_at = time.monotonic()


class _Forked:
    """`mailrobot <part>` forked from the fork server that imported the common libraries once
    (robot/services/parts.py), with the few methods of subprocess.Popen the supervisor uses."""

    _context: multiprocessing.context.ForkServerContext | None = None

    def __init__(self, part: str, env: dict[str, str]) -> None:
        if _Forked._context is None:
            # The server starts with this environment (the data dir, the Redis URL) and keeps it.
            os.environ.update(env)
            _Forked._context = multiprocessing.get_context("forkserver")
            _Forked._context.set_forkserver_preload(["robot.services.parts"])
        self._process = _Forked._context.Process(target=_run_part, args=(part,), name=part)
        self._process.start()
        self.pid = self._process.pid

    def poll(self) -> int | None:
        return self._process.exitcode

    def send_signal(self, signum: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, signum)

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(f"mailrobot {self._process.name}", timeout or 0)
        return self._process.exitcode

    def kill(self) -> None:
        self._process.kill()


def _run_part(part: str) -> None:
    # In the forked child, where robot.services.parts is already imported; not in this process,
    # which stays small.
    from robot.services.parts import run_part

    run_part(part)


def _stop(children: list[Child]) -> None:
    running = [c.process for c in children if c.process and c.process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
