"""The trained model: shared Russian-aware features and one calibrated linear head per question.

Heads: ``kind`` (question / application / complaint, R5), ``topic`` (the journal's тематика) and
``scope`` (in / out: is it the grid company's business at all, R9). Features are TF-IDF over
Snowball stems (words and word pairs) plus character n-grams of the normalised text, which
survive typos and transliteration, plus binary domain cues (``classifiers/cues.py``) that a head
may read or not (the shipped scope head does; kind and topic do not, see ``train.OPTIONS``).
Each head is a linear SVM calibrated with Platt scaling, so every label has a probability.

Training uses scikit-learn; the artifact does not. Its vectorizers (:class:`Tfidf`) and heads
(:class:`LinearHead`) are scikit-learn's reduced to arrays, checked at training to give the same
numbers, so a process that only classifies never imports scikit-learn (about 0.9 s of its start).
"""

from __future__ import annotations

import itertools
import pickle
import re
from collections import Counter
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.sparse import csr_matrix, hstack

from classifiers.cues import cue_matrix
from classifiers.text import normalise, stems

if TYPE_CHECKING:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer

ARTIFACT = Path(__file__).resolve().parent / "model" / "classifier.pkl"
FORMAT = 6  # 3: domain cues and per-head feature blocks; 4: more cues; 5: TF-IDF without scikit-learn (Tfidf);
#            6: per-head label offsets (Model.offsets)
HEADS = ("kind", "topic", "scope")


class ModelMismatch(RuntimeError):
    """The artifact was built by another scikit-learn or format version."""


def stem_features(normalised: str) -> list[str]:
    words = stems(normalised)
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


def sklearn_version() -> str:
    """The installed scikit-learn's version, read without importing it (an import costs ~0.9 s)."""
    from importlib.metadata import version

    return version("scikit-learn")


_WHITE_SPACES = re.compile(r"\s\s+")


def char_wb_ngrams(text: str, min_n: int = 2, max_n: int = 5) -> list[str]:
    """Character n-grams inside word boundaries, words padded with a space: scikit-learn's ``char_wb``."""
    ngrams: list[str] = []
    append = ngrams.append
    for word in _WHITE_SPACES.sub(" ", text.lower()).split():
        word = f" {word} "
        length = len(word)
        for n in range(min_n, max_n + 1):
            offset = 0
            append(word[offset:offset + n])
            while offset + n < length:
                offset += 1
                append(word[offset:offset + n])
            if offset == 0:  # a short word counts once
                break
    return ngrams


#: Distinct words whose n-gram columns a process keeps (about 2 MB); the cache starts over beyond it.
_WORD_CACHE = 10_000


@dataclass
class Tfidf:
    """A fitted ``TfidfVectorizer`` (sublinear tf, idf, L2 rows) reduced to its vocabulary and idf.

    Prediction then needs neither scikit-learn nor its import time (0.9 s of a worker's start).
    Built by :meth:`from_sklearn`; training checks that both give the same matrix.

    In memory the vocabulary is two NumPy arrays (the terms sorted, and their columns), not a
    dict: a dict's look-up writes to the int it returns (its reference count), so every worker
    forked after the model was loaded made private copies of the pages it read; the arrays are
    read without touching a Python object, and take a few MB instead of a dict's tens of
    thousands of objects. The artifact still stores the dict (``__getstate__``), so its format is
    unchanged. No term holds a NUL (``normalise`` turns it into a space).
    """

    analyzer: str  # "stems" (stems and stem pairs) or "char_wb"
    ngram_range: tuple[int, int]
    vocabulary: InitVar[dict[str, int]]
    idf: np.ndarray
    terms: np.ndarray = field(init=False, repr=False)
    columns: np.ndarray = field(init=False, repr=False)

    def __post_init__(self, vocabulary: dict[str, int]) -> None:
        self._index(vocabulary)

    def _index(self, vocabulary: dict[str, int]) -> None:
        terms = sorted(vocabulary)
        self.terms = np.array(terms, dtype=str)
        self.columns = np.fromiter((vocabulary[t] for t in terms), dtype=np.int64, count=len(terms))

    @property
    def size(self) -> int:
        return len(self.terms)

    @classmethod
    def from_sklearn(cls, vectorizer: TfidfVectorizer) -> Tfidf:
        if not (vectorizer.sublinear_tf and vectorizer.use_idf and vectorizer.norm == "l2"
                and vectorizer.dtype == np.float32):
            raise ValueError("only sublinear, idf-weighted, L2-normalised float32 vectorizers are reduced")
        if vectorizer.analyzer is stem_features:
            analyzer = "stems"
        elif vectorizer.analyzer == "char_wb" and vectorizer.lowercase and vectorizer.strip_accents is None:
            analyzer = "char_wb"
        else:
            raise ValueError(f"analyzer {vectorizer.analyzer!r} is not reduced")
        vocabulary = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
        if any("\x00" in term for term in vocabulary):
            raise ValueError("a term with a NUL character cannot be looked up in a NumPy string array")
        return cls(analyzer=analyzer, ngram_range=tuple(vectorizer.ngram_range), vocabulary=vocabulary,
                   idf=np.asarray(vectorizer.idf_))

    def analyze(self, doc: str) -> list[str]:
        return stem_features(doc) if self.analyzer == "stems" else char_wb_ngrams(doc, *self.ngram_range)

    def __getstate__(self) -> dict[str, Any]:
        # Stored as the dict it was built from: the artifact's format does not depend on this
        # in-memory form, and a process's word cache is not part of the model.
        return {"analyzer": self.analyzer, "ngram_range": self.ngram_range, "idf": self.idf,
                "vocabulary": dict(zip(self.terms.tolist(), self.columns.tolist()))}

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        vocabulary = state.pop("vocabulary")
        self.__dict__.update(state)
        self._index(vocabulary)

    def lookup(self, features: list[str]) -> np.ndarray:
        """The column of each feature, -1 for a feature not in the vocabulary."""
        query = np.array(features, dtype=str)
        if not len(query) or not len(self.terms):
            return np.full(len(query), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.terms, query), len(self.terms) - 1)
        # NumPy's strings drop trailing NULs; neither side has one (``normalise`` turns NUL into
        # a space, and from_sklearn refuses a term with one).
        return np.where(self.terms[at] == query, self.columns[at], -1)

    def _char_counts(self, doc: str) -> tuple[np.ndarray, np.ndarray]:
        """Columns (sorted) and counts of ``doc``'s character n-grams. The n-grams stay inside
        words, so each distinct word is looked up once, and repeated words add their count. A
        word's columns are cached for the process as packed int32 (the same words come back in
        every letter; 10,000 words take about 2 MB)."""
        cache: dict[str, bytes] = self.__dict__.setdefault("_word_columns", {})
        if len(cache) > _WORD_CACHE:
            cache.clear()
        words = Counter(doc.lower().split())
        new = [word for word in words if word not in cache]
        if new:
            grams = [char_wb_ngrams(word, *self.ngram_range) for word in new]
            found = self.lookup([gram for word_grams in grams for gram in word_grams]).astype(np.int32)
            at = 0
            for word, word_grams in zip(new, grams):
                columns = found[at:at + len(word_grams)]
                cache[word] = columns[columns >= 0].tobytes()
                at += len(word_grams)
        packed = [cache[word] for word in words]
        columns = np.frombuffer(b"".join(packed), dtype=np.int32)
        weights = np.repeat(np.fromiter(words.values(), dtype=np.int64, count=len(words)),
                            [len(columns_of_word) // 4 for columns_of_word in packed])
        unique, at_unique = np.unique(columns, return_inverse=True)
        return unique, np.bincount(at_unique, weights=weights, minlength=len(unique))

    def transform(self, docs: list[str]) -> csr_matrix:
        indices: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        indptr = [0]
        for doc in docs:
            if self.analyzer == "char_wb":
                columns, found = self._char_counts(doc)
            else:
                looked_up = self.lookup(self.analyze(doc))
                columns, found = np.unique(looked_up[looked_up >= 0], return_counts=True)
            indices.append(columns)
            counts.append(found)
            indptr.append(indptr[-1] + len(columns))
        matrix = csr_matrix((np.concatenate(counts).astype(np.float32) if counts else np.zeros(0, np.float32),
                             np.concatenate(indices).astype(np.int64) if indices else np.zeros(0, np.int64),
                             np.asarray(indptr, dtype=np.int64)), shape=(len(docs), self.size), dtype=np.float32)
        matrix.sort_indices()
        data = matrix.data
        np.log(data, data)
        data += 1
        data *= self.idf[matrix.indices]
        # L2 rows: each row's sum of squares from a running sum (empty rows stay empty).
        running = np.concatenate([[0.0], np.cumsum(data.astype(np.float64) ** 2)])
        norms = np.sqrt(running[matrix.indptr[1:]] - running[matrix.indptr[:-1]])
        norms[norms == 0] = 1.0
        data /= np.repeat(norms, np.diff(matrix.indptr)).astype(np.float32)
        return matrix


def _vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    words = TfidfVectorizer(analyzer=stem_features, min_df=2, sublinear_tf=True, dtype=np.float32)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, max_features=120_000,
                            sublinear_tf=True, dtype=np.float32)
    return words, chars


@dataclass
class LinearHead:
    """A calibrated linear head reduced to its numbers: what scikit-learn computes, minus its checks.

    Scores are ``X @ coef.T + intercept``; each class's score goes through its Platt sigmoid, and
    the probabilities are normalised (for two classes, the second is one minus the first). Built
    from a fitted ``CalibratedClassifierCV(..., ensemble=False)``; training checks that both give
    the same probabilities.
    """

    classes: list[str]
    coef: np.ndarray
    intercept: np.ndarray
    a: np.ndarray
    b: np.ndarray

    @classmethod
    def from_calibrated(cls, head: CalibratedClassifierCV) -> LinearHead:
        [calibrated] = head.calibrated_classifiers_
        svm = calibrated.estimator
        if list(svm.classes_) != list(head.classes_):
            raise ValueError("the SVM's classes differ from the calibrated head's")
        return cls(
            classes=[str(c) for c in head.classes_],
            coef=np.asarray(svm.coef_, dtype=np.float64),
            intercept=np.asarray(svm.intercept_, dtype=np.float64),
            a=np.array([c.a_ for c in calibrated.calibrators], dtype=np.float64),
            b=np.array([c.b_ for c in calibrated.calibrators], dtype=np.float64),
        )

    def predict_proba(self, matrix) -> np.ndarray:
        scores = np.asarray(matrix @ self.coef.T) + self.intercept
        calibrated = 1.0 / (1.0 + np.exp(self.a * scores + self.b))  # scipy's expit(-(a·s + b))
        if len(self.classes) == 2:
            return np.column_stack([1.0 - calibrated[:, 0], calibrated[:, 0]])
        total = calibrated.sum(axis=1, keepdims=True)
        uniform = np.full_like(calibrated, 1.0 / len(self.classes))
        return np.where(total > 0, calibrated / np.where(total > 0, total, 1.0), uniform)


@dataclass
class Model:
    words: Tfidf
    chars: Tfidf
    heads: dict[str, LinearHead]
    metadata: dict[str, Any] = field(default_factory=dict)
    #: Weight of the binary domain cues (classifiers/cues.py) appended to the TF-IDF features.
    cue_weight: float = 0.0
    #: Per head, a log-offset per label added to the calibrated probabilities before they are
    #: renormalised (a prior shift: ``p'(c) ∝ p(c)·e^offset``); labels not named keep 0.
    offsets: dict[str, dict[str, float]] = field(default_factory=dict)

    def features(self, subjects: list[str], texts: list[str]):
        docs = [normalise(s, t) for s, t in zip(subjects, texts)]
        return _matrix(docs, self.words.transform(docs), self.chars.transform(docs), self.cue_weight)

    def predict_proba(self, subjects: list[str], texts: list[str]) -> dict[str, list[dict[str, float]]]:
        """For each head, one {label: probability} per text."""
        matrix = self.features(subjects, texts)
        out = {}
        for name, head in self.heads.items():
            probabilities = head.predict_proba(matrix)
            if self.offsets.get(name):
                shift = np.exp([self.offsets[name].get(label, 0.0) for label in head.classes])
                probabilities = probabilities * shift
                probabilities /= probabilities.sum(axis=1, keepdims=True)
            out[name] = [dict(zip(head.classes, map(float, row))) for row in probabilities]
        return out

    def save(self, path: Path = ARTIFACT) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(".tmp")
        with open(temp, "wb") as handle:
            pickle.dump({"format": FORMAT, "sklearn": sklearn_version(), "model": self}, handle,
                        protocol=pickle.HIGHEST_PROTOCOL)
        temp.replace(path)


def _matrix(docs: list[str], words, chars, cue_weight: float):
    blocks = [words, chars]
    if cue_weight:
        blocks.append(cue_matrix(docs, cue_weight))
    return hstack(blocks).tocsr()


#: The feature blocks each head reads (stems, character n-grams, domain cues).
BLOCKS = ("words", "chars", "cues")


def fit(subjects: list[str], texts: list[str], labels: dict[str, list[str | None]], *, c: float = 0.5,
        cue_weight: float = 0.0, head_blocks: dict[str, tuple[str, ...]] | None = None,
        offsets: dict[str, dict[str, float]] | None = None) -> Model:
    """Train the shared features and every head on the rows that carry that head's label.

    ``head_blocks`` restricts a head to some feature blocks (all by default); its weights for the
    other columns are zero, so every head still reads the one shared matrix. ``offsets`` are stored
    as the model's per-head label offsets (:attr:`Model.offsets`), applied at prediction.
    """
    # Imported here, not at the top: a worker only loads the model, and these modules cost
    # about a tenth of a second of its start (the load target is 1 s).
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    words, chars = _vectorizers()
    docs = [normalise(s, t) for s, t in zip(subjects, texts)]
    word_matrix, char_matrix = words.fit_transform(docs), chars.fit_transform(docs)
    reduced_words, reduced_chars = Tfidf.from_sklearn(words), Tfidf.from_sklearn(chars)
    # The reduced vectorizers must give scikit-learn's matrix.
    for sklearn_matrix, reduced in ((word_matrix, reduced_words), (char_matrix, reduced_chars)):
        sample = docs[:300]
        if abs(reduced.transform(sample) - sklearn_matrix[:300]).max() > 1e-5:
            raise AssertionError(f"the reduced {reduced.analyzer} vectorizer disagrees with scikit-learn")
    matrix = _matrix(docs, word_matrix, char_matrix, cue_weight)
    n_words, n_chars = word_matrix.shape[1], char_matrix.shape[1]
    spans = {"words": np.r_[0:n_words], "chars": np.r_[n_words:n_words + n_chars],
             "cues": np.r_[n_words + n_chars:matrix.shape[1]]}
    heads = {}
    for name in HEADS:
        rows = [i for i, label in enumerate(labels[name]) if label]
        blocks = (head_blocks or {}).get(name, BLOCKS)
        columns = None if set(BLOCKS) <= set(blocks) else np.concatenate([spans[b] for b in blocks])
        svm = LinearSVC(C=c, class_weight="balanced")
        # ensemble=False: one SVM on all rows, calibrated on cross-validated scores; a third of
        # the size and the prediction time of keeping one SVM per fold.
        head = CalibratedClassifierCV(svm, method="sigmoid", cv=3, ensemble=False)
        sub = matrix[rows] if columns is None else matrix[rows][:, columns]
        head.fit(sub, [labels[name][i] for i in rows])
        heads[name] = LinearHead.from_calibrated(head)
        if columns is not None:
            full = np.zeros((heads[name].coef.shape[0], matrix.shape[1]))
            full[:, columns] = heads[name].coef
            heads[name].coef = full
        # The reduced head, reading the whole matrix, must say exactly what scikit-learn says.
        sample = matrix[rows[:200]]
        expected = head.predict_proba(sample if columns is None else sample[:, columns])
        if not np.allclose(heads[name].predict_proba(sample), expected, atol=1e-9):
            raise AssertionError(f"the reduced {name} head disagrees with scikit-learn")
    return Model(words=reduced_words, chars=reduced_chars, heads=heads, cue_weight=cue_weight,
                 offsets={name: dict(v) for name, v in (offsets or {}).items()})


def load(path: Path = ARTIFACT) -> Model:
    """Load the artifact; refuse one built by another scikit-learn (its pickles are not portable)."""
    if not path.exists():
        raise FileNotFoundError(f"no trained classifier at {path}; run `mailrobot classifier train`")
    with open(path, "rb") as handle:
        # The artifact is our own file, shipped in the package; it is never taken from outside.
        payload = pickle.load(handle)
    if payload.get("format") != FORMAT or payload.get("sklearn") != sklearn_version():
        raise ModelMismatch(
            f"{path} was built with scikit-learn {payload.get('sklearn')} (format {payload.get('format')}); "
            f"this is scikit-learn {sklearn_version()}. Run `mailrobot classifier train` to rebuild it."
        )
    return payload["model"]
