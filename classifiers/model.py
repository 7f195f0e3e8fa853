"""The trained model: shared Russian-aware features and one calibrated linear head per question.

Heads: ``kind`` (question / application / complaint, R5), ``topic`` (the journal's тематика) and
``scope`` (in / out: is it the grid company's business at all, R9). Features are TF-IDF over
Snowball stems (words and word pairs) plus character n-grams of the normalised text, which
survive typos and transliteration. Each head is a linear SVM calibrated with Platt scaling, so
every label has a probability.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from scipy.sparse import hstack
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from classifiers.text import normalise, stems

ARTIFACT = Path(__file__).resolve().parent / "model" / "classifier.pkl"
FORMAT = 1
HEADS = ("kind", "topic", "scope")


class ModelMismatch(RuntimeError):
    """The artifact was built by another scikit-learn or format version."""


def stem_features(normalised: str) -> list[str]:
    words = stems(normalised)
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


def _vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    words = TfidfVectorizer(analyzer=stem_features, min_df=2, sublinear_tf=True, dtype=np.float32)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, max_features=120_000,
                            sublinear_tf=True, dtype=np.float32)
    return words, chars


@dataclass
class Model:
    words: TfidfVectorizer
    chars: TfidfVectorizer
    heads: dict[str, CalibratedClassifierCV]
    metadata: dict[str, Any] = field(default_factory=dict)

    def features(self, subjects: list[str], texts: list[str]):
        docs = [normalise(s, t) for s, t in zip(subjects, texts)]
        return hstack([self.words.transform(docs), self.chars.transform(docs)]).tocsr()

    def predict_proba(self, subjects: list[str], texts: list[str]) -> dict[str, list[dict[str, float]]]:
        """For each head, one {label: probability} per text."""
        matrix = self.features(subjects, texts)
        out = {}
        # Our own matrices are finite and well-formed; scikit-learn's checks cost a third of the
        # time of classifying a single message.
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            probabilities_by_head = {name: head.predict_proba(matrix) for name, head in self.heads.items()}
        for name, head in self.heads.items():
            probabilities = probabilities_by_head[name]
            labels = [str(label) for label in head.classes_]
            out[name] = [dict(zip(labels, map(float, row))) for row in probabilities]
        return out

    def save(self, path: Path = ARTIFACT) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(".tmp")
        with open(temp, "wb") as handle:
            pickle.dump({"format": FORMAT, "sklearn": sklearn.__version__, "model": self}, handle,
                        protocol=pickle.HIGHEST_PROTOCOL)
        temp.replace(path)


def fit(subjects: list[str], texts: list[str], labels: dict[str, list[str | None]], *, c: float = 0.5) -> Model:
    """Train the shared features and every head on the rows that carry that head's label."""
    words, chars = _vectorizers()
    docs = [normalise(s, t) for s, t in zip(subjects, texts)]
    matrix = hstack([words.fit_transform(docs), chars.fit_transform(docs)]).tocsr()
    heads = {}
    for name in HEADS:
        rows = [i for i, label in enumerate(labels[name]) if label]
        svm = LinearSVC(C=c, class_weight="balanced")
        # ensemble=False: one SVM on all rows, calibrated on cross-validated scores; a third of
        # the size and the prediction time of keeping one SVM per fold.
        head = CalibratedClassifierCV(svm, method="sigmoid", cv=3, ensemble=False)
        head.fit(matrix[rows], [labels[name][i] for i in rows])
        heads[name] = head
    return Model(words=words, chars=chars, heads=heads)


def load(path: Path = ARTIFACT) -> Model:
    """Load the artifact; refuse one built by another scikit-learn (its pickles are not portable)."""
    if not path.exists():
        raise FileNotFoundError(f"no trained classifier at {path}; run `mailrobot classifier train`")
    with open(path, "rb") as handle:
        # The artifact is our own file, shipped in the package; it is never taken from outside.
        payload = pickle.load(handle)  # noqa: S301
    if payload.get("format") != FORMAT or payload.get("sklearn") != sklearn.__version__:
        raise ModelMismatch(
            f"{path} was built with scikit-learn {payload.get('sklearn')} (format {payload.get('format')}); "
            f"this is scikit-learn {sklearn.__version__}. Run `mailrobot classifier train` to rebuild it."
        )
    return payload["model"]
