"""`mailrobot`: run the system or one of its parts, and look into it from scripts."""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer

from robot.cli import appeals as appeals_cli
from robot.cli import campaigns as campaigns_cli
from robot.cli import classifier as classifier_cli
from robot.cli import customers as customers_cli
from robot.cli import deadlines as deadlines_cli
from robot.cli import journal as journal_cli
from robot.cli import phone as phone_cli
from robot.cli import quarantine as quarantine_cli
from robot.cli import routes as routes_cli
from robot.cli import users as users_cli
from robot.cli import web as web_cli
from robot.cli.context import open_robot
from robot.config import Settings

app = typer.Typer(help="mailrobot: the Mail-robot of a grid company's customer service.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(appeals_cli.app, name="appeals")
app.add_typer(quarantine_cli.app, name="quarantine")
app.add_typer(classifier_cli.app, name="classifier")
app.add_typer(routes_cli.app, name="routes")
app.add_typer(deadlines_cli.app, name="deadlines")
app.add_typer(customers_cli.app, name="customers")
app.add_typer(campaigns_cli.app, name="campaigns")
app.add_typer(users_cli.app, name="users")
app.add_typer(journal_cli.app, name="journal")
app.add_typer(phone_cli.app, name="phone")
app.command("web")(web_cli.web)


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s")
    # aiosmtpd logs every SMTP command at INFO; our gateway logs what matters.
    logging.getLogger("mail.log").setLevel(logging.WARNING)


@app.command()
def imap() -> None:
    """Run the IMAP intake alone: read the configured mailbox (MAILROBOT_IMAP_*) until stopped."""
    from robot.app import Robot
    from robot.intake.imap import ImapIntake

    _logging()
    robot = Robot(Settings.load())
    try:
        intake = ImapIntake(robot)
    except ValueError as error:
        typer.echo(f"mailrobot: {error}", err=True)
        raise typer.Exit(2) from error
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        intake.run(stop)
    finally:
        robot.close()


def _worker_entry():
    # The CLI is the process edge that starts workers; `robot` modules never import `workers`.
    return importlib.import_module("workers.main")


@app.command()
def up() -> None:
    """Start the whole system in the foreground: Redis (if needed), SMTP gateway, web app, scheduler, workers."""
    from robot.services.redis_server import RedisUnavailable
    from robot.services.supervisor import run_up

    _logging()
    try:
        raise typer.Exit(run_up(Settings.load()))
    except RedisUnavailable as error:
        typer.echo(f"mailrobot: {error}", err=True)
        raise typer.Exit(2) from error


@app.command()
def smtp() -> None:
    """Run the SMTP gateway alone."""
    from robot.app import Robot
    from robot.intake.smtp import GatewayController

    _logging()
    robot = Robot(Settings.load())
    controller = GatewayController(robot)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    controller.start()
    logging.getLogger("robot.intake.smtp").info("SMTP gateway listening on %s:%s", controller.hostname,
                                                controller.port)
    stop.wait()
    controller.stop()
    robot.close()


def lower_priority(nice: int) -> None:
    """Raise this process's niceness by ``nice``, and its scheduling group's when it leads a session.

    Linux schedules each session's processes as one group (autogroup) and shares the CPU fairly
    between groups; niceness only counts inside a group. A part that `mailrobot up` starts has a
    session of its own, so without the group's niceness its workers would still take as much CPU
    as the gateway. A worker started from a shell leaves the shell's group as it is.
    """
    os.nice(nice)
    if os.getsid(0) == os.getpid():
        try:
            Path("/proc/self/autogroup").write_text(f"{nice}\n")
        except OSError:
            pass  # no autogroup here (disabled, or not Linux): the niceness alone counts


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Exit when the queue is empty.")] = False,
    processes: Annotated[Optional[int], typer.Option(help="Worker processes (default: MAILROBOT_WORKERS).")] = None,
) -> None:
    """Run RQ workers (with the RQ scheduler) for the robot's queue."""
    from robot.app import Robot

    _logging()
    settings = Settings.load()
    if settings.worker_nice:
        lower_priority(settings.worker_nice)
    _worker_entry().run_worker(Robot(settings), processes=processes or settings.workers, burst=burst)


@app.command()
def cron() -> None:
    """Run the periodic scheduler alone (the reconciler every minute); `up` runs it itself."""
    from robot.dispatch import Dispatcher, run_periodic

    _logging()
    settings = Settings.load()
    if not settings.redis_url:
        raise typer.BadParameter("MAILROBOT_REDIS_URL must be set for `mailrobot cron`")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run_periodic(Dispatcher(settings.redis_url, settings.queue_name), stop)


@app.command()
def reconcile(ctx: typer.Context) -> None:
    """Re-enqueue everything the database says is due and Redis does not hold."""
    from robot.reconcile import reconcile as run

    done = run(open_robot(ctx))
    typer.echo(json.dumps({"process": done.process, "deliver": done.deliver, "due": done.due}))


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or upgrade the database schema (Alembic)."""
    from robot.storage.migrate import upgrade

    settings = Settings.load()
    settings.ensure_dirs()
    upgrade(settings.effective_database_url, revision)
    typer.echo(f"database at {revision}")


@app.command()
def outbox(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List mail written to the local outbox (used when no outgoing relay is configured)."""
    from email import policy
    from email.parser import BytesParser

    settings = Settings.load()
    rows = []
    for path in sorted(settings.outbox_dir.glob("*.eml")):
        with open(path, "rb") as handle:
            headers = BytesParser(policy=policy.default).parse(handle, headersonly=True)
        rows.append({"file": str(path), "to": str(headers["To"]), "subject": str(headers["Subject"]),
                     "date": str(headers["Date"])})
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        typer.echo(f"{row['file']}\t{row['to']}\t{row['subject']}")
    if not rows:
        typer.echo(f"the outbox {settings.outbox_dir} is empty")


@app.command("classify")
def classify(plain: Annotated[bool, typer.Option("--plain", help="One text per line instead of JSON lines.")] = False,
             ) -> None:
    """Classify appeals from stdin: JSON lines {"subject": ..., "text": ...} → one JSON line each."""
    classifier_cli.classify_stream(plain)


@app.command("settings")
def show_settings() -> None:
    """Print the table of all settings (the README carries the same table)."""
    from robot.config import settings_table

    typer.echo(settings_table())


app.command()(deadlines_cli.deadline)


if __name__ == "__main__":
    app()
