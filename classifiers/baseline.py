"""A keyword baseline for the kind of an appeal (R5).

It is the yardstick the trained model is compared against (``mailrobot classifier eval`` shows
both), and the pipeline's classifier until that model ships. Stems, not words: Russian inflects.
"""

from __future__ import annotations

import re

from classifiers.result import KINDS, Classification

# A reported failure makes a complaint even when it is phrased as a request or a question (R5).
_COMPLAINT = (
    "нет свет", "нет электр", "отключ", "пропал", "не работа", "сгорел", "сгорели", "перепад",
    "скач", "мига", "низкое напряж", "жалоб", "претензи", "безобраз", "возмущ", "сколько можно",
    "нарушен", "незаконн", "неправильно начисл", "перерасч", "верните", "компенсац", "ущерб",
    "оборван", "обрыв", "упал", "искр", "хамств", "грубо", "до сих пор", "уже который",
    "дадут свет", "когда уже", "сколько ждать",
)
_APPLICATION = (
    "прошу подключ", "подключить", "присоедин", "заявк", "заключить договор", "заключение договор",
    "переоформ", "замен", "установ", "опломбир", "передаю показан", "показания счетчика",
    "показания прибора", "выдать справк", "прошу выдать", "прошу предостав", "прошу направ",
    "увеличени мощност", "перенести", "прошу рассмотреть возможность",
)
_QUESTION = (
    "как ", "когда ", "где ", "какие", "какой", "сколько стоит", "подскажите", "скажите",
    "можно ли", "нужно ли", "возможно ли", "интересует", "уточнить", "?",
)
# Other utilities' and authorities' business: water, heat, gas, roads, rubbish, housing, benefits.
_OUT_OF_SCOPE = (
    "вода", "воды", "водопровод", "канализац", "отоплен", "батаре", "горяч", "газ", "дорог", "ям",
    "мусор", "управляющ", "ук ", "тсж", "лифт", "пособи", "субсиди", "пенси", "школ", "детск сад",
    "автобус", "маршрут", "поликлиник", "полици", "подъезд", "крыш",
)
_IN_SCOPE = ("свет", "электр", "счетчик", "напряжен", "подстанц", "опор", "провод", "лэп", "квт", "энерго")
_WORD = re.compile(r"\s+")


def _hits(text: str, stems: tuple[str, ...]) -> int:
    return sum(1 for stem in stems if stem in text)


def classify_keywords(subject: str, text: str) -> Classification:
    body = _WORD.sub(" ", f"{subject} {text}".lower().replace("ё", "е"))
    counts = {
        "complaint": 1.5 * _hits(body, _COMPLAINT),
        "application": 1.2 * _hits(body, _APPLICATION),
        "question": 1.0 * min(_hits(body, _QUESTION), 3),
    }
    total = sum(counts.values())
    if total == 0:
        # No evidence either way: a question gets the shortest limit's attention from a human.
        scores = {kind: 1 / len(KINDS) for kind in KINDS}
    else:
        smoothed = {kind: counts[kind] + 0.25 for kind in KINDS}
        norm = sum(smoothed.values())
        scores = {kind: smoothed[kind] / norm for kind in KINDS}
    kind = max(KINDS, key=lambda k: (scores[k], -KINDS.index(k)))
    out_hits, in_hits = _hits(body, _OUT_OF_SCOPE), _hits(body, _IN_SCOPE)
    return Classification(
        kind=kind,
        kind_confidence=round(scores[kind], 4),
        kind_scores={k: round(v, 4) for k, v in scores.items()},
        scope="out" if out_hits > in_hits else "in",
        model="keywords-v1",
    )
