"""Texts that cannot be read (Standard R7).

Unreadable (:func:`unreadable_reason` says why):

* nothing but whitespace, or no letter or digit at all (``!!!``);
* many U+FFFD replacement characters, or letters lost as ``?`` (``?????? ?????``);
* mojibake: UTF-8 read as cp1251 (``РџСЂРёРІРµС‚``) or as Latin-1 (``ÐŸÑ€Ð¸``), cp1251 read as
  KOI8-R (``пЯХБЕР``) or Latin-1 (``Ïðèâåò``) and the other common pairs -- found by re-encoding
  the text and seeing Russian words appear;
* keyboard mash (``ывапролдж``, ``asdfghjkl``, ``йцукен``, ``ааааааа``) making up at least half of
  the words, or Cyrillic words of which fewer than a quarter are Russian.

Readable: short real texts (``Нет света!``), meter readings and numbers (``Т1 12345 Т2 6789``),
abbreviations (``РЭС``, ``ВЛ-10``), typos (``подьезд``), Latin transliteration (``net sveta uzhe 3
dnya``), English and other languages -- nothing in them shows garbage.

Wrong keyboard layout (``ytn cdtnf`` typed for ``нет света``) is converted, not flagged:
:func:`fix_layout` returns the converted text, and such a text counts as readable.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from classifiers.detectors import morph_analyzer
from classifiers.detectors.obscene import translit

_LETTERS = re.compile(r"[^\W\d_]+")
_CYR_WORD = re.compile(r"^[а-яёА-ЯЁ]+$")
_LAT_WORD = re.compile(r"^[a-zA-Z]+$")
_CYR_VOWELS = frozenset("аеёиоуыэюя")
_LAT_VOWELS = frozenset("aeiouy")

# ---- keyboard -----------------------------------------------------------------------------------

_ROWS = ("йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_KEY = {ch: (r, c) for r, row in enumerate(_ROWS) for c, ch in enumerate(row)}

# QWERTY key -> the ЙЦУКЕН letter on the same key.
_LAYOUT_LETTERS = dict(zip(
    "qwertyuiop[]asdfghjkl;'zxcvbnm,.`QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>~",
    "йцукенгшщзхъфывапролджэячсмитьбюёЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮЁ",
))
# Punctuation that moves too; only converted when the text has no Cyrillic at all.
_LAYOUT_PUNCT = {"/": ".", "?": ",", "@": '"', "#": "№", "$": ";", "^": ":", "&": "?", "|": "/"}
_LAYOUT_CHARS = r"A-Za-z\[\];',.`{}:\"<>~"
_LAYOUT_RUN = re.compile(rf"(?<![{_LAYOUT_CHARS}])[{_LAYOUT_CHARS}]++")  # linear time


def _mashed(word: str) -> bool:
    """Does a lower-case word look like keys hit at random rather than typed?"""
    n = len(word)
    if n < 4:
        return False
    if len(set(word)) <= 2:
        return True  # "аааа", "ыыыы", "фыфыфы"
    vowels = _CYR_VOWELS if "а" <= word[0] <= "я" or word[0] == "ё" else _LAT_VOWELS
    if n >= 5 and not any(c in vowels for c in word):
        return True  # "sdfghjk", "пвпрлд"
    run = longest = 0
    for c in word:
        run = 0 if c in vowels else run + 1
        longest = max(longest, run)
    if longest >= 6:
        return True
    if any(c not in _KEY for c in word):
        return False
    keys = [_KEY[c] for c in word]
    adjacent = sum(1 for a, b in zip(keys, keys[1:]) if a[0] == b[0] and abs(a[1] - b[1]) == 1)
    if n >= 5 and adjacent / (n - 1) >= 0.6:
        return True  # "ывапролдж", "asdfghjkl", "qwerty", "йцукен"
    return n >= 6 and len({row for row, _col in keys}) == 1  # all on one row: "лвыоарлыво"


@lru_cache(maxsize=131072)
def _known(word: str) -> bool:
    return morph_analyzer().word_is_known(word.lower())


@lru_cache(maxsize=131072)
def _gibberish(word: str) -> bool:
    low = word.lower()
    if _CYR_WORD.match(word):
        return not _known(low) and _mashed(low)
    if _LAT_WORD.match(word):
        return _mashed(low) and not _known(translit(low))
    return False


def _scorable(words: list[str]) -> list[str]:
    """Words worth judging: three letters or more, not an upper-case abbreviation (РЭС, ВЛ)."""
    return [w for w in words if len(w) >= 3 and not (w.isupper() and len(w) <= 4)]


def _cyrillic_known_ratio(text: str) -> tuple[int, float]:
    words = [w for w in _scorable(_LETTERS.findall(text)) if _CYR_WORD.match(w)]
    if not words:
        return 0, 0.0
    return len(words), sum(1 for w in words if _known(w)) / len(words)


# ---- mojibake ------------------------------------------------------------------------------------

# (the encoding the bytes were wrongly read with, the encoding they were written in)
_MOJIBAKE_PAIRS = (
    ("cp1251", "utf-8"), ("latin-1", "utf-8"), ("cp1252", "utf-8"), ("koi8-r", "utf-8"),
    ("cp866", "utf-8"), ("mac-cyrillic", "utf-8"),
    ("koi8-r", "cp1251"), ("cp1251", "koi8-r"), ("latin-1", "cp1251"), ("cp1252", "cp1251"),
    ("cp866", "cp1251"), ("cp1251", "cp866"), ("mac-cyrillic", "cp1251"), ("latin-1", "koi8-r"),
    ("cp1252", "koi8-r"), ("koi8-r", "cp866"), ("cp866", "koi8-r"), ("latin-1", "cp866"),
)
# UTF-8 lead byte of a Cyrillic letter (D0/D1) followed by a continuation byte (80-BF), as it
# looks when read as cp1251 ("Рџ", "СЂ") or as Latin-1/cp1252 ("Ð\x9f", "Ñ€").
_CONT_CP1251 = "".join(bytes([b]).decode("cp1251", "replace") for b in range(0x80, 0xC0))
_CONT_CP1252 = "".join(bytes([b]).decode("cp1252", "replace") for b in range(0x80, 0xC0))
_UTF8_AS_CP1251 = re.compile(f"[РС][{re.escape(_CONT_CP1251.replace(chr(0xFFFD), ''))}]")
_UTF8_AS_LATIN = re.compile(
    f"[ÐÑ][\u0080-\u00bf{re.escape(_CONT_CP1252.replace(chr(0xFFFD), ''))}]"
)


def _mojibake(text: str) -> str | None:
    for rx, name in ((_UTF8_AS_CP1251, "UTF-8 read as cp1251"),
                     (_UTF8_AS_LATIN, "UTF-8 read as Latin-1")):
        pairs = len(rx.findall(text))
        if pairs >= 3 and 2 * pairs >= 0.4 * sum(map(str.isalpha, text)):
            return f"mojibake ({name})"
    n, ratio = _cyrillic_known_ratio(text)
    if n and ratio >= 0.5:
        return None  # reads as Russian already
    if n == 0 and text.isascii():
        return None  # plain ASCII: English, translit, readings -- nothing to repair
    for wrong, right in _MOJIBAKE_PAIRS:
        try:
            fixed = text.encode(wrong).decode(right)
        except (UnicodeError, LookupError):
            continue
        if fixed == text:
            continue
        fixed_n, fixed_ratio = _cyrillic_known_ratio(fixed)
        if fixed_n and fixed_ratio >= 0.6 and fixed_ratio >= ratio + 0.3:
            return f"mojibake ({right} read as {wrong})"
    return None


# ---- layout --------------------------------------------------------------------------------------


def _is_latin_letter(c: str) -> bool:
    return "a" <= c <= "z" or "A" <= c <= "Z"


def _convert_run(run: str) -> str:
    return "".join(_LAYOUT_LETTERS.get(c, c) for c in run)


def fix_layout(text: str) -> str | None:
    """The text with Latin typed in place of Russian converted (``ytn cdtnf`` -> ``нет света``).

    None when the Latin in the text is not Russian typed in the wrong layout (English,
    transliteration, names, e-mail addresses) or when there is no Latin at all.
    """
    if not text:
        return None
    runs = _LAYOUT_RUN.findall(text)
    words = [r for r in runs if sum(map(_is_latin_letter, r)) >= 2]
    if not words:
        return None
    converted = [_LETTERS.findall(_convert_run(w)) for w in words]
    conv_known = sum(1 for parts in converted if parts and all(_known(p) for p in parts))
    long_known = sum(
        1 for parts in converted if parts and all(_known(p) for p in parts)
        and sum(len(p) for p in parts) >= 3
    )
    as_translit = sum(
        1 for w in words if _LAT_WORD.match(w) and _known(translit(w.lower()))
    )
    ratio = conv_known / len(words)
    if ratio < 0.5 or long_known == 0 or conv_known <= as_translit:
        return None
    fixed = _LAYOUT_RUN.sub(
        lambda m: _convert_run(m.group()) if any(map(_is_latin_letter, m.group())) else m.group(),
        text,
    )
    if not re.search(r"[а-яёА-ЯЁ]", text):
        fixed = "".join(_LAYOUT_PUNCT.get(c, c) for c in fixed)
    return fixed


# ---- the verdict ---------------------------------------------------------------------------------


def unreadable_reason(text: str | None) -> str | None:
    """Why the text cannot be read (R7), or None when it can."""
    if text is None or not text.strip():
        return "empty"
    text = unicodedata.normalize("NFC", text)
    replacement = text.count("\ufffd")
    if replacement and (replacement >= 3 or replacement / len("".join(text.split())) >= 0.1):
        return f"{replacement} replacement characters (U+FFFD)"
    letters = sum(map(str.isalpha, text))
    if letters == 0 and not any(map(str.isdigit, text)):
        return "no letters or digits"
    questions = text.count("?")
    if questions >= 4 and questions > 2 * letters:
        return "letters lost as '?'"
    reason = _mojibake(text)
    if reason:
        return reason
    if fix_layout(text):
        return None  # Russian in the wrong layout: converted, so it can be read
    words = _scorable(_LETTERS.findall(text))
    if not words:
        return None
    mash = [w for w in words if _gibberish(w)]
    if len(mash) / len(words) >= 0.5:
        return f"keyboard mash: {' '.join(mash[:5])}"
    n, ratio = _cyrillic_known_ratio(text)
    if n >= 3 and n >= len(words) / 2 and ratio < 0.25:
        return f"{n} Cyrillic words, {ratio:.0%} of them Russian"
    return None


def is_unreadable(text: str | None) -> bool:
    """R7: can the text not be read?"""
    return unreadable_reason(text) is not None
