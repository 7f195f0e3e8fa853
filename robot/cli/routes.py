"""`mailrobot routes check|test|explain`: what admins run before and after editing routing_rules.yaml."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from robot.config import Settings

if TYPE_CHECKING:
    from robot.routing import LoadedRules, Routing, Table

app = typer.Typer(help="Routing rules (routing_rules.yaml).", no_args_is_help=True)

FileArgument = Annotated[Path | None, typer.Argument(help="Rules file (default: MAILROBOT_ROUTING_RULES).")]


def _load(path: Path | None, settings: Settings | None = None) -> LoadedRules:
    from robot.routing import RulesError, load_rules

    settings = settings or Settings.load()
    path = path or settings.routing_rules
    try:
        return load_rules(path, settings.templates_dir)
    except RulesError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{path}: {len(error.problems)} error(s); the file is refused", err=True)
        raise typer.Exit(1) from None
    except (OSError, UnicodeDecodeError) as error:
        typer.echo(f"{path}: {error}", err=True)
        raise typer.Exit(1) from None


def _table(loaded: LoadedRules, settings: Settings) -> Table:
    from robot.deadlines.calendar import WorkCalendar
    from robot.routing import Table

    return Table(loaded, WorkCalendar(settings.tz))


@app.command("check")
def check(path: FileArgument = None) -> None:
    """Check the file: every error with its line and column; exit 1 if there is any."""
    loaded = _load(path)
    for warning in loaded.warnings:
        typer.echo(str(warning), err=True)
    rules = loaded.rules
    places = sum(len(d.streets) + len(d.settlements) for r in rules.regions for d in r.districts)
    typer.echo(f"{loaded.path}: OK, version {loaded.version}: {len(rules.rules)} rules, {len(rules.queues)} queues, "
               f"{len(rules.units)} units, {places} streets and settlements, {len(loaded.warnings)} warning(s)")


@app.command("test")
def test(path: FileArgument = None) -> None:
    """Run the file's own `tests:` examples; exit 1 if any is routed otherwise than expected."""
    from robot.routing import Facts

    settings = Settings.load()
    loaded = _load(path, settings)
    table = _table(loaded, settings)
    failed = 0
    for number, case in enumerate(loaded.rules.tests, 1):
        received = case.received_at
        if received is not None and received.tzinfo is None:
            received = received.replace(tzinfo=settings.tz)  # written in company time
        routing = table.route(Facts(subject=case.subject, text=case.text, kind=case.kind, topic=case.topic,
                                    scope=case.scope, flags=case.flags, status="registered", channel=case.channel,
                                    sender=case.sender, received_at=received, form=case.form))
        wrong = []
        if routing.queue != case.expect_queue:
            wrong.append(f"queue {routing.queue}, expected {case.expect_queue}")
        # An expectation written as null means "none"; one left out is not checked.
        given = case.model_fields_set
        if "expect_priority" in given and routing.priority != (case.expect_priority or "normal"):
            wrong.append(f"priority {routing.priority}, expected {case.expect_priority}")
        if "expect_reply" in given and routing.reply != case.expect_reply:
            wrong.append(f"reply {routing.reply}, expected {case.expect_reply}")
        if "expect_missing" in given and routing.missing != (case.expect_missing or []):
            wrong.append(f"missing {routing.missing}, expected {case.expect_missing}")
        failed += bool(wrong)
        if wrong:
            typer.echo(f"FAIL {number}: {'; '.join(wrong)} — {case.text[:60]!r}")
        else:
            typer.echo(f"ok   {number}: {routing.queue} — {case.text[:60]!r}")
    typer.echo(f"{len(loaded.rules.tests) - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


def _print_routing(routing: Routing) -> None:
    t = routing.territory
    typer.echo(f"territory:  {t.region or '?'} / {t.district or '?'} / {t.branch or '?'} / {t.unit or '?'} "
               f"(confidence {t.confidence:.2f})")
    for line in t.evidence:
        typer.echo(f"  evidence: {line}")
    if routing.missing:
        typer.echo(f"  missing:  {', '.join(routing.missing)}")
    for step in routing.trace:
        if step["verdict"] == "hit":
            done = ", ".join(step.get("actions") or [])
            typer.echo(f"  HIT   {step['rule']} → {step['queue']}" + (f" ({done})" if done else ""))
        else:
            typer.echo(f"  miss  {step['rule']}: {step['reason']}")
    extras = [f"assigned to {routing.assignee}" if routing.assignee else "",
              f"priority {routing.priority}" if routing.priority != "normal" else "",
              f"topic {routing.topic}" if routing.topic else "",
              "triage" if routing.triage else "",
              f"reply {routing.reply}" if routing.reply else ""]
    typer.echo(f"decision:   queue {routing.queue}" + "".join(f", {e}" for e in extras if e)
               + f" (rules version {routing.rules_version})")


@app.command("explain")
def explain(
    eml: Annotated[Path | None, typer.Argument(help="An e-mail (.eml) to route.")] = None,
    text: Annotated[str | None, typer.Option(help="Route this text instead of an e-mail.")] = None,
    appeal: Annotated[str | None, typer.Option(help="Explain the decision recorded on this appeal (its number).")
                      ] = None,
    rules_file: Annotated[Path | None, typer.Option("--rules", help="Rules file.")] = None,
    at: Annotated[datetime | None, typer.Option(help="Time of receipt, company time (default: now).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Why an appeal goes (or went) where it goes: classifier result, territory and evidence, every rule's verdict."""
    if sum(x is not None for x in (eml, text, appeal)) != 1:
        raise typer.BadParameter("give an .eml file, --text or --appeal")
    settings = Settings.load()
    if appeal is not None:
        _explain_appeal(appeal, rules_file, settings, as_json)
        return
    from classifiers import classify
    from robot.mail.parse import parse
    from robot.pipeline.decide import decide
    from robot.routing import Facts

    if eml is not None:
        mail = parse(eml.read_bytes())
        subject, body, sender, name = mail.subject, mail.text, mail.from_addr, mail.from_name
    else:
        subject, body, sender, name = "", text or "", None, None
    table = _table(_load(rules_file, settings), settings)
    result = classify(subject, body)
    # The same decision the pipeline takes (R7, R9, triage), since rules look at its status.
    decision = decide(result, kind_threshold=settings.classifier_kind_threshold,
                      scope_threshold=settings.classifier_scope_threshold, has_reply_channel=True)
    routing = table.route(Facts(
        subject=subject, text=body, kind=result.kind, topic=result.topic, scope=result.scope, flags=result.flags,
        status=decision.status, channel="email", sender=sender, customer_name=name,
        received_at=at.replace(tzinfo=at.tzinfo or settings.tz) if at else datetime.now(settings.tz)))
    if as_json:
        typer.echo(json.dumps({"classification": result.as_dict(), "routing": routing.as_dict()},
                              ensure_ascii=False, indent=2))
        return
    typer.echo(f"classifier: {result.kind} ({result.kind_confidence:.2f}), topic {result.topic}, "
               f"scope {result.scope}, flags {result.flags or '-'}; status {decision.status}")
    _print_routing(routing)


def _explain_appeal(number: str, rules_file: Path | None, settings: Settings, as_json: bool) -> None:
    """The decision stored on the appeal, then the one today's rules would take on the same facts."""
    from sqlalchemy import select

    from robot.app import Robot
    from robot.routing import Earlier, Facts, Routing, Territory
    from robot.routing.history import earlier_territory
    from robot.storage.models import Appeal, Message

    robot = Robot(settings)
    try:
        with robot.sessions() as session:
            row = session.scalars(select(Appeal).where(Appeal.number == number)).one_or_none()
            if row is None:
                typer.echo(f"no appeal {number}", err=True)
                raise typer.Exit(1)
            first = session.scalars(select(Message).where(Message.appeal_id == row.id, Message.direction == "in")
                                    .order_by(Message.id).limit(1)).first()
            stored = dict(row.routing or {})
            # What the decision looked at is stored with it (all but the text, read from the message);
            # appeals routed before that fall back on their columns.
            inputs: dict[str, Any] = dict(stored.get("inputs") or {})
            classification = dict(row.classification or {})
            earlier = (Earlier(**inputs["earlier"]) if inputs.get("earlier")
                       else None if inputs else earlier_territory(session, row.customer_email, before=row.id))
            facts = Facts(
                subject=(first.subject if first else row.subject) or "", text=first.text if first else "",
                kind=inputs.get("kind", row.kind), topic=inputs.get("topic", classification.get("topic", "other")),
                scope=inputs.get("scope", row.scope or "in"), flags=inputs.get("flags", list(row.flags or [])),
                status=inputs.get("status", (classification.get("decision") or {}).get("status", row.status)),
                channel=inputs.get("channel", row.channel), sender=inputs.get("sender", row.customer_email),
                account=inputs.get("account"),
                received_at=(datetime.fromisoformat(inputs["received_at"]) if inputs.get("received_at")
                             else row.registered_at),
                customer_name=inputs.get("customer_name", row.customer_name), form=inputs.get("form"),
                earlier=earlier)
    finally:
        robot.close()
    table = _table(_load(rules_file, settings), settings)
    today = table.route(facts)
    if not stored:
        then: Routing | None = None
    else:
        territory = Territory(**stored["territory"]) if stored.get("territory") else Territory()
        fields = {k: v for k, v in stored.items() if k in Routing.__dataclass_fields__ and k != "territory"}
        then = Routing(**{"queue": row.queue or "", "assignee": row.assignee, "rules_version": "?"} | fields,
                       territory=territory)
    differs = then is None or then.outcome() != today.outcome()
    if as_json:
        typer.echo(json.dumps({"appeal": number, "recorded": stored or None, "today": today.as_dict(),
                               "today_differs": differs}, ensure_ascii=False, indent=2, default=str))
        return
    typer.echo(f"appeal {number}: {row.kind}, status {row.status}, registered "
               f"{row.registered_at.astimezone(settings.tz):%Y-%m-%d %H:%M}, now in queue {row.queue or '-'}")
    if then is None:
        typer.echo("recorded:   no routing decision on record (registered before routing existed)")
    else:
        typer.echo(f"recorded decision (rules version {then.rules_version}):")
        _print_routing(then)
    if not differs:
        typer.echo(f"today's rules (version {today.rules_version}) decide the same.")
        return
    typer.echo(f"today's rules (version {today.rules_version}) would decide differently:")
    if then is not None:
        old, new = then.outcome(), today.outcome()
        for key in old:
            if old[key] != new[key]:
                typer.echo(f"  {key}: {old[key]!r} → {new[key]!r}")
    _print_routing(today)
