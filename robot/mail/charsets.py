"""Best-effort decoding of text whose charset is missing, unknown or wrong.

Russian mail still arrives as KOI8-R or cp1251 with no label, or with a label that lies. We keep
the raw bytes anyway; this module only decides how to show and classify them.
"""

from __future__ import annotations

import codecs
import re

# The encodings Russian mail has actually used, in order of preference when scores tie.
_CANDIDATES = ("utf-8", "cp1251", "koi8-r", "cp866")

# Aliases people put in Content-Type that Python does not know.
_ALIASES = {
    "x-cp1251": "cp1251",
    "win-1251": "cp1251",
    "windows1251": "cp1251",
    "cp-1251": "cp1251",
    "x-koi8-r": "koi8-r",
    "koi8r": "koi8-r",
    "unicode-1-1-utf-7": "utf-7",
    "x-unknown": "",
    "unknown-8bit": "",
    "x-user-defined": "",
}

# The most frequent Russian letters; a plausible decoding is full of them, mostly lower case.
_FREQUENT = set("оеаинтсрвлкмдпуяыь")


def known_codec(label: str | None) -> str | None:
    """The Python codec for a charset label, or None when it is absent or unknown."""
    if not label:
        return None
    name = label.strip().strip('"').lower()
    name = _ALIASES.get(name, name)
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _score(text: str) -> float:
    letters = [ch for ch in text if "\u0400" <= ch <= "\u04ff"]
    if not letters:
        return 0.0
    frequent = sum(1 for ch in letters if ch.lower() in _FREQUENT) / len(letters)
    # Box-drawing signs, guillemets and other non-letters of the 8-bit range betray a wrong guess.
    odd = sum(1 for ch in text if ord(ch) > 0x7F and not "\u0400" <= ch <= "\u04ff") / len(letters)
    # KOI8-R read as cp1251 (and the reverse) inverts letter case: «зДРАВСТВУЙТЕ».
    words = re.findall(r"[\u0400-\u04ff]{2,}", text)
    plausible = sum(1 for w in words if w.islower() or w.isupper() or (w[0].isupper() and w[1:].islower()))
    case = plausible / len(words) if words else 1.0
    return frequent + case - odd


def guess(data: bytes) -> str:
    """The most plausible codec for unlabelled bytes."""
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best, best_score = "cp1251", -1.0
    for name in _CANDIDATES[1:]:
        text = data.decode(name, errors="replace")
        score = _score(text) - text.count("\ufffd") / max(len(text), 1)
        if score > best_score:
            best, best_score = name, score
    return best


def decode(data: bytes, label: str | None) -> tuple[str, str, list[str]]:
    """Decode ``data`` labelled ``label``; returns (text, codec used, problems found)."""
    problems: list[str] = []
    codec = known_codec(label)
    if label and codec is None:
        problems.append(f"unknown charset {label!r}")
    if codec is not None:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError as error:
            problems.append(f"text does not decode as its declared charset {label!r}")
            text = data.decode(codec, errors="replace")
            # A damaged tail (bad base64) does not make the label a lie: the text before the first
            # error reads fine in it. cp1251 labelled UTF-8 fails at its first Cyrillic letter.
            good_prefix = sum(1 for ch in data[: error.start].decode(codec) if ord(ch) > 0x7F)
            if good_prefix >= 10 or text.count("\ufffd") <= max(2, len(text) // 50):
                return text.lstrip("\ufeff"), codec, problems
        else:
            if codec not in ("ascii", "us-ascii") or data.isascii():
                return text.lstrip("\ufeff"), codec, problems
            problems.append("8-bit text declared as us-ascii")
    elif not label and not data.isascii():
        problems.append("8-bit text without a charset")
    codec = guess(data)
    return data.decode(codec, errors="replace").lstrip("\ufeff"), codec, problems
