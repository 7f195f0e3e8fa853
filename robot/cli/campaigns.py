"""`mailrobot campaigns`: the auto-informer's whole life cycle (R21–R25).

create FILE.yaml → recipients ID LIST → approve ID --manager LOGIN → start ID → status ID --watch
→ paid ID LIST / mark ID ACCOUNT… → report ID FILE.xlsx|csv; stop ID; surveys-due.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from robot.config import Settings

app = typer.Typer(help="Auto-informer campaigns: weekly e-mail until a positive result (R21–R25).",
                  no_args_is_help=True)

def open_robot(ctx: typer.Context):
    """A robot for the running command, closed when the command ends (PostgreSQL keeps dropped connections)."""
    from robot.app import Robot

    robot = Robot(Settings.load())
    ctx.call_on_close(robot.close)
    return robot


ActorOption = Annotated[str, typer.Option("--by", help="Who does it (a staff login), for the history.")]


def _fail(robot, error) -> None:
    from robot.informer.texts import refusal_text

    typer.echo(refusal_text(robot, error), err=True)
    raise typer.Exit(1)


def _scenario(robot, path: Path):
    from robot.informer.scenario import ScenarioError, load_scenario
    from robot.routing.load import load_rules

    if not path.is_file():
        raise typer.BadParameter(f"no such file: {path}", param_hint="FILE")
    units = {unit.code for unit in load_rules(robot.settings.routing_rules).rules.units}
    try:
        return load_scenario(path, robot.settings.tz, units=units)
    except ScenarioError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(2) from None


def _window(robot):
    from robot.informer.window import SendingWindow

    return SendingWindow(robot.calendar)


@app.command()
def create(ctx: typer.Context, path: Annotated[Path, typer.Argument(help="The scenario (YAML).")], by: ActorOption = "cli") -> None:
    """Create a campaign (a draft) from a scenario file; prints its number."""
    from robot.informer import campaigns as life

    robot = open_robot(ctx)
    spec = _scenario(robot, path)
    with robot.unit_of_work() as session:
        campaign = life.create(session, spec, actor=by, now=robot.clock.now(), source=path.name)
        campaign_id = campaign.id
    typer.echo(campaign_id)


@app.command()
def update(ctx: typer.Context, campaign_id: int, path: Annotated[Path, typer.Argument(help="The changed scenario (YAML).")],
           by: ActorOption = "cli") -> None:
    """Replace a campaign's scenario; a change after approval needs a new approval."""
    from robot.informer import campaigns as life

    robot = open_robot(ctx)
    spec = _scenario(robot, path)
    try:
        with robot.unit_of_work() as session:
            changed = life.update_scenario(session, life.get(session, campaign_id), spec, actor=by,
                                           now=robot.clock.now())
    except life.CampaignError as error:
        _fail(robot, error)
    typer.echo("изменено" if changed else "без изменений")


@app.command()
def recipients(ctx: typer.Context, campaign_id: int, path: Annotated[Path, typer.Argument(help="CSV or XLSX: account number + variables.")],
               by: ActorOption = "cli") -> None:
    """Import a recipient list with per-recipient variables (e.g. each debt); exit 1 if lines were refused."""
    from robot.informer import campaigns as life
    from robot.informer.customers import ImportFileError
    from robot.informer.texts import list_report_text

    robot = open_robot(ctx)
    try:
        with robot.unit_of_work() as session:
            report = life.import_recipients(session, life.get(session, campaign_id), path, actor=by,
                                            now=robot.clock.now())
    except life.CampaignError as error:
        _fail(robot, error)
    except ImportFileError as error:
        typer.echo(f"{path}: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(list_report_text(robot, report), nl=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def approve(ctx: typer.Context, campaign_id: int,
            manager: Annotated[str, typer.Option("--manager", help="Login of the approving manager (R24).")]) -> None:
    """A manager approves the information and the recipients (R24)."""
    from robot.informer import campaigns as life

    robot = open_robot(ctx)
    try:
        with robot.unit_of_work() as session:
            life.approve(session, life.get(session, campaign_id), manager=manager, now=robot.clock.now(),
                         window=_window(robot), rate_per_s=robot.settings.informer_rate_per_s)
    except life.CampaignError as error:
        _fail(robot, error)
    typer.echo("утверждена")


@app.command()
def start(ctx: typer.Context, campaign_id: int, by: ActorOption = "cli") -> None:
    """Start an approved campaign: sends begin at the window's start, inside the sending hours."""
    from robot.informer import campaigns as life

    robot = open_robot(ctx)
    try:
        with robot.unit_of_work() as session:
            life.start(session, life.get(session, campaign_id), actor=by, now=robot.clock.now(),
                       window=_window(robot), rate_per_s=robot.settings.informer_rate_per_s)
    except life.CampaignError as error:
        _fail(robot, error)
    typer.echo("запущена")


@app.command()
def stop(ctx: typer.Context, campaign_id: int, by: ActorOption = "cli") -> None:
    """Stop a campaign for good: no more sends."""
    from robot.informer import campaigns as life

    robot = open_robot(ctx)
    try:
        with robot.unit_of_work() as session:
            life.stop(session, life.get(session, campaign_id), actor=by, now=robot.clock.now())
    except life.CampaignError as error:
        _fail(robot, error)
    typer.echo("остановлена")


@app.command("list")
def list_campaigns(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """All campaigns, newest first."""
    from sqlalchemy import select

    from robot.informer.texts import names
    from robot.storage.models import Campaign

    robot = open_robot(ctx)
    with robot.sessions() as session:
        rows = [{"id": c.id, "name": c.name, "kind": c.kind, "state": c.state, "starts_at": c.starts_at.isoformat(),
                 "ends_at": c.ends_at.isoformat(), "approved_by": c.approved_by}
                for c in session.scalars(select(Campaign).order_by(Campaign.id.desc()))]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    macros = names(robot)
    for row in rows:
        typer.echo(f"{row['id']}\t{macros.state(row['state'])}\t{macros.kind(row['kind'])}\t{row['name']}")


@app.command()
def status(ctx: typer.Context, campaign_id: int,
           watch: Annotated[bool, typer.Option("--watch", help="Keep the progress bar live until the campaign ends.")] = False,
           every: Annotated[float, typer.Option(help="Seconds between refreshes with --watch.")] = 2.0,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A campaign's progress: sent, confirmed, bounced, pending, next resend (R22)."""
    from rich.console import Console, Group
    from rich.live import Live
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
    )
    from rich.text import Text

    from robot.informer import campaigns as life
    from robot.informer.progress import progress
    from robot.informer.texts import env

    robot = open_robot(ctx)
    template = env(robot).get_template("informer/status.txt.j2")

    def snapshot():
        with robot.sessions() as session:
            try:
                campaign = life.get(session, campaign_id)
            except life.CampaignError as error:
                _fail(robot, error)
            return campaign, progress(session, campaign_id)

    campaign, found = snapshot()
    if as_json:
        typer.echo(json.dumps(found.as_json(), ensure_ascii=False, indent=2))
        return
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn())
    task = bar.add_task("Охвачено", total=max(found.total, 1), completed=found.reached)
    positive = bar.add_task("Получили", total=max(found.total, 1), completed=found.positive)

    def view(campaign, found):
        bar.update(task, total=max(found.total, 1), completed=found.reached)
        bar.update(positive, total=max(found.total, 1), completed=found.positive)
        return Group(Text(template.render(c=campaign, p=found).rstrip()), bar)

    console = Console()
    if not watch:
        console.print(view(campaign, found))
        return
    with Live(view(campaign, found), console=console, refresh_per_second=4) as live:
        try:
            while campaign.state in ("draft", "approved", "running"):
                time.sleep(every)
                campaign, found = snapshot()
                live.update(view(campaign, found))
        except KeyboardInterrupt:
            pass


@app.command()
def report(ctx: typer.Context, campaign_id: int, out: Annotated[Path, typer.Argument(help="Where to write it: .xlsx or .csv.")]) -> None:
    """The campaign's report: each recipient, their sends, results and dates (R22)."""
    from robot.informer import campaigns as life
    from robot.informer.progress import COLUMNS, report_rows, write_csv, write_xlsx
    from robot.informer.texts import names

    robot = open_robot(ctx)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise typer.BadParameter("the report is written as .xlsx or .csv", param_hint="OUT")
    macros = names(robot)
    headers = {c: str(macros.column(c)) for c in COLUMNS}
    with robot.sessions() as session:
        try:
            campaign = life.get(session, campaign_id)
        except life.CampaignError as error:
            _fail(robot, error)
        rows = report_rows(session, campaign_id, names=macros, tz=robot.settings.tz)
        data = write_csv(rows, headers) if suffix == ".csv" else write_xlsx(rows, headers, campaign.name)
    out.write_bytes(data)
    typer.echo(str(out))


@app.command()
def paid(ctx: typer.Context, campaign_id: int, path: Annotated[Path, typer.Argument(help="CSV or XLSX with an account number column.")],
         by: ActorOption = "cli") -> None:
    """Import a "paid" list: those accounts' condition cleared, no more sends to them."""
    from robot.informer import campaigns as life
    from robot.informer.customers import ImportFileError
    from robot.informer.texts import list_report_text

    robot = open_robot(ctx)
    try:
        with robot.unit_of_work() as session:
            found = life.import_paid(session, life.get(session, campaign_id), path, actor=by, now=robot.clock.now())
    except life.CampaignError as error:
        _fail(robot, error)
    except ImportFileError as error:
        typer.echo(f"{path}: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(list_report_text(robot, found, paid=True), nl=False)


@app.command()
def mark(ctx: typer.Context, campaign_id: int, accounts: Annotated[list[str], typer.Argument(help="Account numbers.")],
         by: ActorOption = "cli") -> None:
    """Mark recipients' result positive by hand (the customer called, came in, paid at the office)."""
    from robot.informer import campaigns as life

    robot = open_robot(ctx)
    try:
        with robot.unit_of_work() as session:
            marked, unknown = life.mark_accounts(session, life.get(session, campaign_id), accounts, via="marked",
                                                 actor=by, now=robot.clock.now())
    except life.CampaignError as error:
        _fail(robot, error)
    typer.echo(f"отмечено: {marked}")
    if unknown:
        typer.echo(f"нет в кампании: {', '.join(unknown)}", err=True)
        raise typer.Exit(1)


@app.command("surveys-due")
def surveys_due(ctx: typer.Context, within_days: Annotated[int, typer.Option(help="Due within this many days.")] = 30,
                as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Customers due for their yearly satisfaction survey (R25: at least one a year)."""
    from robot.informer import campaigns as life

    robot = open_robot(ctx)
    tz = robot.settings.tz
    with robot.sessions() as session:
        rows = [{"account_number": c.account_number, "name": c.name, "email": c.email,
                 "last_survey": last.isoformat() if last else None, "due_by": by.astimezone(tz).date().isoformat()}
                for c, last, by in life.surveys_due(session, robot.clock.now(), within_days=within_days)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        typer.echo(f"{row['account_number']}\t{row['name']}\t{row['due_by']}\t{row['last_survey'] or '—'}")


@app.command()
def tick(ctx: typer.Context) -> None:
    """Plan the sends that are due now (the reconciler does this every minute)."""
    from robot.informer.planner import tick as plan_due

    robot = open_robot(ctx)
    done = plan_due(robot)
    typer.echo(json.dumps({"planned": done.planned, "excluded": done.excluded, "bounced": done.bounced,
                           "finished": done.finished}))
