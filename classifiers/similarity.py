"""How close a new appeal is to earlier ones: the Standard's "repeat with no new arguments" (R7).

Cosine similarity of the texts' TF-IDF vectors over Snowball stems and stem pairs — the shipped
model's own word features — so that reworded repeats match and a new fact lowers the score.
"""

from __future__ import annotations

from collections.abc import Sequence

from classifiers.predict import classifier_at
from classifiers.text import normalise


def closest(new: tuple[str, str], earlier: Sequence[tuple[str, str]]) -> tuple[int, float] | None:
    """(index, cosine) of the earlier appeal most like ``new``, or None when there is none."""
    if not earlier:
        return None
    words = classifier_at().model.words
    docs = [normalise(subject, text) for subject, text in (new, *earlier)]
    vectors = words.transform(docs)  # rows are L2-normalised: a dot product is the cosine
    scores = (vectors[1:] @ vectors[0].T).toarray().ravel()
    best = int(scores.argmax())
    return best, float(scores[best])
