"""The Standard's flag detectors (classifiers.detectors), both sides of every rule.

R7: no action is taken on an appeal -- and the customer is told so -- when its text contains
obscene or abusive words, threats to the life, health or property of staff or their families,
or when it cannot be read.  R8: an appeal with no contact details is registered but not
considered.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from classifiers.detectors import (
    FLAGS,
    detect_flags,
    find_contacts,
    find_obscene,
    find_threats,
    fix_layout,
    has_contact,
    is_obscene,
    is_threat,
    is_unreadable,
    unreadable_reason,
)

REAL_APPEALS = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "real-appeals"
    / "real_appeals_eval.jsonl"
)
DATA = Path(__file__).resolve().parents[1] / "classifiers" / "detectors" / "data"


# --- obscene (R7) ---------------------------------------------------------------------------------

OBSCENE = [
    # inflected and prefixed forms
    "Вы там совсем охуели?", "Заебали уже со своими отключениями", "Опять пиздец со светом",
    "блядский свет опять отключили", "мудаки, когда почините", "Эти суки опять свет вырубили",
    "Сука, сколько можно!", "уёбок ваш электрик", "начальник РЭС долбоёб", "гандон ваш мастер",
    "нихуя не работает", "похуй вам на людей", "ебаный свет", "ёбаная контора", "наебали с тарифом",
    "выебываются в офисе", "спиздили кабель", "распиздяи", "хуйня какая-то", "отъебитесь",
    "залупа", "пидорасы", "мразь", "твари", "ублюдки", "уроды", "сволочи", "шлюха на телефоне",
    # masked, lookalike, spaced, capitals, repeated letters
    "бл@ть, опять", "бл*ть", "х*й вам", "п*здец", "е**ть ваш тариф", "за*бали", "с*ка",
    "xуй", "пиzдец", "6ля", "б л я т ь", "б.л.я.т.ь", "х..й", "ПИЗДЕЦ", "ЗАЕБАЛИ!!!",
    "бляяяять", "сууука", "cyka",
    # Latin transliteration
    "blyat", "pizdec", "nahuy", "idite nahuy", "zaebali", "suka",
]

CLEAN = [
    # the allow-list of the brief
    "употреблять", "потребление", "команда", "колебания", "колебаться", "сукно", "рубль",
    "оскорблять", "скребок", "хлеб", "требование", "ребёнок", "гребень", "страхуй", "психуют",
    "мандарин", "тарахтит", "бляха", "сучок", "корабль", "хулиган",
    # other innocent words that share letters with a root
    "себе", "себя", "себестоимость", "вебинар", "дебет", "небо", "хуже", "ухудшение",
    "похудеть", "мудрый", "мандат", "корабля", "рубля", "сабля", "оглобля", "граблями",
    "потребляют", "сукровица", "застрахуйте", "требую", "колеблется", "употреблённой",
    # a bough is not an insult
    "Сук упал на провода", "провод висит на суку", "суки деревьев касаются проводов",
    # vulgar but not obscene, mild insults: deliberately not flagged (see obscene_ru.txt)
    "блин", "фиг вам", "хрен знает", "херня какая-то", "жопа полная", "идиоты", "козлы",
    "скотина сдохла от удара током",
    # masked personal data is not a masked swear word
    "Заявитель: С*** И.И.", "Иван***", "Т1 12345 Т2 6789",
    # English
    "Hello, we have had no power since yesterday, huge problem, hue, eBay, ebook, Ebola",
]


@pytest.mark.parametrize("text", OBSCENE)
def test_obscene_words_are_flagged(text: str) -> None:
    """R7: obscene or abusive words in any form, masked or transliterated, are found."""
    assert is_obscene(text), text
    assert find_obscene(text)


@pytest.mark.parametrize("text", CLEAN)
def test_innocent_words_are_not_obscene(text: str) -> None:
    """R7 must not refuse an appeal for an innocent word that merely contains a root."""
    assert not is_obscene(text), find_obscene(text)


def test_find_obscene_says_what_matched() -> None:
    """R7: the operator can see which word made the appeal obscene."""
    hits = find_obscene("Здравствуйте. Вы заебали, когда дадут свет?")
    assert [word for word, _rule in hits] == ["заебали"]
    assert hits[0][1].startswith("root:")


def test_real_appeals_are_never_obscene() -> None:
    """R7: none of the 360 real appeals of the evaluation set contains obscene words."""
    if not REAL_APPEALS.exists():
        pytest.skip(f"evaluation data not found at {REAL_APPEALS} (../shared beside the repo)")
    rows = [json.loads(line) for line in REAL_APPEALS.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    assert len(rows) == 360
    hits = {
        row["id"]: find_obscene(row["text"]) for row in rows
        if "obscene" in detect_flags("", row["text"])
    }
    assert hits == {}


def test_lexicon_attribution_is_shipped() -> None:
    """The LDNOOBW seed list is CC BY 4.0: its attribution travels with the lexicon."""
    text = (DATA / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "5faf2ba42d7b1c0977169ec3611df25a3c08eb13" in text
    assert "CC BY 4.0" in text
    assert "LDNOOBW/List-of-Dirty-Naughty-Obscene-and-Otherwise-Bad-Words" in text


# --- threat (R7) ----------------------------------------------------------------------------------

THREATS = [
    "Я вас всех убью", "Прибью вашего электрика", "Зарежу!", "Застрелю вашего мастера",
    "Сожгу вашу контору", "подожгу подстанцию", "Взорву ваш офис", "закопаю",
    "голову оторву", "Оторву вам голову", "Вам не жить", "Доберусь до ваших детей",
    "ваш офис спалю", "пристрелю как собаку", "Если завтра не дадите свет, я вас убью",
    "УБЬЮ", "убьём вас всех", "хочу вас убить", "пойду и подожгу вашу подстанцию",
    "морду набью", "знаю, где вы живёте", "пущу вам красного петуха",
    "приду к вам с ружьём", "замочу вас", "разнесу ваш офис", "я вас урою",
    "кровью умоетесь", "найду ваших детей",
]

NOT_THREATS = [
    "Провод висит, кого-нибудь убьёт током", "так и до пожара недалеко", "дом сгорит",
    "Напишу жалобу в прокуратуру", "Подам в суд", "Обращусь в СМИ",
    "в темноте убьюсь на вашей лестнице", "так я всю технику спалю", "убью полдня на очередь",
    "закопаю вас жалобами", "столб упадёт и убьёт ребёнка", "чуть не сгорел дом",
    "повешу объявление на доске", "замочу бельё, а света нет", "найду мастера сам",
    "Вы что, хотите нас убить?", "Нас тут чуть не убило", "Убило током корову",
    "подожгли траву у подстанции", "я не убью никого, просто дайте свет",
]


@pytest.mark.parametrize("text", THREATS)
def test_threats_are_flagged(text: str) -> None:
    """R7: threats to the life, health or property of staff or their families are found."""
    assert is_threat(text), text
    assert find_threats(text)


@pytest.mark.parametrize("text", NOT_THREATS)
def test_hazards_and_legal_steps_are_not_threats(text: str) -> None:
    """R7 is about the writer's own intent: a hazard report or a legal step is no threat."""
    assert not is_threat(text), find_threats(text)


@pytest.mark.parametrize("text", [
    "Вы нас убиваете своими тарифами!",
    "вы убиваете пенсионеров такими счетами",
    "Тарифы просто убивают",
])
def test_tariff_hyperbole_is_not_a_threat(text: str) -> None:
    """R7, decided: "вы нас убиваете своими тарифами" describes harm done TO the customer, in
    the 2nd or 3rd person; it is hyperbole, not intent to harm staff, and a tariff complaint must
    not be refused for it.  Only the writer's own 1st-person intent ("убью") is a threat."""
    assert not is_threat(text)
    assert "threat" not in detect_flags("Тарифы", text)


# --- unreadable (R7) ------------------------------------------------------------------------------

UNREADABLE = [
    "", "   \n\t  ", "!!! ???", "\ufffd\ufffd\ufffd\ufffd \ufffd\ufffd\ufffd",
    "РџСЂРёРІРµС‚",
    "Здравствуйте, у нас нет света".encode("utf-8").decode("cp1251"),
    "Здравствуйте, у нас нет света".encode("utf-8").decode("latin-1"),
    "Добрый день, у нас нет света третий день".encode("cp1251").decode("koi8-r"),
    "Добрый день, у нас нет света".encode("koi8-r").decode("cp1251"),
    "Добрый день, у нас нет света".encode("cp1251").decode("latin-1"),
    "ывапролдж", "ЫВАПРОЛДЖ", "asdfghjkl", "qwerty asdf", "йцукен фывапр", "ааааааааа",
    "?????? ????? ?????",
]

READABLE = [
    "Нет света!", "Когда дадут свет?", "Т1 12345 Т2 6789", "12345",
    "net sveta uzhe 3 dnya", "There is no electricity in my house since yesterday",
    "РЭС ВЛ-10 ТП-1234", "подьезд не освещаеться", "SOS", "Прошу проверить счетчик",
    "Добрый день, Ruslan Mukhametov", "ytn cdtnf",
]


@pytest.mark.parametrize("text", UNREADABLE)
def test_unreadable_texts_are_flagged(text: str) -> None:
    """R7: empty texts, mojibake, replacement characters and keyboard mash cannot be read."""
    assert is_unreadable(text), repr(text)
    assert unreadable_reason(text)


@pytest.mark.parametrize("text", READABLE)
def test_short_and_odd_but_real_texts_are_readable(text: str) -> None:
    """R7 must not refuse short texts, readings, abbreviations, typos, translit or English."""
    assert not is_unreadable(text), unreadable_reason(text)


@pytest.mark.parametrize(("typed", "meant"), [
    ("ytn cdtnf", "нет света"),
    ("Ytn cdtnf e;t 3 lyz", "Нет света уже 3 дня"),
    ("Ghbdtn? rjulf lflen cdtn/", "Привет, когда дадут свет."),
    ("Здравствуйте, ytn cdtnf", "Здравствуйте, нет света"),
])
def test_wrong_layout_is_converted(typed: str, meant: str) -> None:
    """R7: Russian typed in the English layout is converted and can then be read."""
    assert fix_layout(typed) == meant
    assert not is_unreadable(typed)


@pytest.mark.parametrize("text", [
    "net sveta uzhe 3 dnya", "Hello, no power here", "Нет света", "Т1 12345", "", "ok",
])
def test_layout_is_left_alone_when_it_is_right(text: str) -> None:
    """Transliteration, English and Russian are not "converted" into nonsense."""
    assert fix_layout(text) is None


# --- contacts (R8) --------------------------------------------------------------------------------

CONTACTS = [
    ("phone", "звоните +7 913 123-45-67"), ("phone", "8(3812)12-34-56"),
    ("phone", "мой номер 89131234567"), ("phone", "тел 23-45-67"),
    ("account", "л/с 1234567890"), ("account", "лицевой счёт № 55012345"),
    ("account", "номер счёта 5501290114"), ("account", "ЛС 5501290114"),
    ("address", "ул. Ленина, д. 5, кв. 12"), ("address", "пр. Мира 10"),
    ("address", "г. Омск"), ("address", "с. Ачаир"), ("address", 'СНТ "Сибиряк"'),
    ("address", "Омский район, д. Надеждино"), ("address", "на улице Ленина нет света"),
    ("address", "в переулке Больничном"), ("address", "микрорайон Входной"),
    ("address", "опять нет света на Лукашевича 27"), ("address", "net sveta, ul. Pobedy 40"),
    ("name", "Иванов И.И."), ("name", "И.И. Иванов"), ("name", "Иванов Иван Иванович"),
    ("name", "С уважением, Ольга Петрова"), ("name", "ФИО: Сидоров Пётр"),
    ("name", "Меня зовут Анна"), ("name", "Нет света третий день.\nОльга"),
    ("name", "Когда дадут свет? Петров, Таврическое"), ("name", "Tatyana Zhukova"),
    ("name", "Просим разъяснить порядок.\nКоммерческий директор А. Ю. Кудрин"),
    ("name", "Нет света третий день. Ruslan, Omsk"),
]

NO_CONTACTS = [
    "Нет света!", "Третий день без электричества. Вы издеваетесь?",
    "Когда дадут свет? Пишите на ivanov.petr@mail.ru",
    "На улице темно, света нет", "Т1 12345 Т2 6789",
    "Начальник РЭС Петров А.А. не отвечает на звонки",
    "Уважаемый Иван Иванович, когда дадут свет?",
    "Свет отключили в 7.30, дали в 12.30, перерасчёт за 12.03.2024",
    "ЗАЧЕМ ОТКЛЮЧАТЬ СВЕТ ПО ПЛАНУ 31 ДЕКАБРЯ?!",
    "Сколько стоит подключение 15 кВт для дачи в СНТ?",
    "Жалуюсь на мастера Петрова И.И.", "Здравствуйте, Светлана Ивановна!",
    "Опять отключили. Спасибо Чубайсу", "Новые 2 счетчика поставили, а свет мигает",
]


@pytest.mark.parametrize(("kind", "text"), CONTACTS)
def test_contact_details_are_found(kind: str, text: str) -> None:
    """R8: a name, phone, postal address or account number is a contact."""
    assert has_contact(text), text
    assert kind in {k for k, _match in find_contacts(text)}, find_contacts(text)


@pytest.mark.parametrize("text", NO_CONTACTS)
def test_texts_without_contact_details(text: str) -> None:
    """R8: without a contact the appeal is registered but not considered; an e-mail address
    alone, a staff member's name, dates and readings are not contacts."""
    assert not has_contact(text), find_contacts(text)


def test_email_alone_is_not_a_contact() -> None:
    """R8: the e-mail address the appeal came from is not contact detail enough."""
    assert find_contacts("ivanov@mail.ru") == []
    assert detect_flags("Нет света", "Нет света. ivanov@mail.ru") == ["no_contact"]


# --- detect_flags ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("subject", "text", "flags"), [
    ("Нет света", "Нет света с утра. ул. Ленина 5, Иванов И.И., +7 913 123-45-67", []),
    ("Нет света", "Нет света с утра!", ["no_contact"]),
    ("", "Вы заебали! ул. Ленина 5", ["obscene"]),
    ("Сука", "Когда свет? Петров, +7 913 123-45-67", ["obscene"]),
    ("", "Сожгу вашу контору, если не дадите свет. Петров А.А., тел 23-45-67", ["threat"]),
    ("", "РџСЂРёРІРµС‚", ["no_contact", "unreadable"]),
    ("", "ывапролдж", ["no_contact", "unreadable"]),
    ("", "", ["no_contact", "unreadable"]),
    ("Нет света, ул. Ленина 5, Иванов И.И.", "", []),
    ("", "ytn cdtnf", ["no_contact"]),
    ("", "ytn cdtnf? ek/ Ktybyf 5", []),
    ("", "Убью, блядь! Нет света", ["no_contact", "obscene", "threat"]),
    ("", "Ds pft,fkb? ult cdtn", ["no_contact", "obscene"]),  # wrong layout: "Вы заебали, где свет"
])
def test_detect_flags(subject: str, text: str, flags: list[str]) -> None:
    """R7 and R8 together: a sorted subset of the four flags.  An empty body falls back to the
    subject; a body in the wrong layout is converted before the other checks."""
    result = detect_flags(subject, text)
    assert result == flags
    assert result == sorted(result)
    assert set(result) <= set(FLAGS)


def test_detectors_stay_a_leaf_package() -> None:
    """classifiers is a leaf: the detectors import nothing from robot or workers."""
    code = (
        "import sys, classifiers.detectors as d; d.detect_flags('', 'x'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('robot', 'workers')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.stdout.strip() == "[]"


def test_contact_kinds_looks_only_for_the_kinds_asked_and_finds_what_a_full_search_finds():
    """Routing's required-field check (R10) asks for some kinds only; it runs only their checks,
    and for every text and every choice of kinds says what the full search says."""
    from itertools import combinations

    from classifiers.corpus import load_corpus
    from classifiers.detectors.contacts import KINDS, contact_kinds

    train, _ = load_corpus()
    texts = [f"{row.subject}\n{row.text}" for row in train[:300]]
    texts += ["ЛИЦЕВОЙ СЧЕТ 1234567890, УЛ. ЛЕНИНА 5, ИВАНОВ ИВАН", "Звоните 8 913 123-45-67"]
    seen: set[str] = set()
    for text in texts:
        everything = {kind for kind, _match in find_contacts(text)}
        seen |= everything
        for size in (1, 2, 3):
            for wanted in combinations(sorted(KINDS), size):
                assert contact_kinds(text, wanted) == everything & set(wanted), (text, wanted)
    assert seen == KINDS  # the texts exercise every kind
