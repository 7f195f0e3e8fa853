"""`mailrobot users`: staff accounts of the desk."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from robot.config import Settings

app = typer.Typer(help="Staff accounts of the desk.", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@app.command("add")
def add(
    login: str,
    role: Annotated[str, typer.Option(help="specialist | routing | manager | admin")],
    queues: Annotated[str | None, typer.Option(help="Queues of routing_rules.yaml, comma-separated.")] = None,
    email: Annotated[str | None, typer.Option()] = None,
    name: Annotated[str | None, typer.Option(help="Full name, as the desk and answers show it.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Create a user (or update an existing login); the password is asked for, or read from stdin."""
    from robot.app import Robot
    from robot.desk.audit import record
    from robot.staff import QueueDirectory, StaffError, add_user

    robot = Robot(Settings.load())
    wanted = [q.strip() for q in (queues or "").split(",") if q.strip()]
    unknown = sorted(set(wanted) - set(QueueDirectory(robot.settings.routing_rules).queues))
    if unknown:
        raise typer.BadParameter(f"no such queue in routing_rules.yaml: {', '.join(unknown)}", param_hint="--queues")
    password = _password(password_stdin)
    now = robot.clock.now()
    try:
        with robot.unit_of_work() as session:
            user = add_user(session, login=login, role=role, password=password, now=now, queues=wanted,
                            name=name or "", email=email)
            record(session, "cli", "user_saved", at=now, target=user.login,
                   detail={"role": role, "queues": wanted})
    except StaffError as error:
        raise typer.BadParameter(str(error)) from None
    finally:
        robot.close()
    typer.echo(f"user {login}: {role}" + (f", queues {', '.join(wanted)}" if wanted else ""))


@app.command("list")
def list_users() -> None:
    """Logins, roles and queues."""
    from sqlalchemy import select

    from robot.app import Robot
    from robot.storage.models import User

    robot = Robot(Settings.load())
    with robot.sessions() as session:
        for user in session.scalars(select(User).order_by(User.login)):
            state = "" if user.active else "\t(inactive)"
            typer.echo(f"{user.login}\t{user.role}\t{','.join(user.queues or [])}\t{user.name}{state}")
    robot.close()
