"""`mailrobot routes check|test|explain`: what admins run before and after editing routing_rules.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from robot.config import Settings

app = typer.Typer(help="Routing rules (routing_rules.yaml).", no_args_is_help=True)

FileArgument = Annotated[Optional[Path], typer.Argument(help="Rules file (default: MAILROBOT_ROUTING_RULES).")]


def _load(path: Path | None):
    from robot.routing import RulesError, load_rules

    path = path or Settings.load().routing_rules
    try:
        return load_rules(path)
    except RulesError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{path}: {len(error.problems)} error(s); the file is refused", err=True)
        raise typer.Exit(1) from None
    except (OSError, UnicodeDecodeError) as error:
        typer.echo(f"{path}: {error}", err=True)
        raise typer.Exit(1) from None


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
    """Run the file's own `tests:` examples; exit 1 if any goes to another queue."""
    from robot.routing import Facts, Gazetteer, route

    loaded = _load(path)
    gazetteer = Gazetteer(loaded.rules)
    failed = 0
    for number, case in enumerate(loaded.rules.tests, 1):
        routing = route(loaded, gazetteer, Facts(subject=case.subject, text=case.text, kind=case.kind,
                                                 topic=case.topic, scope=case.scope, flags=case.flags,
                                                 status="registered", channel="email"))
        ok = routing.queue == case.expect_queue
        failed += not ok
        mark = "ok  " if ok else "FAIL"
        typer.echo(f"{mark} {number}: expected {case.expect_queue}, got {routing.queue} — {case.text[:60]!r}")
    typer.echo(f"{len(loaded.rules.tests) - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


@app.command("explain")
def explain(
    eml: Annotated[Optional[Path], typer.Argument(help="An e-mail (.eml) to route.")] = None,
    text: Annotated[Optional[str], typer.Option(help="Route this text instead of an e-mail.")] = None,
    rules_file: Annotated[Optional[Path], typer.Option("--rules", help="Rules file.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Why an appeal goes where it goes: classifier result, territory and evidence, every rule's verdict."""
    from classifiers import classify
    from robot.mail.parse import parse
    from robot.routing import Facts, Gazetteer, route

    if (eml is None) == (text is None):
        raise typer.BadParameter("give an .eml file or --text")
    if eml is not None:
        mail = parse(eml.read_bytes())
        subject, body, sender = mail.subject, mail.text, mail.from_addr
    else:
        subject, body, sender = "", text or "", None
    from robot.pipeline.decide import decide

    settings = Settings.load()
    loaded = _load(rules_file)
    result = classify(subject, body)
    # The same decision the pipeline takes (R7, R9, triage), since rules look at its status.
    decision = decide(result, kind_threshold=settings.classifier_kind_threshold,
                      scope_threshold=settings.classifier_scope_threshold, has_reply_channel=True)
    routing = route(loaded, Gazetteer(loaded.rules), Facts(
        subject=subject, text=body, kind=result.kind, topic=result.topic, scope=result.scope, flags=result.flags,
        status=decision.status, channel="email", sender=sender))
    if as_json:
        typer.echo(json.dumps({"classification": result.as_dict(), "routing": routing.as_dict()},
                              ensure_ascii=False, indent=2))
        return
    t = routing.territory
    typer.echo(f"classifier: {result.kind} ({result.kind_confidence:.2f}), topic {result.topic}, "
               f"scope {result.scope}, flags {result.flags or '-'}; status {decision.status}")
    typer.echo(f"territory:  {t.region or '?'} / {t.district or '?'} / {t.branch or '?'} / {t.unit or '?'} "
               f"(confidence {t.confidence:.2f})")
    for line in t.evidence:
        typer.echo(f"  evidence: {line}")
    for step in routing.trace:
        if step["verdict"] == "hit":
            typer.echo(f"  HIT   {step['rule']} → {step['queue']}")
        else:
            typer.echo(f"  miss  {step['rule']}: {step['reason']}")
    typer.echo(f"decision:   queue {routing.queue}" + (f", assigned to {routing.assignee}" if routing.assignee else "")
               + f" (rules version {routing.rules_version})")
