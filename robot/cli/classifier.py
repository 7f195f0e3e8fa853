"""`mailrobot classify` and `mailrobot classifier eval|train`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from classifiers.train import Scores

app = typer.Typer(help="The classifier of appeals: evaluate and train it.", no_args_is_help=True)

#: Texts classified together; a batch amortises the model's per-call overhead.
BATCH = 256


def classify_stream(plain: bool) -> None:
    """Read appeals from stdin, write one JSON line per appeal to stdout."""
    from classifiers import classify_batch

    def flush(items: list[tuple[str, str]]) -> None:
        for result in classify_batch(items):
            sys.stdout.write(json.dumps({
                "kind": result.kind, "kind_confidence": result.kind_confidence, "kind_scores": result.kind_scores,
                "topic": result.topic, "scope": result.scope, "scope_confidence": result.scope_confidence,
                "flags": result.flags,
            }, ensure_ascii=False) + "\n")

    items: list[tuple[str, str]] = []
    for number, line in enumerate(sys.stdin, 1):
        line = line.rstrip("\n")
        if plain:
            items.append(("", line))
        elif line.strip():
            try:
                row = json.loads(line)
                items.append((str(row.get("subject") or ""), str(row["text"])))
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
                raise typer.BadParameter(f'line {number}: expected {{"subject": ..., "text": ...}} ({error})')
        if len(items) >= BATCH:
            flush(items)
            items = []
    flush(items)


@app.command("eval")
def evaluate_file(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON lines with text, kind, "
                                                                                    "optional subject and scope")],
                  as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Precision, recall, F1, macro-F1 and confusion for kind and scope, beside a keyword baseline."""
    from classifiers import classify_batch
    from classifiers.baseline import classify_keywords
    from classifiers.corpus import read_jsonl
    from classifiers.evaluate import evaluate

    rows = read_jsonl(path)
    model = evaluate(rows, classify_batch)
    baseline = evaluate(rows, lambda items: [classify_keywords(s, t) for s, t in items])
    if as_json:
        typer.echo(json.dumps({"model": {k: vars(v) for k, v in model.items()},
                               "baseline": {k: vars(v) for k, v in baseline.items()}}, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{path}: {len(rows)} rows\n")
    for head in model:
        typer.echo("model    " + model[head].as_text().replace("\n", "\n         "))
        typer.echo("baseline " + baseline[head].as_text().replace("\n", "\n         ") + "\n")


@app.command("train")
def train_model(
    ctx: typer.Context,
    include_corrections: Annotated[bool, typer.Option(help="Add the specialists' corrections from the database.")]
    = False,
) -> None:
    """Retrain from the shipped corpus; replace the model only if held-out kind macro-F1 is not worse
    (on the corpus's held-out part, and on the held-out corrections once there are enough)."""
    from classifiers.train import CORRECTIONS_TO_JUDGE, train

    extra = []
    if include_corrections:
        from robot.cli.context import open_robot
        from robot.pipeline.correct import corrected_examples

        extra = corrected_examples(open_robot(ctx))
        typer.echo(f"{len(extra)} corrected appeal(s) from the database")
    result = train(extra)
    typer.echo("held-out part of the corpus:")
    for report in result.heldout.values():
        typer.echo(report.as_text())
    if result.corrections is not None:
        judged = "judged by" if result.scores.corrections is not None else f"too few to judge by (< {CORRECTIONS_TO_JUDGE})"
        typer.echo(f"held-out corrections (real mail, never trained on; {judged}):")
        for report in result.corrections.values():
            typer.echo(report.as_text())
    verdict = "replaced the active model" if result.replaced else "kept the active model (the new one is worse)"
    typer.echo(f"trained in {result.seconds:.1f} s; kind macro-F1 {_scores(result.scores)} "
               f"(active: {_scores(result.previous)}); {verdict}")


def _scores(scores: Scores | None) -> str:
    if scores is None:
        return "none"
    text = f"held-out {scores.corpus:.3f}"
    return text if scores.corrections is None else f"{text}, corrections {scores.corrections:.3f}"
