"""`mailrobot journal export`: the journal of received appeals (R19) as XLSX or CSV."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from robot.config import Settings

app = typer.Typer(help="The journal of received appeals (R19, Прил. 5).", no_args_is_help=True)


@app.command("export")
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="xlsx | csv")] = "xlsx",
    start: Annotated[datetime | None, typer.Option("--from", formats=["%Y-%m-%d"],
                                                      help="First day (received on or after).")] = None,
    end: Annotated[datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day, inclusive.")] = None,
) -> None:
    """Write the journal: registration number, date received, then the Standard's columns."""
    from robot.app import Robot
    from robot.desk import journal
    from robot.desk.audit import record

    if fmt not in ("xlsx", "csv"):
        raise typer.BadParameter("xlsx or csv", param_hint="--format")
    robot = Robot(Settings.load())
    tz = robot.settings.tz
    period = journal.Period(start.date() if start else None, end.date() if end else None)
    with robot.sessions() as session:
        items = journal.appeals(session, period, tz)
        if fmt == "xlsx":
            count = journal.write_xlsx(items, tz, str(output))
        else:
            with open(output, "w", encoding="utf-8-sig", newline="") as handle:
                count = journal.write_csv(items, tz, handle)
    with robot.unit_of_work() as session:
        record(session, "cli", "journal_exported", at=robot.clock.now(), target=str(output)[:255],
               detail={"format": fmt, "start": str(period.start), "end": str(period.end), "rows": count})
    robot.close()
    typer.echo(f"{count} appeal(s) written to {output}")
