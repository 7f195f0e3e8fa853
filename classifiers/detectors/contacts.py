"""Contact details of the customer (Standard R8: an appeal without them is registered but not
considered).

:func:`has_contact` is True when the text holds any of:

* a phone: ``+7 913 123-45-67``, ``8(3812)12-34-56``, ``89131234567``, ``9131234567``,
  ``+375 29 123-45-67``, or a local number after a phone word (``тел. 23-45-67``);
* a personal account or contract number: ``л/с 1234567890``, ``лицевой счёт № ...``,
  ``ЛС: ...``, ``лицевой 5502016634``, ``Lic. 5501902763``, a 10-12 digit number near
  ``счёт`` or standing alone, ``договор ТП-25-0977``;
* a postal address: ``ул. Ленина, д. 5, кв. 12``, ``пр. Мира 10``, ``г. Омск``, ``с. Ачаир``,
  ``СНТ "Сибиряк"``, ``Омский район, д. Надеждино``, ``улица``/``переулок``/``микрорайон``
  followed by a name or a number, a street name and a house number (``на Лукашевича 27``,
  ``Коммунистическая 12``), ``Адрес: ...``, ``ГСК «Восток», бокс 17``; transliterated too
  (``ul. Pobedy 40``, ``SNT Sibiryak``, ``Omskii r-n``);
* a name: ``Иванов И.И.``, ``И.И. Иванов``, ``Иванов Иван Иванович``, ``С уважением, Ольга
  Петрова``, ``ФИО: ...``, ``Меня зовут Анна``, a first name next to a surname (pymorphy3 tags),
  or a signature closing the text (``Ольга``, ``Петров, Таврическое``, ``Дмитрий с Лукашевича``,
  ``Андреев В.``, ``Ruslan, Omsk``, ``... 5501677004 бабенко``).

An e-mail address alone is NOT a contact (R8): addresses and links are removed first.  Names
right after a staff word (``начальник РЭС Петров А.А.``, ``уважаемый Иван Иванович``) are the
company's people, not the customer, and do not count.  Texts in capitals are also read in title
case, so ``С. ЛОГИНОВО, УЛ. ПОЛЕВАЯ 6. АХМЕТОВ`` is found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from classifiers.detectors import morph_analyzer
from classifiers.detectors.obscene import translit

# Linear time: a run is taken whole (possessive) and only from its first character.
_EMAIL_URL = re.compile(
    r"(?<![\w.+\-])[\w.+\-]++@[\w\-]+(?:\.[\w\-]+)+|(?:https?://|www\.)\S+", re.IGNORECASE
)

_SEP = r"[\s\-\u2010-\u2015]*"
_PHONES = (
    # +7 / 8 / 7 and ten more digits, however grouped: +7 913 123-45-67, 8(3812)12-34-56.
    re.compile(
        rf"(?<![\d+])(?:\+\s?7|8|7){_SEP}\(?{_SEP}\d{{3,5}}{_SEP}\)?{_SEP}\d{{1,3}}{_SEP}"
        rf"\d{{1,2}}{_SEP}\d{{2}}(?!\d)"
    ),
    # A mobile number without the country prefix: 9131234567, 913 123 45 67.
    re.compile(rf"(?<![\d+])9\d{{2}}{_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}(?!\d)"),
    # (3812) 12-34-56
    re.compile(rf"\(\d{{3,5}}\){_SEP}\d{{1,3}}{_SEP}\d{{2}}{_SEP}\d{{2}}(?!\d)"),
    # Another country: +375 29 123-45-67
    re.compile(rf"\+\d{{1,3}}{_SEP}\(?\d{{2,5}}\)?{_SEP}\d{{2,4}}{_SEP}\d{{2}}{_SEP}\d{{2}}(?!\d)"),
    # A local number after a phone word: тел. 23-45-67, т. 2-34-56, телефон 234567.
    re.compile(
        r"(?:\bтел\w*|\bт\.|\bтлф|\bмоб\w*|\bсот\w*|\bконтакт\w*|\bзвонит\w*|\btel\w*|\bphone)"
        r"[\s.:№#\-]*(?:\d{1,3}[\s\-]\d{2}[\s\-]\d{2}|\d{5,7})(?!\d)",
        re.IGNORECASE,
    ),
)

_ACCOUNTS = (
    re.compile(
        r"(?:л\s*/\s*сч?\b|\bл\.\s*с\.?|\bлс\b|\bл\.?\s*сч\b\.?|лицев\w*(?:\s+сч[её]т\w*)?|"
        r"\bлиц\.?(?:\s*сч[её]?т?\w*\.?)?|абонентск\w*\s+(?:номер|№)|номер\s+абонента|"
        r"\bl/s\b|\blic\w*\.?(?:\s*sch\w*\.?)?|\blits\w*\.?(?:\s*sch\w*\.?)?)"
        r"\s*(?:№|n|#|:|-)?\s*\d[\d\s\-]{3,16}\d",
        re.IGNORECASE,
    ),
    # A 10-12 digit number near "счёт", or standing alone: an account or meter number.
    re.compile(r"сч[её]т\w*[^\d\n]{0,20}?(?<!\d)\d{10,12}(?!\d)", re.IGNORECASE),
    re.compile(r"(?<![\d\-.,/:+])\d{10,12}(?![\d]|[\-.,/:]\d)"),
    # A contract: договор ТП-25-0977, договор № 08-2217
    re.compile(r"\bдоговор\w*\s*(?:№|N)?\s*(?:[A-ZА-ЯЁ]{1,4}-)?\d[\d\-/]{3,}", re.IGNORECASE),
)

_CAP = r"[А-ЯЁ]"
_NOT_ETC = r"(?<!т\.\s)(?<!т\.)"  # "и т. д. каждый раз" is not a village
_ADDRESSES = (
    # Street abbreviations with a dot: ул. Ленина, пр.Мира, пер. 2-й, мкр. Входной
    re.compile(
        r"(?<![\w])(?:ул|пр|пр-т|пр-кт|просп|пер|б-р|бул|наб|мкр|мкрн|мкр-н|пл|ш|туп|пр-д)\."
        r"\s*[\w«\"'„]",
        re.IGNORECASE,
    ),
    # ... and without it: ул Ленина, мкр 5, пр мира 52-14, ул весенняя
    re.compile(
        r"(?<![\w])(?:ул|Ул|УЛ|пр-т|просп|пер|б-р|мкр|мкрн)\s+(?:[А-ЯЁ0-9«\"]|[а-яё]{3,})"
        r"|(?<![\w])пр\s+[а-яёА-ЯЁ]+\s+\d"
    ),
    # House, building, flat: д. 5, дом 5, дом №5, кв. 12, квартира 12, корп. 2 (not "дом 1960 г.")
    re.compile(
        r"(?<![\w])(?:д|дом|кв|квартира|корп|корпус|стр)\.?\s*№?\s*\d{1,4}(?!\d)"
        r"(?!\s*(?:год|г\.|г\b|лет))",
        re.IGNORECASE,
    ),
    # Settlements: г. Омск, г Омск, с. Ачаир, д. Надеждино, п. Горячий Ключ, пгт Таврическое
    re.compile(rf"(?<![\w])(?:[гГсСдДпПхХ]|гор|дер|пос|пгт|рп|р\.п|ст|аул)\.\s*{_CAP}[а-яё]"),
    re.compile(rf"{_NOT_ETC}(?<![\w])(?:[сдп]|дер|пос)\.\s*[а-яё]{{4,}}(?:о|а|ка|ое|ий|ый|ск)\b"),
    re.compile(rf"(?<![\w])(?:г|пгт|рп)\s+{_CAP}[а-яё]{{2,}}"),
    re.compile(
        rf"(?<![\w])(?:[Гг]ород\w*|[Пп]ос[её]л\w*|[Сс]таниц\w*|[Хх]утор\w*|[Аа]ул\w*)\s+"
        rf"{_CAP}[а-яё]+"
        r"|(?<![\w])(?:[Сс]ел[оеау]|[Дд]еревн[яеию]|[Пп]ос[её]л(?:ок|ке|ка))\s+[А-ЯЁа-яё]{3,}"
    ),
    # Garden and garage partnerships: СНТ "Сибиряк", SNT Sibiryak-2, ГСК «Восток», бокс 17
    re.compile(
        r"(?<![\w])(?:СНТСН|СНТ|ДНТ|СОТ|ТСН|ДНП|ДПК|СДТ|ОНТ|ГСК|SNT|GSK)\s*[«\"„']?\s*[А-ЯЁA-Z0-9]"
    ),
    re.compile(r"(?<![\w])снт\s+[«\"\w]", re.IGNORECASE),
    re.compile(r"(?<![\w])(?:бокс|boks|box)\s*№?\s*\d", re.IGNORECASE),
    re.compile(r"садоводческ\w+\s+(?:товарищ|некоммерч|общест|кооператив)", re.IGNORECASE),
    # Districts and regions: Омский район, омском районе, Омская обл., Omskii r-n
    re.compile(
        r"(?<![\w])[А-ЯЁа-яё]+(?:ский|цкий|ской|ском|ская|цкая|ское)\s+"
        r"(?:район\w*|р-н\w*|р-на|округ\w*|обл\b|обл\.|област\w*)",
        re.IGNORECASE,
    ),
    re.compile(
        r"(?<![\w])[A-Z][a-z]+(?:skii|skiy|sky|skoy|skaya|skom)\s+(?:r-n|raion|rayon\w*|oblast\w*)"
    ),
    # Labels: Адрес: ..., проживаю по адресу ..., проживаю в Омске, участок № 214, уч 7
    re.compile(r"\bадрес\w*\s*:\s*\S|по\s+адресу\s*:?\s*\S", re.IGNORECASE),
    re.compile(rf"\bпроживаю\s+(?:в|на|по)\s+(?:{_CAP}|\d)", re.IGNORECASE),
    re.compile(r"(?<![\w])уч(?:асток|\.)?\s*№?\s*\d", re.IGNORECASE),
    # Transliterated: ul. Pobedy 40, Ul. Kirova 70, ulitsa Lenina, g. Omsk, kv 61
    re.compile(r"(?<![\w])(?i:ul|pr|per|mkr|kv|d|g|s|p|pos|prosp)\.\s*[A-Z0-9]"),
    re.compile(r"(?<![\w])(?i:ul|kv|mkr)\s+[A-Z0-9]"),
    re.compile(r"(?<![\w])(?i:ulits\w*|ulic\w*|prospekt\w*|pereul\w*|mikrora[iy]on\w*)\s+[A-Z0-9]"),
)
# Full street words; the next word decides (see _street_word).
_STREET_WORD = re.compile(
    r"(?<![\w])(?:улиц[аеуыи]|переул(?:ок|ке|ка|ку|ком)|проспект\w*|микрорайон\w*|бульвар\w*|"
    r"шоссе|набережн\w+|проезд\w*|тупик\w*)\s+([«\"„]|\d|[А-ЯЁа-яё]+)",
    re.IGNORECASE,
)
# A street name and a house number without "ул.": "на Лукашевича 27", "Коммунистическая 12",
# "на 1й северной 160", "Лукашевича 15-9".  The word is checked with pymorphy3.
_STREET_HOUSE = re.compile(
    r"(?<![\w\-])(?:(\d{1,2}-?(?:й|я|ю|ой|ая|ую))\s+)?([А-ЯЁа-яё][а-яё]{2,})\s+"
    r"(\d{1,4}(?:\s?[а-дА-Д]\b)?(?:[\-/]\d{1,4})?)(?![\d.,:]\d)"
)
_UNITS = re.compile(
    r"\s*(?:руб|р\.|₽|тыс|т\.\s?р|к?вт|квч|%|лет|год|г\.|г\b|час|ч\.|ч\b|мин|дн|день|дня|сут|раз|"
    r"числ|м\b|м\.|км|шт|кг|чел|мес|недел|вольт|в\b|а\b|ампер|градус|°|процент|коп|тонн|литр|"
    r"см\b|мм\b|сек|январ|феврал|март|апрел|ма[яй]|июн|июл|август|сентябр|октябр|ноябр|декабр|"
    r"квартал|семь|опор|столб|фаз|кв\.?\s?м|квадрат|сч[её]тчик|прибор|квитанц|лампоч|провод)",
    re.IGNORECASE,
)
_MONTHS = re.compile(
    r"^(?:январ|феврал|март|апрел|ма[яй]|июн|июл|август|сентябр|октябр|ноябр|декабр)",
    re.IGNORECASE,
)

_NAME_PATTERNS = (
    # Иванов И.И., Иванов И. И.
    re.compile(rf"(?<![\w]){_CAP}[а-яё]+(?:-{_CAP}[а-яё]+)?\s+{_CAP}\.\s?{_CAP}\.?"),
    # И.И. Иванов
    re.compile(rf"(?<![\w]){_CAP}\.\s?{_CAP}\.\s?{_CAP}[а-яё]{{2,}}"),
    # Иванов Иван Иванович, Иван Иванович Иванов, Иван Иванович
    re.compile(
        rf"(?<![\w])(?:{_CAP}[а-яё]+\s+)?{_CAP}[а-яё]+\s+"
        rf"{_CAP}[а-яё]+(?:ович|евич|ьич|ич|овна|евна|ична|инична)(?![\w])"
    ),
)
_SELF_NAMED = (
    re.compile(
        r"(?i:с\s+уважением)[\s,.:!\-–—]*"
        rf"(?!(?:Ваш|Жител|Абонент|Клиент|Потребител|Собственник)[а-яё]*\b){_CAP}[а-яё]+"
    ),
    re.compile(
        r"(?<![\w])(?:ФИО|Ф\.\s?И\.\s?О\.?|F\.?I\.?O\.?)\s*"
        rf"(?::\s*\S|[\-–—]\s*[А-ЯЁA-Z]|\s+{_CAP}[а-яё]+)"
    ),
    re.compile(
        r"(?:меня\s+зовут|мо[её]\s+имя|моя\s+фамилия|menya\s+zovut|s\s+uvazh\w+[\s,.:!-]*)"
        r"\s*[:\-]?\s*[А-ЯЁA-Zа-яёa-z]{2,}",
        re.IGNORECASE,
    ),
    # Transliterated name and surname: Ruslan Mukhametov, Tatyana Zhukova, Dolgov Evgenii
    re.compile(
        r"(?<![\w])[A-Z][a-z']+\s+[A-Z][a-z']*(?:ov|ova|ev|eva|in|ina|sky|skiy|skii|skaya|enko|"
        r"uk|yuk|ich|ikh|ykh)(?![\w])"
        r"|(?<![\w])[A-Z][a-z']*(?:ov|ova|ev|eva|in|ina|sky|skiy|skii|skaya|enko|uk|yuk)"
        r"\s+[A-Z][a-z']+(?![\w])"
    ),
)

# Words before a name that make it the company's person (a role) or the reader (an address).
_ROLE = re.compile(
    r"(?:начальник|директор|мастер|диспетчер|электрик|инженер|сотрудни|специалист|оператор|"
    r"руководител|глав[аеуы]|контрол[её]р|бригадир|монт[её]р|депутат|губернатор|мэр|"
    r"президент|министр|председател|заместител|зам|менеджер|инспектор|юрист|работник|"
    r"имени|им\.|ул\.|улиц|пр\.|проспект|пер\.|переул)\w*\.?",
    re.IGNORECASE,
)
_ADDRESSING = re.compile(r"(?:уважаем|здравствуй|добр|день|вечер|утро|привет)\w*", re.IGNORECASE)
_WORD_CAP = re.compile(rf"{_CAP}[а-яё]+")
_NAME_TAGS = frozenset({"Name", "Surn", "Patr"})


@lru_cache(maxsize=65536)
def _name_tags(word: str) -> frozenset[str]:
    """Name / Surn / Patr tags pymorphy3 gives the word (parses scoring 0.05 or more), plus
    "known" when the word is in the dictionary and "top" when its best parse is a name in the
    nominative."""
    morph = morph_analyzer()
    low = word.lower()
    parses = morph.parse(low)
    tags: set[str] = set()
    for parse in parses:
        if parse.score >= 0.05:
            tags |= _NAME_TAGS & set(parse.tag.grammemes)
    if tags and morph.word_is_known(low):
        tags.add("known")
    if parses and _NAME_TAGS & set(parses[0].tag.grammemes) and "nomn" in parses[0].tag:
        tags.add("top")  # its best reading is a name in the nominative: a signature
    return frozenset(tags)


def _is_name_word(word: str, *, strict: bool = False) -> bool:
    """A word a person is called by; ``strict`` asks that its best reading be a name in the
    nominative (a signature, not "Спасибо Чубайсу")."""
    if len(word) < 3:
        return False
    variants = _latin_name(word) if re.fullmatch(r"[A-Za-z']+", word) else [word]
    for variant in variants:
        tags = _name_tags(variant)
        if tags & _NAME_TAGS and ("top" in tags or not strict):
            return True
    return False



def _latin_name(word: str) -> list[str]:
    """Cyrillic readings of a transliterated name: Sergei -> сергей, Tatyana -> татьяна."""
    low = word.lower().replace("'", "")
    low = re.sub(r"(?<=[aeiou])i$", "y", low)  # Sergei -> Sergey
    low = re.sub(r"ii$", "iy", low)  # Evgenii -> Evgeniy
    soft = re.sub(r"(?<=[tdnlsz])y(?=[aueo])", "'y", low)  # Tatyana -> Tat'yana
    return list(dict.fromkeys([translit(low), translit(soft)]))


def _after_staff(text: str, start: int, match: str = "") -> bool:
    """Is the name at ``start`` the company's person (``начальник РЭС Петров А.А. не
    отвечает``) or the reader (``Уважаемый Иван Иванович``, ``Здравствуйте, Ольга``)?  A name
    that closes the text is the writer's signature even after a role (``Коммерческий директор
    А. Ю. Кудрин``)."""
    sentence = _SENTENCE_END.split(text[max(0, start - 40): start])[-1]
    words = re.findall(r"[\w.]+", sentence)[-3:]
    if match:
        words.append(match.split()[0])
    if any(_ADDRESSING.fullmatch(w) for w in words):
        return True
    return not _signs_off(text, start, match) and any(_ROLE.fullmatch(w) for w in words)


_SENTENCE_END = re.compile(r"[!?\n]|\.\s+(?=[А-ЯЁ]|$)")
_PREPOSITIONS = frozenset("в во на к ко от у с со про о об для по за из до при над под".split())


def _signs_off(text: str, start: int, match: str) -> bool:
    """Does the name close the text on a line of its own, after at most a job title?"""
    if not match or text[start + len(match):].strip(" \t\n.,!;"):
        return False
    line = text[text.rfind("\n", 0, start) + 1: start].split()
    return len(line) <= 3 and not any(w.lower() in _PREPOSITIONS for w in line)


def _street_word(m: re.Match[str]) -> bool:
    nxt = m.group(1)
    if not nxt[0].isalpha() or nxt[0].isupper():
        return True
    if m.group().lower().startswith(("проезд", "тупик", "шоссе")):
        return False  # "проезд закрыт": these need a capital name or a number
    for parse in morph_analyzer().parse(nxt):
        g = parse.tag.grammemes
        if parse.score < 0.05:
            continue
        if parse.tag.POS == "ADJF" or {"Name", "Surn", "Geox", "Patr"} & g:
            return True
        if parse.tag.POS == "NOUN" and {"gent", "anim"} <= g:
            return True
    return False


def _street_house(text: str) -> list[str]:
    """A street name right before a house number: "на Лукашевича 27", "Лесная 8"."""
    found: list[str] = []
    for m in _STREET_HOUSE.finditer(text):
        ordinal, word, _number = m.groups()
        if _UNITS.match(text, m.end()) or _MONTHS.match(word):
            continue
        if not word[0].isupper() and not ordinal:
            continue
        if _looks_like_street(word):
            found.append(m.group())
        elif word[0].isupper():
            # "Красный Путь 101", "Старая Слобода 4": an adjective before a capitalised noun.
            before = re.findall(rf"({_CAP}[а-яё]+)\s+$", text[max(0, m.start() - 30): m.start()])
            if before and any(
                p.tag.POS == "ADJF" for p in morph_analyzer().parse(before[0].lower())
            ):
                found.append(f"{before[0]} {m.group()}")
    return found


@lru_cache(maxsize=65536)
def _looks_like_street(word: str) -> bool:
    for parse in morph_analyzer().parse(word.lower()):
        if parse.score < 0.05:
            continue
        g = parse.tag.grammemes
        if {"Surn", "Patr", "Name", "Geox"} & g and "gent" in g:
            return True  # Ленина, Лукашевича, Пушкина
        if parse.tag.POS == "ADJF" and ("femn" in g or "plur" in g or "gent" in g):
            return True  # Лесная, Коммунистическая, Нефтезаводской (улица, -ой улицы)
        if parse.tag.POS == "NOUN" and {"anim", "plur", "gent"} <= g:
            return True  # Энтузиастов, Строителей
    return False


def _name_pairs(text: str) -> list[str]:
    """A first name next to a surname or patronymic: "Ольга Петрова", "Петрова Ольга"."""
    found: list[str] = []
    words = list(_WORD_CAP.finditer(text))
    for a, b in zip(words, words[1:]):
        if text[a.end(): b.start()].strip(" \t") not in ("", ","):
            continue
        ta, tb = _name_tags(a.group()), _name_tags(b.group())
        pair = ("Name" in ta and "known" in ta and {"Surn", "Patr"} & tb) or (
            "Name" in tb and "known" in tb and {"Surn", "Patr"} & ta
        )
        if pair and min(len(a.group()), len(b.group())) >= 3 and not _after_staff(text, a.start()):
            found.append(f"{a.group()} {b.group()}")
    return found


# Surname endings, for a capitalised word signing off ("Латыпов, Омск") that pymorphy3 reads
# otherwise ("Бабушкина" as a possessive adjective).
_SURNAME = re.compile(
    rf"{_CAP}[а-яё]+(?:ов|ев|ёв|ин|ын|ова|ева|ёва|ина|ына|ский|цкий|ская|цкая|енко|ук|юк|ян|дзе|"
    r"швили|их|ых)"
)
_LAST_SENTENCE = re.compile(r"(?:^|[.!?…]\s+|\n)([^.!?…\n]*)[.!?…\s]*$")
_FROM_PLACE = re.compile(r"(?<![\w])([А-ЯЁA-Z][а-яёa-z']+)\s+(?:с|со|из|from|s|iz)\s+\S+")


def _signature(text: str) -> str | None:
    """A name closing the text: "Ольга", "Петров, Таврическое", "Ленина 9, Калачинск,
    Сапожников", "Дмитрий с Лукашевича", "Андреев В.", "Ruslan, Omsk", "... 5501677004 бабенко"."""
    m = _LAST_SENTENCE.search(text.strip())
    if not m:
        return None
    last = m.group(1).strip(" ,;:-—–()\"«»")
    if not last:
        return None
    chunks = [c.strip(" ()\"«»") for c in re.split(r"[,;—–]|\s-\s", last) if c.strip()]
    for chunk in (chunks[0], chunks[-1]) if chunks else ():
        words = re.sub(r"\s+[А-ЯЁA-Z]\.?$", "", chunk).split()  # "Андреев В." -> "Андреев"
        if 1 <= len(words) <= 3 and all(w[0].isupper() for w in words) and all(
            _is_name_word(w) or _SURNAME.fullmatch(w) for w in words
        ) and not _after_staff(text, text.rfind(chunk), chunk):
            return chunk
    from_place = _FROM_PLACE.search(last)
    if from_place and _is_name_word(from_place.group(1)):
        return from_place.group()
    # A lower-case surname as the very last word: "... л сч 5500420877 зимина".
    tail = re.findall(r"[а-яё]{4,}$", last)
    if tail and _is_name_word(tail[0], strict=True) and "Surn" in _name_tags(tail[0]):
        return tail[0]
    # A first name alone at the very end, after an emoji or a dash: "... ответить 🙂 Катя".
    tail = re.findall(rf"{_CAP}[а-яё]{{2,}}$", last)
    if tail and _is_name_word(tail[0], strict=True) and not _after_staff(
        text, text.rfind(tail[0])
    ):
        return tail[0]
    return None


def _mostly_capitals(text: str) -> bool:
    letters = sum(map(str.isalpha, text))
    return letters >= 8 and sum(map(str.isupper, text)) >= 0.6 * letters


def _phone_digits_ok(match: str) -> bool:
    digits = re.sub(r"\D", "", match)
    if match.lstrip().startswith("+"):
        return 10 <= len(digits) <= 13
    if len(digits) == 11:
        return digits[0] in "78" and digits[1] in "3489"
    return len(digits) in (5, 6, 7, 10)


#: The kinds of contact detail R8 counts.
KINDS = frozenset({"phone", "account", "address", "name"})


def _iter_contacts(text: str, kinds: frozenset[str] = KINDS) -> Iterator[tuple[str, str]]:
    """Contact details of ``kinds`` in ``text``, cheapest and commonest checks first."""
    if "phone" in kinds:
        for rx in _PHONES:
            for m in rx.finditer(text):
                if _phone_digits_ok(m.group()):
                    yield "phone", m.group()
    if "account" in kinds:
        for rx in _ACCOUNTS:
            for m in rx.finditer(text):
                yield "account", m.group()
    if "address" in kinds:
        for rx in _ADDRESSES:
            for m in rx.finditer(text):
                yield "address", m.group()
        for m in _STREET_WORD.finditer(text):
            if _street_word(m):
                yield "address", m.group()
        for street in _street_house(text):
            yield "address", street
    if "name" not in kinds:
        return
    for rx in _NAME_PATTERNS:
        for m in rx.finditer(text):
            if not _after_staff(text, m.start(), m.group()):
                yield "name", m.group()
    for rx in _SELF_NAMED:
        for m in rx.finditer(text):
            yield "name", m.group()
    for pair in _name_pairs(text):
        yield "name", pair
    signature = _signature(text)
    if signature:
        yield "name", signature


def _iter_all(text: str, kinds: frozenset[str] = KINDS) -> Iterator[tuple[str, str]]:
    if not text:
        return
    clean = _EMAIL_URL.sub(" ", text) if "@" in text or "www" in text or "http" in text else text
    yield from _iter_contacts(clean, kinds)
    if _mostly_capitals(clean):
        yield from _iter_contacts(clean.title(), kinds)


def find_contacts(text: str) -> list[tuple[str, str]]:
    """Every contact detail in ``text`` as ``(kind, match)``; kind is phone, account, address
    or name.  E-mail addresses are not contacts (R8) and are never returned."""
    return list(dict.fromkeys(_iter_all(text)))


def contact_kinds(text: str, wanted: Iterable[str]) -> set[str]:
    """Which of the ``wanted`` kinds of contact detail (phone, account, address, name) ``text``
    gives; it stops looking as soon as every one is found."""
    wanted = frozenset(wanted)
    found: set[str] = set()
    for kind, _ in _iter_all(text, wanted):  # only the wanted kinds' checks run
        found.add(kind)
        if wanted <= found:
            break
    return found & wanted


def has_contact(text: str) -> bool:
    """R8: does the text give a name, phone, postal address or personal account number?"""
    return next(_iter_all(text), None) is not None
