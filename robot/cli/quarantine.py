"""`mailrobot quarantine`: messages the robot could not process, for a human to look at."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from robot.cli.context import open_robot

# Heavy imports happen inside the commands, as in robot.cli.appeals.
app = typer.Typer(help="Messages that could not be processed.", no_args_is_help=True)


@app.command("list")
def list_quarantined(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List quarantined messages with the error that stopped each."""
    from sqlalchemy import select

    from robot.storage.models import RawMessage

    robot = open_robot(ctx)
    with robot.sessions() as session:
        rows = [{"id": r.id, "received_at": r.received_at.isoformat(), "mail_from": r.mail_from,
                 "message_id": r.message_id, "size": r.size, "error": r.error}
                for r in session.scalars(select(RawMessage).where(RawMessage.status == "quarantined")
                                         .order_by(RawMessage.id))]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        typer.echo(f"{row['id']}\t{row['received_at']}\t{row['mail_from']}\t{row['error']}")


@app.command("retry")
def retry(ctx: typer.Context, raw_id: int) -> None:
    """Process a quarantined message again (after a fix)."""
    from robot.dispatch import PROCESS_MESSAGES
    from robot.pipeline.process import retry_quarantined

    robot = open_robot(ctx)
    if not retry_quarantined(robot, raw_id, actor="cli"):
        typer.echo(f"raw message {raw_id} is not in quarantine", err=True)
        raise typer.Exit(1)
    robot.dispatcher.enqueue(PROCESS_MESSAGES, [raw_id], job_id=f"process-{raw_id}-retry")
    typer.echo(f"raw message {raw_id} queued for processing")
