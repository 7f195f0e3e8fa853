"""`mailrobot`: run the system or one of its parts, and look into it from scripts."""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import sys
import threading
from datetime import datetime
from typing import Annotated, Optional

import typer

from robot.cli import appeals as appeals_cli
from robot.cli import classifier as classifier_cli
from robot.cli import quarantine as quarantine_cli
from robot.cli import routes as routes_cli
from robot.config import Settings

app = typer.Typer(help="mailrobot: the Mail-robot of a grid company's customer service.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(appeals_cli.app, name="appeals")
app.add_typer(quarantine_cli.app, name="quarantine")
app.add_typer(classifier_cli.app, name="classifier")
app.add_typer(routes_cli.app, name="routes")


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s")
    # aiosmtpd logs every SMTP command at INFO; our gateway logs what matters.
    logging.getLogger("mail.log").setLevel(logging.WARNING)


def _worker_entry():
    # The CLI is the process edge that starts workers; `robot` modules never import `workers`.
    return importlib.import_module("workers.main")


@app.command()
def up() -> None:
    """Start the whole system in the foreground: Redis (if needed), SMTP gateway, scheduler, workers."""
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
        os.nice(settings.worker_nice)
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
def reconcile() -> None:
    """Re-enqueue everything the database says is due and Redis does not hold."""
    from robot.app import Robot
    from robot.reconcile import reconcile as run

    done = run(Robot(Settings.load()))
    typer.echo(json.dumps({"process": done.process, "deliver": done.deliver}))


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


@app.command()
def deadline(
    received: Annotated[datetime, typer.Option(help="Registration moment, company time unless an offset is given.")],
    kind: Annotated[str, typer.Option(help="question | application | complaint")],
) -> None:
    """Print the due moment of an appeal in ISO 8601 with its offset."""
    from robot.app import Robot
    from robot.deadlines.limits import ANSWER_LIMITS, due_at

    if kind not in ANSWER_LIMITS:
        raise typer.BadParameter(f"kind must be one of {', '.join(ANSWER_LIMITS)}", param_hint="--kind")
    robot = Robot(Settings.load())
    moment = received if received.tzinfo else received.replace(tzinfo=robot.settings.tz)
    typer.echo(due_at(robot.calendar, moment, kind).isoformat())


if __name__ == "__main__":
    app()
