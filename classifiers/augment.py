"""Decorrelate length and formality from the labels before training.

In the team's corpus the long, formal letters (greetings, a self-introduction, a signature) are
mostly complaints and mostly the grid company's business, while questions, applications and
other bodies' matters are mostly short notes. A model then learns "long and formal" as evidence
for complaint and for scope ``in`` — which is wrong for real mail, where a polite two-paragraph
letter asks for a speed bump or the status of a benefit.

:func:`length_balanced` adds copies of short training rows wrapped in what surrounds any letter
(an addressee, a greeting, a self-introduction, a closing and a signature — words that say
nothing about kind or scope), so that every (kind, scope) cell has the same share of long rows.
It runs on training rows only: the held-out part is never touched, and a copy's text never
reaches it.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from classifiers.corpus import Example

#: A row at least this long counts as a letter rather than a note.
LONG_CHARS = 200

ADDRESSEES = [
    "Главе администрации Кировского административного округа г. Омска",
    "Губернатору Омской области",
    "В администрацию Любинского муниципального района",
    "Главе Ростовкинского сельского поселения",
    "Мэру города Омска",
    "В приёмную депутата Законодательного собрания",
    "Начальнику Омского РЭС",
    "В ОАО АК «Омскэнерго»",
    "Руководителю управы Центрального округа",
    "В общественную приёмную",
]
GREETINGS = ["Здравствуйте!", "Добрый день.", "Уважаемые сотрудники!", "Здравствуйте.", "Добрый вечер!",
             "Уважаемый Сергей Николаевич!", "Уважаемая администрация!", "Доброго времени суток."]
INTRODUCTIONS = [
    "Меня зовут {name}, я живу по адресу: {address}.",
    "Пишу вам как житель нашего микрорайона уже более двадцати лет.",
    "Обращаюсь к вам от имени жителей дома {address}.",
    "Я пенсионерка, ветеран труда, живу одна.",
    "Я мать двоих детей, проживаю по адресу {address}.",
    "К вам обращается житель посёлка, инвалид второй группы.",
    "Пишу по поручению родительского комитета.",
    "Я собственник квартиры в этом доме с 2011 года.",
]
CLOSINGS = ["С уважением,", "Заранее спасибо.", "Надеюсь на понимание.", "Жду ответа.",
            "Очень надеюсь на вашу помощь.", "Спасибо за внимание.", "С уважением и надеждой на ответ,"]
SURNAMES = ["Кравченко", "Лаптева", "Григорьев", "Сабитова", "Мельник", "Ахметов", "Зуева", "Пономарёв",
            "Руденко", "Шульц", "Ермакова", "Токарев", "Бекова", "Волков", "Иргалиева", "Дьяченко"]
INITIALS = ["А. В.", "Н. П.", "О. С.", "И. М.", "Т. Г.", "Е. А.", "В. Ф.", "Л. Н."]
STREETS = ["ул. Лукашевича", "ул. 22 Апреля", "ул. Нефтезаводская", "пр. Мира", "ул. Конева", "ул. Дианова",
           "ул. Рабиновича", "ул. Кирова", "ул. Заозёрная", "ул. Молодёжная"]


def _phone(rng: random.Random) -> str:
    return f"+7 9{rng.randint(10, 99)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"


#: Addressees for :func:`length_balanced`: public bodies only. A letter addressed to the grid company
#: is real evidence of scope ``in``; wrapping more out-of-scope rows than in-scope ones in it would
#: teach the opposite.
NEUTRAL_ADDRESSEES = [a for a in ADDRESSEES if "РЭС" not in a and "энерго" not in a]
#: Every cell gets at least this share of its rows as letters, so that a letter's wrapping is not
#: itself a cue for the cells that needed more.
BASE_SHARE = 0.15


def letter(core: str, rng: random.Random, *, official: bool | None = None,
           addressees: Sequence[str] = ADDRESSEES) -> str:
    """``core`` as a letter: addressee or greeting, maybe a self-introduction, closing, signature."""
    name = f"{rng.choice(SURNAMES)} {rng.choice(INITIALS)}"
    address = f"г. Омск, {rng.choice(STREETS)}, д. {rng.randint(1, 120)}"
    if official is None:
        official = rng.random() < 0.4
    if official:
        parts = [f"{rng.choice(addressees)}\nот {name}\n{address}, тел. {_phone(rng)}\n\nОбращение"]
    else:
        parts = [rng.choice(GREETINGS)]
    if rng.random() < 0.5:
        parts.append(rng.choice(INTRODUCTIONS).format(name=name, address=address) + " " + core)
    else:
        parts.append(core)
    signature = rng.choice(CLOSINGS) + f"\n{name}"
    if official:
        signature += f"\n{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.2025"
    elif rng.random() < 0.6:
        signature += f"\nтел. {_phone(rng)}"
    parts.append(signature)
    return "\n\n".join(parts)


def length_balanced(rows: Sequence[Example], *, seed: int = 0) -> list[Example]:
    """Wrapped copies of short rows, so that each (kind, scope) cell has the same share of long rows."""
    rng = random.Random(seed)
    cells: dict[tuple[str, str | None], list[Example]] = defaultdict(list)
    for row in rows:
        cells[(row.kind, row.scope)].append(row)
    share = {cell: sum(len(r.text) >= LONG_CHARS for r in members) / len(members) for cell, members in cells.items()}
    target = max(share.values())
    extra = []
    for cell, members in sorted(cells.items(), key=lambda item: str(item[0])):
        long_rows = sum(len(r.text) >= LONG_CHARS for r in members)
        short = [r for r in members if len(r.text) < LONG_CHARS]
        # Adding k long copies: (long + k) / (n + k) = target.
        wanted = round((target * len(members) - long_rows) / (1 - target)) if target < 1 else 0
        wanted = max(wanted, round(BASE_SHARE * len(members)))
        for row in rng.sample(short, min(wanted, len(short))):
            extra.append(replace(row, id=f"{row.id}+letter",
                                 text=letter(row.text, rng, addressees=NEUTRAL_ADDRESSEES)))
    return extra
