"""`mailrobot customers`: customers with contracts, imported from the billing system's exports."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer

from robot.config import Settings

app = typer.Typer(help="Customers with contracts (the auto-informer's recipients).", no_args_is_help=True)


@app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(help="A CSV (UTF-8 or cp1251, ; or , separated) or XLSX export.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and report; store nothing.")] = False,
) -> None:
    """Check every line and store the valid ones; exit status 1 when any line was refused."""
    from robot.app import Robot
    from robot.informer.customers import ImportFileError, import_customers
    from robot.routing.load import load_rules

    if not path.is_file():
        raise typer.BadParameter(f"no such file: {path}", param_hint="PATH")
    try:
        with closing(Robot(Settings.load())) as robot:
            rules = load_rules(robot.settings.routing_rules).rules
            with robot.unit_of_work() as session:
                report = import_customers(session, path, rules=rules, now=robot.clock.now(), dry_run=dry_run,
                                          account_pattern=robot.settings.account_number_pattern)
            text = robot.templates.get_template("cli/customers_import.txt.j2").render(report=report, dry_run=dry_run)
    except ImportFileError as error:
        typer.echo(f"{path}: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(text, nl=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command("list")
def list_customers(
    unit: Annotated[str | None, typer.Option(help="Only this network unit (РЭС) code.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List customers by account number."""
    from sqlalchemy import select

    from robot.app import Robot
    from robot.storage.models import Customer

    query = select(Customer).order_by(Customer.account_number)
    if unit:
        query = query.where(Customer.unit == unit)
    with closing(Robot(Settings.load())) as robot, robot.sessions() as session:
        rows = [{"account_number": c.account_number, "name": c.name, "email": c.email,
                 "email_consent_at": c.email_consent_at.isoformat() if c.email_consent_at else None,
                 "phone": c.phone, "address": c.address, "unit": c.unit} for c in session.scalars(query)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        typer.echo("\t".join(str(row[key] or "") for key in ("account_number", "name", "email", "phone", "unit")))
