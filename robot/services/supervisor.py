"""`mailrobot up`: the whole single-machine system in the foreground.

A local redis-server (unless a Redis URL is set), the SMTP gateway, the scheduler and N workers,
each a child process running `mailrobot <part>`, so the same parts run alone on other machines.
A child that dies is restarted; Ctrl-C or SIGTERM stops them all, workers first finishing their job.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from robot.config import Settings
from robot.services.redis_server import start_redis
from robot.storage.migrate import upgrade

log = logging.getLogger("robot.up")

#: How long children get to finish their current work after SIGTERM.
STOP_GRACE_S = 15.0


@dataclass
class Child:
    part: str
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = field(default=0.0)


def run_up(settings: Settings) -> int:
    settings.ensure_dirs()
    upgrade(settings.effective_database_url)
    settings.signing_key()  # created once here, not raced for by the children

    env = dict(os.environ)
    env["MAILROBOT_DATA_DIR"] = str(settings.data_dir.resolve())
    redis_process = None
    if not settings.redis_url:
        redis_process, url = start_redis(settings.data_dir)
        env["MAILROBOT_REDIS_URL"] = url
        log.info("started redis-server at %s", url)

    children = [Child("smtp"), Child("cron"), *(Child("worker") for _ in range(settings.workers))]
    stopping = False

    def request_stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        log.info("received %s, stopping", signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    for child in children:
        _start(child, env)
    log.info("mailrobot is up: SMTP on %s:%s, %s worker(s)", settings.smtp_host, settings.smtp_port, settings.workers)
    try:
        while not stopping:
            for child in children:
                code = child.process.poll() if child.process else 0
                if code is not None and not stopping:
                    log.error("%s exited with status %s; restarting", child.part, code)
                    # A part that keeps crashing at start should not spin the CPU.
                    if time.monotonic() - child.started_at < 5:
                        time.sleep(min(2 ** child.restarts, 30))
                    child.restarts += 1
                    _start(child, env)
            time.sleep(0.2)
    finally:
        _stop(children)
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=10)
    log.info("mailrobot stopped")
    return 0


def _start(child: Child, env: dict[str, str]) -> None:
    # A session of its own, so that only the supervisor decides when a child stops (see _stop).
    child.process = subprocess.Popen([sys.executable, "-m", "robot.cli.main", child.part], env=env,
                                     start_new_session=True)
    child.started_at = time.monotonic()


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
