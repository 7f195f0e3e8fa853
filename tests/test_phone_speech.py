"""Phone speech text (issue 9, R23): every number a phone message speaks is words — money, dates,
times, quantities, phone numbers — and bad input is an error, never a silent mis-reading."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from decimal import Decimal

import pytest
from jinja2 import UndefinedError

from robot.informer.speech import (
    plural,
    render_speech,
    say_date,
    say_number,
    say_phone,
    say_rub,
    say_time,
)


@pytest.mark.parametrize(("value", "words"), [
    (Decimal("1234.56"), "одна тысяча двести тридцать четыре рубля, пятьдесят шесть копеек"),
    ("1 234,56", "одна тысяча двести тридцать четыре рубля, пятьдесят шесть копеек"),
    ("99,5", "девяносто девять рублей, пятьдесят копеек"),
    (Decimal("0.01"), "ноль рублей, одна копейка"),
    (1.1, "один рубль, десять копеек"),
    ("2.345", "два рубля, тридцать пять копеек"),  # half up, as the bill rounds
])
def test_money_in_words(value, words):
    assert say_rub(value) == words


@pytest.mark.parametrize("value", [21, "21", Decimal("21"), Decimal("21.00"), 21.0])
def test_decimal_trap_21_is_roubles_not_kopecks(value):
    # num2words reads a bare int as kopecks: «ноль рублей, двадцать одна копейка».
    assert say_rub(value) == "двадцать один рубль"


def test_bad_amount_is_refused():
    with pytest.raises(ValueError, match="not an amount"):
        say_rub("много")


@pytest.mark.parametrize(("value", "case", "words"), [
    ("2026-01-15", "genitive", "пятнадцатого января две тысячи двадцать шестого года"),
    (date(2026, 1, 15), "nominative", "пятнадцатое января две тысячи двадцать шестого года"),
    ("01.03.2000", "genitive", "первого марта двухтысячного года"),
    ("2025-12-31", "genitive", "тридцать первого декабря две тысячи двадцать пятого года"),
])
def test_dates_in_words(value, case, words):
    assert say_date(value, case) == words


def test_a_moment_is_dated_in_the_companys_time_zone():
    # 20:30 UTC on 15 January is already 16 January in Omsk (UTC+6).
    assert say_date(datetime(2026, 1, 15, 20, 30, tzinfo=timezone.utc)).startswith("шестнадцатого января")


@pytest.mark.parametrize(("value", "case", "words"), [
    ("18:30", "genitive", "восемнадцати часов тридцати минут"),
    ("17:00", "genitive", "семнадцати часов"),
    ("21:01", "genitive", "двадцати одного часа одной минуты"),
    ("11:11", "genitive", "одиннадцати часов одиннадцати минут"),
    (time(9, 5), "nominative", "девять часов пять минут"),
    ("1:01", "nominative", "один час одна минута"),
    ("22:32", "nominative", "двадцать два часа тридцать две минуты"),
    (datetime(2026, 1, 15, 2, 0, tzinfo=timezone.utc), "genitive", "восьми часов"),
])
def test_times_in_words(value, case, words):
    assert say_time(value, case) == words


def test_an_unknown_case_is_refused():
    with pytest.raises(ValueError, match="case"):
        say_time("18:30", "dative")
    with pytest.raises(ValueError, match="case"):
        say_date("2026-01-15", "dative")


@pytest.mark.parametrize(("value", "unit", "gender", "words"), [
    (3, ("день", "дня", "дней"), "m", "три дня"),
    (11, ("день", "дня", "дней"), "m", "одиннадцать дней"),
    (21, ("квартира", "квартиры", "квартир"), "f", "двадцать одна квартира"),
    (2, ("квартира", "квартиры", "квартир"), "f", "две квартиры"),
    ("2.5", ("киловатт-час", "киловатт-часа", "киловатт-часов"), "m", "две целых пять десятых киловатт-часа"),
    (1500, ("", "", ""), "m", "одна тысяча пятьсот"),
])
def test_quantities_in_words(value, unit, gender, words):
    assert say_number(value, *unit, gender=gender) == words


def test_plural_forms():
    forms = ("час", "часа", "часов")
    assert [plural(n, *forms) for n in (1, 2, 5, 11, 12, 14, 21, 22, 25, 101, 111)] == [
        "час", "часа", "часов", "часов", "часов", "часов", "час", "часа", "часов", "час", "часов"]


@pytest.mark.parametrize(("value", "words"), [
    ("+7 (3812) 40-05-00", "плюс семь, три восемь один два, сорок, ноль пять, ноль ноль"),
    ("88005553535", "восемь, восемьсот, пятьсот пятьдесят пять, тридцать пять, тридцать пять"),
    ("400500", "сорок, ноль пять, ноль ноль"),
    ("8 3812 000-001", "восемь, три восемь один два, ноль ноль ноль, ноль ноль один"),
])
def test_phone_numbers_group_by_group_zeros_spoken(value, words):
    assert say_phone(value) == words


def test_not_a_phone_number_is_refused():
    with pytest.raises(ValueError, match="phone"):
        say_phone("звоните нам")


def test_a_phone_scenario_renders_without_digits():
    source = ("Здравствуйте, {{ name }}! Задолженность {{ debt | say_rub }}.\n"
              "Оплатите до {{ due | say_date }} до {{ until | say_time }}. "
              "Отключение на {{ days | say_number('день', 'дня', 'дней') }}. "
              "Справки по телефону {{ phone | say_phone }}.")
    text = render_speech(source, {"name": "Анна", "debt": "1234.56", "due": "2026-01-15", "until": "18:30",
                                  "days": 3, "phone": "+7 (3812) 40-05-00"})
    assert text == ("Здравствуйте, Анна! Задолженность одна тысяча двести тридцать четыре рубля, пятьдесят "
                    "шесть копеек. Оплатите до пятнадцатого января две тысячи двадцать шестого года до "
                    "восемнадцати часов тридцати минут. Отключение на три дня. Справки по телефону плюс "
                    "семь, три восемь один два, сорок, ноль пять, ноль ноль.")
    assert not any(ch.isdigit() for ch in text)


def test_a_missing_variable_is_an_error_not_a_silence():
    with pytest.raises(UndefinedError):
        render_speech("Задолженность {{ debt | say_rub }}", {})
