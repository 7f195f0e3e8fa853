"""Classify appeals with the shipped model: batch and single, loaded once per process."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from classifiers.detectors import detect_flags
from classifiers.model import ARTIFACT, Model, load
from classifiers.result import KINDS, Classification

MODEL_NAME = "svm-stems-chars"


class Classifier:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.version = f"{MODEL_NAME}@{model.metadata.get('trained_at', 'unknown')}"

    def classify_batch(self, items: Sequence[tuple[str, str]]) -> list[Classification]:
        if not items:
            return []
        subjects = [subject or "" for subject, _ in items]
        texts = [text or "" for _, text in items]
        # No scikit-learn here: the model is its vocabulary, idf and linear heads as arrays
        # (classifiers/model.py: Tfidf, LinearHead), so none of its checks run and it is not imported.
        probabilities = self.model.predict_proba(subjects, texts)
        results = []
        for index, (subject, text) in enumerate(zip(subjects, texts)):
            kind_scores = {kind: round(probabilities["kind"][index].get(kind, 0.0), 4) for kind in KINDS}
            topic_scores = probabilities["topic"][index]
            scope_scores = probabilities["scope"][index]
            kind = max(kind_scores, key=kind_scores.get)
            topic = max(topic_scores, key=topic_scores.get)
            scope = max(scope_scores, key=scope_scores.get)
            results.append(Classification(
                kind=kind,
                kind_confidence=kind_scores[kind],
                kind_scores=kind_scores,
                topic=topic,
                topic_confidence=round(topic_scores[topic], 4),
                scope=scope,
                scope_confidence=round(scope_scores[scope], 4),
                flags=detect_flags(subject, text),
                model=self.version,
            ))
        return results

    def classify(self, subject: str, text: str) -> Classification:
        return self.classify_batch([(subject, text)])[0]


@lru_cache(maxsize=4)
def classifier_at(path: Path = ARTIFACT) -> Classifier:
    """The classifier of the artifact at ``path``, loaded once per process."""
    return Classifier(load(path))
