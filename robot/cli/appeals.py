"""`mailrobot appeals`: the journal from scripts and support."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Optional
from zoneinfo import ZoneInfo

import typer

from robot.cli.context import open_robot

if TYPE_CHECKING:
    from robot.storage.models import Appeal, Message, OutboundMail

# Heavy imports (SQLAlchemy, the models) happen inside the commands: `mailrobot up`, which only
# supervises, loads this module too and should stay small.
app = typer.Typer(help="The journal of appeals.", no_args_is_help=True)


def _summary(appeal: Appeal, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "number": appeal.number,
        "kind": appeal.kind,
        "status": appeal.status,
        "queue": appeal.queue,
        "channel": appeal.channel,
        "registered_at": appeal.registered_at.astimezone(tz).isoformat(),
        "due_at": appeal.due_at.astimezone(tz).isoformat(),
        "customer": {"name": appeal.customer_name, "email": appeal.customer_email},
        "subject": appeal.subject,
    }


@app.command("list")
def list_appeals(
    ctx: typer.Context,
    status: Annotated[Optional[str], typer.Option(help="Only appeals in this status.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    limit: int = 100,
) -> None:
    """List appeals, newest first."""
    from sqlalchemy import select

    from robot.storage.models import Appeal

    robot = open_robot(ctx)
    query = select(Appeal).order_by(Appeal.id.desc()).limit(limit)
    if status:
        query = query.where(Appeal.status == status)
    with robot.sessions() as session:
        rows = [_summary(a, robot.settings.tz) for a in session.scalars(query)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        typer.echo(f"{row['number']}\t{row['kind']}\t{row['status']}\t{row['due_at']}\t"
                   f"{row['customer']['email'] or '-'}\t{row['subject'] or ''}")


@app.command("show")
def show(ctx: typer.Context, number: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One appeal with its customer, due date, messages in both directions and history."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from robot.storage.models import Appeal, Message, OutboundMail

    robot = open_robot(ctx)
    with robot.sessions() as session:
        appeal = session.scalar(
            select(Appeal).where(Appeal.number == number)
            .options(selectinload(Appeal.messages).selectinload(Message.attachments), selectinload(Appeal.events))
        )
        if appeal is None:
            typer.echo(f"no appeal {number}", err=True)
            raise typer.Exit(1)
        delivery = {m.id: m for m in session.scalars(select(OutboundMail).where(OutboundMail.appeal_id == appeal.id))}
        tz = robot.settings.tz
        data = _summary(appeal, tz) | {
            "kind_confidence": appeal.kind_confidence,
            "classification": appeal.classification,
            "topic": appeal.topic,
            "scope": appeal.scope,
            "flags": appeal.flags,
            "assignee": appeal.assignee,
            "territory": {"region": appeal.region, "district": appeal.city_district, "branch": appeal.branch,
                          "unit": appeal.unit},
            "routing": appeal.routing,
            "customer": {"name": appeal.customer_name, "email": appeal.customer_email,
                         "phone": appeal.customer_phone, "address": appeal.customer_address,
                         "account": appeal.account_number},
            "messages": [_message(m, delivery.get(m.outbound_id), tz) for m in appeal.messages],
            "history": [{"at": e.at.astimezone(tz).isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
                        for e in appeal.events],
        }
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{data['number']}  {data['kind']}  {data['status']}  due {data['due_at']}")
    typer.echo(f"customer: {data['customer']['name'] or ''} <{data['customer']['email'] or '-'}>")
    for message in data["messages"]:
        typer.echo(f"--- {message['direction']} {message['created_at']} {message['subject'] or ''}")
        typer.echo(message["text"])
    for event in data["history"]:
        typer.echo(f"{event['at']}  {event['actor']}  {event['action']}")


@app.command("correct")
def correct_appeal(
    ctx: typer.Context,
    number: str,
    by: Annotated[str, typer.Option("--by", help="Who corrects (login).")],
    kind: Annotated[Optional[str], typer.Option(help="question | application | complaint")] = None,
    topic: Annotated[Optional[str], typer.Option()] = None,
    scope: Annotated[Optional[str], typer.Option(help="in | out")] = None,
) -> None:
    """Correct the kind, topic or scope the classifier gave an appeal (kept for retraining)."""
    from robot.pipeline.correct import NoSuchAppeal, correct

    robot = open_robot(ctx)
    try:
        result = correct(robot, number, actor=by, kind=kind, topic=topic, scope=scope)
    except NoSuchAppeal:
        typer.echo(f"no appeal {number}", err=True)
        raise typer.Exit(1) from None
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    if not result.changed:
        typer.echo(f"{number}: nothing to change")
    for field, (old, new) in result.changed.items():
        typer.echo(f"{number}: {field} {old} → {new}")


def _message(message: Message, outbound: OutboundMail | None, tz: ZoneInfo) -> dict[str, Any]:
    data: dict[str, Any] = {
        "direction": message.direction,
        "created_at": message.created_at.astimezone(tz).isoformat(),
        "message_id": message.message_id,
        "sender": message.sender,
        "subject": message.subject,
        "text": message.text,
        "defects": message.defects,
        "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": a.size, "sha256": a.sha256}
                        for a in message.attachments],
    }
    if outbound is not None:
        data["delivery"] = {"status": outbound.status, "attempts": outbound.attempts,
                            "sent_at": outbound.sent_at.astimezone(tz).isoformat() if outbound.sent_at else None,
                            "last_error": outbound.last_error}
    return data
