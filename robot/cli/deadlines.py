"""`mailrobot deadline` (one due moment) and `mailrobot deadlines …` (check the calendar, recompute)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from robot.cli.context import open_robot

app = typer.Typer(help="Deadlines: the company calendar, recomputing open deadlines.", no_args_is_help=True)

#: Channels an appeal may come by; only ``post`` changes the limit (R14).
CHANNELS = ("email", "imap", "web", "phone", "post", "in_person", "operator")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"mailrobot: {message}", err=True)
    return typer.Exit(2)


def _robot(ctx: typer.Context):
    from robot.deadlines.calendar_file import CalendarError

    robot = open_robot(ctx)
    try:
        _ = robot.calendars
    except (CalendarError, OSError) as error:
        raise _fail(str(error)) from None
    return robot


def deadline(
    ctx: typer.Context,
    received: Annotated[str, typer.Option(help="Registration moment, e.g. 2025-12-30T10:00 (company time "
                                               "unless an offset is given).")],
    kind: Annotated[str, typer.Option(help="question | application | complaint | feedback")],
    channel: Annotated[str, typer.Option(help="How it came: email, web, post (R14: 10 days), …")] = "email",
    queue: Annotated[str | None, typer.Option(help="Count by this queue's calendar.")] = None,
) -> None:
    """Print the due moment of an appeal in ISO 8601 with its offset (R13, R14, R16)."""
    from robot.deadlines.limits import ANSWER_LIMITS
    from robot.deadlines.plan import compute_due

    try:
        moment = datetime.fromisoformat(received)
    except ValueError as error:
        raise typer.BadParameter(f"{received!r} is not a date and time (YYYY-MM-DDTHH:MM): {error}",
                                 param_hint="--received") from None
    if kind not in ANSWER_LIMITS:
        raise typer.BadParameter(f"kind must be one of {', '.join(ANSWER_LIMITS)}; not {kind!r}", param_hint="--kind")
    if channel not in CHANNELS:
        raise typer.BadParameter(f"channel must be one of {', '.join(CHANNELS)}; not {channel!r}",
                                 param_hint="--channel")
    robot = _robot(ctx)
    if queue is not None:
        from robot.deadlines.plan import queue_config

        if queue_config(robot, queue) is None:
            raise typer.BadParameter(f"no queue {queue!r} in {robot.settings.routing_rules}", param_hint="--queue")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=robot.settings.tz)
    typer.echo(compute_due(robot, registered_at=moment, kind=kind, channel=channel, queue=queue).isoformat())


@app.command()
def check(ctx: typer.Context) -> None:
    """Check calendar.yaml, and that every calendar a queue names in routing_rules.yaml exists."""
    robot = _robot(ctx)
    names = robot.calendars.names
    problems = [f"{robot.settings.routing_rules}: queue {q.name!r} names calendar {q.calendar!r}, which "
                f"{robot.settings.calendar_file} does not define (known: {', '.join(names) or 'none'})"
                for q in robot.router.table.loaded.rules.queues if q.calendar and q.calendar not in names]
    for problem in problems:
        typer.echo(f"mailrobot: {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    used = sum(1 for q in robot.router.table.loaded.rules.queues if q.calendar)
    typer.echo(f"{robot.settings.calendar_file}: OK ({len(names)} named calendar(s), used by {used} queue(s))")


@app.command()
def recompute(
    ctx: typer.Context,
    queue: Annotated[str | None, typer.Option(help="Only this queue's appeals.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only appeals of this kind.")] = None,
) -> None:
    """Recompute open deadlines by the calendars and limits in force (after editing calendar.yaml,
    or a queue's calendar in routing_rules.yaml). The reconciler does the same within a minute."""
    from robot.deadlines.recompute import recompute as run
    from robot.deadlines.recompute import record_fingerprint, rules_fingerprint

    robot = _robot(ctx)
    done = run(robot, queue=queue, kind=kind)
    if queue is None and kind is None:
        record_fingerprint(robot, rules_fingerprint(robot))
    typer.echo(json.dumps({"checked": done.checked, "replanned": done.replanned, "moved": done.moved}))
