"""Threats to the life, health or property of staff or their families (Standard R7).

A threat is the writer's OWN intent to harm: ``убью``, ``прибью``, ``зарежу``, ``сожгу``,
``подожгу``, ``взорву``, ``закопаю``, ``пристрелю`` (1st person future of a harm verb, singular or
plural, or the 1st-person-plural imperative), a harm infinitive after the writer's own modal
(``хочу убить``, ``пойду сожгу``), a target verb with a person or the company's premises as its
object (``замочу вас``, ``разнесу ваш офис``), and set phrases (``голову оторву``, ``вам не
жить``, ``доберусь до ваших детей``, ``пущу красного петуха``, ``приду с ружьём``).

Not threats, by design:

* 3rd person and impersonal harm: ``провод висит, кого-нибудь убьёт током``, ``дом сгорит``,
  ``так и до пожара недалеко`` -- a hazard report, the very thing the company must act on;
* legal and public pressure: ``напишу жалобу в прокуратуру``, ``подам в суд``, ``обращусь в
  СМИ`` -- the customer's right; the same words after a harm verb cancel it (``закопаю вас
  жалобами``, ``взорву интернет``);
* hyperbole in the 2nd person, ``вы нас убиваете своими тарифами``: the customer describes harm
  done TO them, not intent to harm staff.  Decision: NOT a threat.  Refusing to act on a tariff
  complaint because of a figure of speech would turn R7 against the customer; only the writer's
  own 1st-person intent counts;
* negated intent (``не убью``) and reflexive forms (``убьюсь на вашей лестнице``);
* the writer's own things: ``так я всю технику спалю`` (voltage surges), ``убью полдня``.

The lexicon lives in ``data/threat_ru.txt``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from classifiers.detectors import morph_analyzer
from classifiers.detectors.obscene import WordSet, read_sections

DATA_FILE = Path(__file__).with_name("data") / "threat_ru.txt"

_WORD = re.compile(r"[а-яa-z0-9]+(?:-[а-яa-z]+)*")
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
_NEGATIONS = frozenset({"не", "ни", "никогда", "нельзя"})


def _first_person_forms(lemmas: list[str]) -> tuple[set[str], set[str]]:
    """1st-person future / inclusive imperative forms, and infinitives, of ``lemmas``."""
    morph = morph_analyzer()
    forms: set[str] = set()
    infinitives: set[str] = set()
    for lemma in lemmas:
        infinitives.add(lemma)
        for parse in morph.parse(lemma):
            if parse.normal_form != lemma or parse.tag.POS != "INFN":
                continue
            for form in parse.lexeme:
                tag = form.tag
                word = form.word.replace("ё", "е")
                if ("1per" in tag and "futr" in tag) or ("impr" in tag and "incl" in tag):
                    forms.add(word)
    return forms, infinitives


class _Lexicon:
    def __init__(self, path: Path) -> None:
        s = read_sections(path)
        self.harm, self.harm_infinitives = _first_person_forms(s["harm_verbs"])
        self.harm |= set(s["harm_forms"])
        self.target_verbs, _ = _first_person_forms(s["target_verbs"])
        self.targets = WordSet(s["targets"])
        self.modals = frozenset(s["modals"])
        self.harmless = WordSet(s["harmless"])
        self.phrases = re.compile("|".join(f"(?:{p})" for p in s["phrases"]))


@lru_cache(maxsize=1)
def lexicon() -> _Lexicon:
    return _Lexicon(DATA_FILE)


def _words(text: str) -> list[str]:
    text = text.translate(_INVISIBLE).lower().replace("ё", "е")
    return _WORD.findall(text)


_PERSONS = frozenset({"вас", "тебя", "всех", "вам", "тебе"})


def _harmless_object(words: list[str], i: int, span: int = 4) -> bool:
    """Is the verb at ``i`` aimed at time, the writer's own things, or complaints?"""
    harmless = lexicon().harmless
    if any(w in harmless for w in words[i + 1: i + 1 + span]):
        return True
    before = words[max(0, i - 2): i]
    return any(w in harmless for w in before) and not any(w in _PERSONS for w in before)


def _negated(words: list[str], i: int) -> bool:
    return i > 0 and words[i - 1] in _NEGATIONS


def find_threats(text: str) -> list[str]:
    """What in ``text`` threatens staff, their families or property; empty when nothing does."""
    if not text:
        return []
    lex = lexicon()
    words = _words(text)
    hits: list[str] = []
    for i, word in enumerate(words):
        if word in lex.harm:
            if not _negated(words, i) and not _harmless_object(words, i):
                hits.append(word)
        elif word in lex.target_verbs:
            near = words[max(0, i - 3): i] + words[i + 1: i + 4]
            if (
                not _negated(words, i)
                and any(w in lex.targets for w in near)
                and not _harmless_object(words, i)
            ):
                hits.append(" ".join(words[i: i + 4]))
        elif word in lex.harm_infinitives:
            before = words[max(0, i - 3): i]
            if any(w in lex.modals for w in before) and not _harmless_object(words, i):
                j = max(k for k, w in enumerate(before) if w in lex.modals)
                if not any(w in _NEGATIONS for w in before[max(0, j - 1): j + 1]):
                    hits.append(" ".join(before[j:] + [word]))
    joined = " ".join(words)
    hits.extend(m.group() for m in lex.phrases.finditer(joined))
    return hits


def is_threat(text: str) -> bool:
    """R7: does the text threaten the life, health or property of staff or their families?"""
    return bool(find_threats(text))
