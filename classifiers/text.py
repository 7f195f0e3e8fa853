"""Russian-aware text preparation shared by training and prediction.

Customers write in Cyrillic, in Latin transliteration («net sveta»), in caps, with typos and
quoted earlier replies. Features are built from normalised text: lower case, «ё» as «е», Latin
transliteration turned back into Cyrillic, quoted replies dropped, words reduced to Snowball stems.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[а-яa-z0-9]+")
_LATIN_WORD = re.compile(r"\b[a-z]{2,}\b")
_QUOTED = re.compile(r"^\s*>.*$", re.M)
# Everything after a forwarded or quoted header line is the earlier conversation, not this appeal.
_REPLY_HEADER = re.compile(r"^-{2,}\s*(original message|исходное сообщение|пересылаемое сообщение).*", re.I | re.M | re.S)

# Multi-letter combinations first: «shch» before «sh» before «s».
_TRANSLIT = [
    ("shch", "щ"), ("sch", "щ"), ("ay", "ай"), ("ey", "ей"), ("oy", "ой"), ("uy", "уй"), ("yo", "е"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"),
    ("sh", "ш"), ("yu", "ю"), ("ya", "я"), ("ju", "ю"), ("ja", "я"), ("iy", "ий"), ("yy", "ый"),
    ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"), ("d", "д"), ("e", "е"), ("z", "з"), ("i", "и"),
    ("j", "й"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"), ("r", "р"),
    ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("h", "х"), ("c", "ц"), ("y", "ы"), ("w", "в"),
    ("x", "кс"), ("q", "к"), ("'", "ь"),
]
_TRANSLIT_RE = re.compile("|".join(re.escape(latin) for latin, _ in _TRANSLIT))
_TRANSLIT_MAP = dict(_TRANSLIT)

_STEMMER = snowballstemmer.stemmer("russian")


def _from_translit(word: str) -> str:
    return _TRANSLIT_RE.sub(lambda m: _TRANSLIT_MAP[m.group(0)], word)


#: What the model reads of an appeal. Customers state their case first; what follows a long
#: opening is signatures, disclaimers and forwarded history (the longest text of the corpus is
#: under 800 characters), and features cost time in proportion to length.
MAX_CHARS = 2000


def normalise(subject: str, text: str) -> str:
    """Lower-cased Cyrillic text of an appeal, without quoted replies, at most MAX_CHARS long."""
    body = _REPLY_HEADER.sub("", text or "")
    body = _QUOTED.sub("", body)
    # NUL (from a broken mail) is a space: the vocabulary is a NumPy string array, which cannot hold it.
    joined = f"{subject or ''}\n{body}"[:MAX_CHARS].lower().replace("ё", "е").replace("\x00", " ")
    latin = len(_LATIN_WORD.findall(joined))
    cyrillic = len(re.findall(r"[а-я]{2,}", joined))
    if latin > cyrillic:
        # Mostly Latin: a transliterated Russian text (an English one is rare here and harmless).
        joined = _LATIN_WORD.sub(lambda m: _from_translit(m.group(0)), joined)
    return joined


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def stems(normalised: str) -> list[str]:
    return [stem(word) for word in _WORD.findall(normalised)]
