"""Train the classifier from the shipped corpus (plus specialists' corrections) and judge it.

The held-out part of the corpus is never trained or tuned on; a new model replaces the active
one only if its kind macro-F1 on that part is not worse.

Specialists' corrections are real mail, which the corpus (written by the team) is not: a model
that gains on the corpus can lose on real letters (BENCHMARKS.md, Classifier, seventh pass). So
the corrections are split the way the corpus is, by a hash of their id (the same appeal always
falls on the same side): a fifth is never trained on, and once it holds
:data:`CORRECTIONS_TO_JUDGE` appeals, a new model must not be worse on it either.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sklearn

from classifiers.augment import length_balanced
from classifiers.corpus import Example, is_heldout, load_corpus
from classifiers.evaluate import HeadReport, evaluate
from classifiers.model import ARTIFACT, ModelMismatch, fit, load
from classifiers.predict import Classifier

#: How the shipped model is built. Kind and topic read stems and character n-grams; scope also reads
#: the binary domain cues (classifiers/cues.py): whose business a letter is does not depend on its
#: length, and cues for kind made the held-out part worse (0.958 → 0.942 kind macro-F1).
#: Offsets (log) shift the calibrated probabilities: scope towards `out` (P(out) >= 0.3 reads out,
#: ln(0.7/0.3) = 0.847) and kind a little towards question and application. Both chosen by
#: five-fold cross-validation of the training part and leave-one-corpus-out on E–M, never on the
#: held-out part (BENCHMARKS.md, Classifier).
OPTIONS = {"cue_weight": 1.0, "head_blocks": {"kind": ("words", "chars"), "topic": ("words", "chars")},
           "offsets": {"scope": {"out": 0.847}, "kind": {"question": 0.4, "application": 0.2}}}

#: Held-out corrections needed before they judge a new model (fewer: reported, not judged; a
#: macro-F1 over a handful of letters moves by a tenth with one letter).
CORRECTIONS_TO_JUDGE = 30


@dataclass(frozen=True)
class Scores:
    """Kind macro-F1 of a model on the corpus's held-out part and on the held-out corrections."""

    corpus: float
    corrections: float | None = None  # None: too few held-out corrections to judge by

    def not_worse_than(self, active: Scores | None) -> bool:
        if active is None:
            return True
        if self.corpus < active.corpus:
            return False
        return self.corrections is None or active.corrections is None or self.corrections >= active.corrections


@dataclass
class TrainingResult:
    classifier: Classifier
    heldout: dict[str, HeadReport]
    #: The new model on the held-out corrections (real mail); None when there are none.
    corrections: dict[str, HeadReport] | None
    scores: Scores
    previous: Scores | None
    replaced: bool
    seconds: float


def split_corrections(extra: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """(to train on, to judge by): the same hash split as the corpus's, so an appeal stays on its side."""
    return [e for e in extra if not is_heldout(e.id)], [e for e in extra if is_heldout(e.id)]


def train(extra: Sequence[Example] = (), *, path: Path = ARTIFACT, save: bool = True) -> TrainingResult:
    started = time.perf_counter()
    train_rows, heldout = load_corpus()
    extra, judging = split_corrections(extra)
    rows = [*train_rows, *extra]
    letters = length_balanced(rows)
    rows += letters
    model = fit([r.subject for r in rows], [r.text for r in rows],
                {"kind": [r.kind for r in rows], "topic": [r.topic for r in rows], "scope": [r.scope for r in rows]},
                **OPTIONS)
    model.metadata = {
        "trained_at": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "sklearn": sklearn.__version__,
        "train_rows": len(train_rows),
        "extra_rows": len(extra),
        "corrections_heldout": len(judging),
        "letter_copies": len(letters),
        "heldout_rows": len(heldout),
    }
    classifier = Classifier(model)
    reports = evaluate(heldout, classifier.classify_batch)
    corrections = evaluate(judging, classifier.classify_batch) if judging else None
    scores = _scores(reports, corrections, len(judging))
    model.metadata["heldout_kind_macro_f1"] = reports["kind"].macro_f1
    if corrections is not None:
        model.metadata["corrections_heldout_kind_macro_f1"] = corrections["kind"].macro_f1

    previous = _active_scores(path, heldout, judging)
    replaced = save and scores.not_worse_than(previous)
    if replaced:
        model.save(path)
    return TrainingResult(classifier, reports, corrections, scores, previous, replaced,
                          time.perf_counter() - started)


def _scores(corpus: dict[str, HeadReport], corrections: dict[str, HeadReport] | None, judging: int) -> Scores:
    judged = corrections is not None and judging >= CORRECTIONS_TO_JUDGE
    return Scores(corpus["kind"].macro_f1, corrections["kind"].macro_f1 if judged else None)


def _active_scores(path: Path, heldout: Sequence[Example], judging: Sequence[Example]) -> Scores | None:
    """The active model on today's held-out part and held-out corrections (both grow with time)."""
    try:
        active = Classifier(load(path))
    except (FileNotFoundError, ModelMismatch):
        return None
    corrections = evaluate(judging, active.classify_batch) if judging else None
    return _scores(evaluate(heldout, active.classify_batch), corrections, len(judging))
