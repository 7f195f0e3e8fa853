"""Obscene and abusive words (Standard R7): мат and strong insults aimed at people.

How a text is read:

1. Lower case, ``ё`` -> ``е``, soft hyphens and zero-width characters dropped, e-mail addresses
   and links removed, runs of dots between letters read as masks (``х..й`` -> ``х**й``).
2. Words are runs of letters, digits and mask characters (``* @ # $ %``); single letters spaced
   out (``б л я т ь``, ``б.л.я.т.ь``) are also joined into a word.
3. Each word is checked once (cached):

   * an allow-list of innocent words (``употреблять``, ``команда``, ``сукно`` ...) wins first;
   * roots are anchored at the word start, after up to two known prefixes (``за|ебали``,
     ``о|хуели``, ``на|хуй``), never matched as substrings anywhere (``колебания``,
     ``употреблять``, ``оскорблять`` stay clean); ``еб`` has its own prefix list without
     ``с``/``в`` (``себе``, ``веб``) and its own list of following letters;
   * strong insults are pymorphy3 lexemes of lemmas (``мразь``, ``ублюдок``, ``сука`` ...), so
     every case form is known and ``сукно`` is not ``сука``;
   * Latin lookalikes and digits inside Cyrillic words are mapped (``xуй``, ``6ля``); Latin words
     are also transliterated (``blyat``, ``pizdec``, ``nahuy``) and read as lookalikes
     (``cyka``);
   * masked words (``бл@ть``, ``х*й``, ``п*здец``, ``е**ть``, ``за*бали``) are filled in from a
     list of stems when their letters fit.

4. A form shared with an innocent noun (``суки``/``на суку`` -- boughs) counts only when no tree
   word is near it.

The lexicon lives in ``data/obscene_ru.txt``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from classifiers.detectors import morph_analyzer

DATA_FILE = Path(__file__).with_name("data") / "obscene_ru.txt"

MASK_CHARS = "*@#$%"
_INSULT = "insult"
_AMBIGUOUS = "insult?"  # a form shared with an innocent noun; needs the context check


_HEADER = re.compile(r"^\[(\w+)\]$")


def read_sections(path: Path) -> dict[str, list[str]]:
    """``[section]`` headed lists, one entry a line, ``#`` comments dropped."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        header = _HEADER.match(raw.strip())
        if header:
            current = sections.setdefault(header.group(1), [])
            continue
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if current is not None:
            current.append(line)
    return sections


class WordSet:
    """Exact words plus ``stem*`` prefixes."""

    def __init__(self, entries: list[str]) -> None:
        self.exact = frozenset(e for e in entries if not e.endswith("*"))
        self.prefixes = tuple(e[:-1] for e in entries if e.endswith("*"))

    def __contains__(self, word: str) -> bool:
        return word in self.exact or word.startswith(self.prefixes)


class _Lexicon:
    def __init__(self, path: Path) -> None:
        s = read_sections(path)
        # Up to two prefixes ("по|на|ебали", "не|до|ебанный"), but a one-letter prefix only
        # alone or last ("с|пиздили", "о|хуели", "за|с|..."), so "с|а|бля" (сабля) is no match.
        long = "|".join(sorted((p for p in s["prefixes"] if len(p) > 1), key=len, reverse=True))
        short = "|".join(p for p in s["prefixes"] if len(p) == 1)
        eb_prefixes = "|".join(sorted(s["eb_prefixes"], key=len, reverse=True))
        self.prefixed = re.compile(
            rf"^(?:(?:{long}){{0,2}}(?:{short})?)(?:{'|'.join(s['prefixed_roots'])})"
        )
        self.eb = re.compile(rf"^(?:{eb_prefixes})?(?:{'|'.join(s['eb_roots'])})")
        self.bare = re.compile(rf"^(?:{'|'.join(s['bare_roots'])})")
        self.prefix_list = tuple(sorted(s["prefixes"], key=len, reverse=True))
        self.allow = WordSet(s["allow"])
        self.latin_allow = frozenset(s["latin_allow"])
        self.tree_context = WordSet(s["tree_context"])
        self.mask_stems = tuple(s["mask_stems"])
        self.insults, self.ambiguous = _insult_forms(
            s["insult_lemmas"], s["insult_forms"], s["homonym_lemmas"]
        )


def _lexeme_words(lemma: str, pos: str = "NOUN") -> set[str]:
    morph = morph_analyzer()
    words: set[str] = set()
    for parse in morph.parse(lemma):
        if parse.normal_form == lemma and parse.tag.POS == pos:
            words.update(f.word.replace("ё", "е") for f in parse.lexeme)
    return words


def _insult_forms(
    lemmas: list[str], forms: list[str], homonyms: list[str]
) -> tuple[frozenset[str], frozenset[str]]:
    insults = set(forms)
    for lemma in lemmas:
        insults |= _lexeme_words(lemma) or {lemma}
    innocent: set[str] = set()
    for lemma in homonyms:
        innocent |= _lexeme_words(lemma) | {lemma}
    # The bare homonym ("сук", a bough; also the genitive plural of "сука") never counts.
    insults -= set(homonyms)
    ambiguous = insults & innocent
    return frozenset(insults), frozenset(ambiguous)


@lru_cache(maxsize=1)
def lexicon() -> _Lexicon:
    return _Lexicon(DATA_FILE)


# --- text normalisation -------------------------------------------------------------------------

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
# Linear time: a run is taken whole (possessive) and only from its first character.
_EMAIL_URL = re.compile(
    r"(?<![\w.+\-])[\w.+\-]++@[\w\-]+(?:\.[\w\-]+)+|(?:https?://|www\.)\S+", re.IGNORECASE
)
_DOT_MASK = re.compile(r"(?<=[^\W\d_])\.{2,}(?=[^\W\d_])")
_TOKEN = re.compile(r"(?:[^\W_]|[*@#$%])+")
_SPACED = re.compile(
    r"(?<![^\W_*@])(?:(?:[^\W\d_]|[*@])[ .\-_]{1,2}){2,}(?:[^\W\d_]|[*@])(?![^\W_*@])"
)
_SPACE_SEP = re.compile(r"[ .\-_]")
_CYR = re.compile(r"[а-яё]")
_LAT = re.compile(r"[a-z]")
_REPEATS = re.compile(r"(.)\1+")


def normalise(text: str) -> str:
    text = text.translate(_INVISIBLE).lower().replace("ё", "е")
    text = _EMAIL_URL.sub(" ", text)
    return _DOT_MASK.sub(lambda m: "*" * len(m.group()), text)


# Latin letters and digits that look like Cyrillic ones ("xуй", "6ля", "cyka").
_VISUAL = str.maketrans({
    "a": "а", "b": "в", "c": "с", "e": "е", "k": "к", "m": "м", "h": "н", "o": "о", "p": "р",
    "t": "т", "x": "х", "y": "у", "u": "и", "n": "п", "r": "г", "3": "з", "0": "о", "6": "б",
    "4": "ч", "1": "и",
})
_TRANSLIT_MULTI = (
    ("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"),
    ("tz", "ц"), ("ya", "я"), ("ja", "я"), ("yu", "ю"), ("ju", "ю"), ("yo", "е"), ("jo", "е"),
    ("ye", "е"), ("je", "е"),
)
_TRANSLIT_ONE = {
    "a": "а", "b": "б", "v": "в", "w": "в", "g": "г", "d": "д", "e": "е", "z": "з", "i": "и",
    "j": "й", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "r": "р", "s": "с",
    "t": "т", "u": "у", "f": "ф", "h": "х", "x": "х", "c": "ц", "q": "к", "'": "ь", "`": "ь",
}
_VOWELS_LAT = set("aeiouy")


@lru_cache(maxsize=65536)
def translit(word: str) -> str:
    """Latin transliteration back to Cyrillic, as used for mat: ``nahuy`` -> ``нахуй``."""
    out: list[str] = []
    i = 0
    while i < len(word):
        for latin, cyr in _TRANSLIT_MULTI:
            if word.startswith(latin, i):
                out.append(cyr)
                i += len(latin)
                break
        else:
            ch = word[i]
            if ch == "y":
                prev = word[i - 1] if i else ""
                out.append("й" if prev in _VOWELS_LAT or i == len(word) - 1 else "ы")
            else:
                out.append(_TRANSLIT_ONE.get(ch, ch))
            i += 1
    return "".join(out)


# --- one word -------------------------------------------------------------------------------------


def _match_plain(word: str) -> str | None:
    """Which rule a clean Cyrillic word hits, or None."""
    lex = lexicon()
    if word in lex.allow:
        return None
    for name, rx in (("root", lex.bare), ("root", lex.prefixed), ("root", lex.eb)):
        m = rx.match(word)
        if m:
            return f"{name}:{m.group()}"
    if word in lex.insults:
        return _AMBIGUOUS if word in lex.ambiguous else _INSULT
    return None


def _fits(part: str, stem: str) -> bool:
    return all(c == s or c in MASK_CHARS for c, s in zip(part, stem))


# Masks only at the end count after these letters ("бл*", "ху**", "пи***"); otherwise a trailing
# mask is a name its owner shortened ("С***", "Ива***"), not a masked swear word.
_TRAILING_MASK_OK = ("бл", "ху", "пи", "пе", "еб")
_INTERNAL_MASK = re.compile(r"[*@#$%][^*@#$%]")


def _match_filled(word: str) -> str | None:
    """A masked word with its masks filled in; masks left at the end do not matter."""
    clean = word.rstrip(MASK_CHARS)
    if not any(c in MASK_CHARS for c in clean):
        return _match_plain(clean)
    lex = lexicon()
    for rx in (lex.bare, lex.prefixed, lex.eb):
        m = rx.match(word)
        if m:
            return f"root:{m.group()}"
    return None


def _match_masked(word: str) -> str | None:
    """A word with mask characters: fill it from the mask stems and check the result."""
    letters = sum(1 for c in word if c not in MASK_CHARS)
    masks = len(word) - letters
    if letters < 2 or masks > letters + 1:
        return None
    if not _INTERNAL_MASK.search(word) and not word.startswith(_TRAILING_MASK_OK):
        return None
    lex = lexicon()
    for prefix in ("",) + lex.prefix_list:
        if not word.startswith(prefix):
            continue
        rest = word[len(prefix):]
        for stem in lex.mask_stems:
            head = rest[: len(stem)]
            if len(head) < len(stem) or not _fits(head, stem):
                continue
            if not prefix and not any(c in MASK_CHARS for c in head):
                continue  # the masks are elsewhere; nothing to fill here
            hit = _match_filled(prefix + stem + rest[len(stem):])
            if hit:
                return f"masked({prefix + stem + rest[len(stem):]})->{hit}"
    return None


def _candidates(word: str) -> list[str]:
    """Cyrillic readings of a word: as typed, lookalikes mapped, transliterated."""
    has_cyr = _CYR.search(word) is not None
    has_lat = _LAT.search(word) is not None
    out: list[str] = []
    if has_cyr:
        out.append(word.translate(_VISUAL))
        if has_lat:
            out.append("".join(translit(c) if "a" <= c <= "z" else c for c in word))
    elif has_lat:
        if word.strip(MASK_CHARS + "0123456789") in lexicon().latin_allow:
            return []
        out.append(translit(word))
        visual = word.translate(_VISUAL)
        if not _LAT.search(visual):
            out.append(visual)
    else:
        return []
    collapsed = [_REPEATS.sub(r"\1", cand) for cand in out]
    return out + [c for c in collapsed if c not in out]


@lru_cache(maxsize=131072)
def check_word(word: str) -> str | None:
    """The rule a normalised word hits (``root:ху``, ``insult``, ``masked(...)``) or None."""
    for cand in _candidates(word):
        if any(c in MASK_CHARS for c in cand):
            if "@" in cand:
                hit = _match_plain(cand.replace("@", "а")) if not any(
                    c in "*#$%" for c in cand) else None
                if hit:
                    return hit
            hit = _match_masked(cand)
        elif _CYR.search(cand) and not _LAT.search(cand) and not re.search(r"\d", cand):
            hit = _match_plain(cand)
        else:
            hit = None
        if hit:
            return hit
    return None


# --- a text ---------------------------------------------------------------------------------------


_PREPOSITIONS = frozenset("на с со о об к ко по за под от у до из в во".split())


def _tree_near(words: list[str], i: int, span: int = 6) -> bool:
    ctx = lexicon().tree_context
    return any(w in ctx for w in words[max(0, i - span): i] + words[i + 1: i + 1 + span])


def find_obscene(text: str) -> list[tuple[str, str]]:
    """Every obscene or abusive word in ``text`` as ``(word, rule)``; empty when clean."""
    if not text:
        return []
    norm = normalise(text)
    words = _TOKEN.findall(norm)
    hits: list[tuple[str, str]] = []
    for i, word in enumerate(words):
        rule = check_word(word)
        if rule is None:
            continue
        if rule.endswith(_AMBIGUOUS) and (
            _tree_near(words, i) or (i and words[i - 1] in _PREPOSITIONS)
        ):
            continue  # "суки деревьев", "провод на суку": boughs, not the insult
        hits.append((word, rule))
    for m in _SPACED.finditer(norm):
        joined = _SPACE_SEP.sub("", m.group())
        rule = check_word(joined)
        if rule is not None:
            hits.append((m.group(), rule))
    return hits


def is_obscene(text: str) -> bool:
    """R7: does the text contain obscene or abusive words?"""
    return bool(find_obscene(text))
