"""Evaluation: per-class precision, recall, F1, macro-F1 and the confusion matrix, model vs baseline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from classifiers.corpus import Example
from classifiers.result import KINDS, Classification


@dataclass
class HeadReport:
    head: str
    labels: list[str]
    rows: int
    macro_f1: float
    accuracy: float
    per_class: dict[str, dict[str, float]]
    confusion: list[list[int]]

    def as_text(self) -> str:
        lines = [f"{self.head}: {self.rows} rows, macro-F1 {self.macro_f1:.3f}, accuracy {self.accuracy:.3f}",
                 f"  {'label':<14}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}"]
        for label in self.labels:
            c = self.per_class[label]
            lines.append(f"  {label:<14}{c['precision']:>10.3f}{c['recall']:>8.3f}{c['f1']:>7.3f}{int(c['support']):>9}")
        lines.append("  confusion (rows: truth, columns: predicted " + " / ".join(self.labels) + ")")
        for label, row in zip(self.labels, self.confusion):
            lines.append(f"  {label:<14}" + "".join(f"{n:>8}" for n in row))
        return "\n".join(lines)


def head_report(head: str, truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> HeadReport:
    labels = list(labels)
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels,
                                                                     zero_division=0)
    return HeadReport(
        head=head,
        labels=labels,
        rows=len(truth),
        macro_f1=float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)),
        accuracy=sum(t == p for t, p in zip(truth, predicted)) / max(len(truth), 1),
        per_class={label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                   for label, p, r, f, s in zip(labels, precision, recall, f1, support)},
        confusion=confusion_matrix(truth, predicted, labels=labels).tolist(),
    )


def evaluate(rows: Sequence[Example], classify: Callable[[list[tuple[str, str]]], list[Classification]],
             ) -> dict[str, HeadReport]:
    """Reports for kind (all rows) and scope (rows labelled in or out; `unclear` is skipped)."""
    results = classify([(row.subject, row.text) for row in rows])
    reports = {"kind": head_report("kind", [r.kind for r in rows], [c.kind for c in results], KINDS)}
    scoped = [(row.scope, c.scope) for row, c in zip(rows, results) if row.scope in ("in", "out")]
    if scoped:
        reports["scope"] = head_report("scope", [t for t, _ in scoped], [p for _, p in scoped], ("in", "out"))
    return reports
