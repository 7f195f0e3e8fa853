"""Classifiers: what an appeal is (kind, topic, scope) and the Standard's flags.

A leaf package: it imports nothing from ``robot`` or ``workers``. The pipeline calls
:func:`classify` and nothing else, so the model behind it can change without touching the robot.
"""

from __future__ import annotations

from classifiers.result import KINDS, Classification
from classifiers.baseline import classify_keywords


def classify(subject: str, text: str) -> Classification:
    """Classify one appeal. Until the trained model lands this is the keyword baseline."""
    return classify_keywords(subject, text)


__all__ = ["KINDS", "Classification", "classify"]
