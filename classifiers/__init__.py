"""Classifiers: what an appeal is (kind, topic, scope) and the Standard's flags.

A leaf package: it imports nothing from ``robot`` or ``workers``. The pipeline calls
:func:`classify` and nothing else, so the model behind it can change without touching the robot.
The model (NumPy, SciPy's sparse matrices) is imported on first use, not with the package: the SMTP gateway
uses the light parts (text normalisation) and should not carry it.
"""

from __future__ import annotations

from classifiers.result import FLAGS, KINDS, TOPICS, Classification


def classify(subject: str, text: str) -> Classification:
    """Classify one appeal with the shipped model (loaded once per process)."""
    from classifiers.predict import classifier_at

    return classifier_at().classify(subject, text)


def classify_batch(items: list[tuple[str, str]]) -> list[Classification]:
    from classifiers.predict import classifier_at

    return classifier_at().classify_batch(items)


__all__ = ["FLAGS", "KINDS", "TOPICS", "Classification", "classify", "classify_batch"]
