"""What a phone call says (R23): a phone scenario rendered to Russian text in which every number
is words — money, dates, times, quantities and phone numbers — ready for the speech synthesiser.

A synthesiser reads «1 234,56 руб.» or «15.01.2026» badly or not at all, so phone scenarios use
the ``say_*`` filters instead of ``rub``/``ru_date``: «{{ debt | say_rub }}» →
«одна тысяча двести тридцать четыре рубля, пятьдесят шесть копеек».

num2words reads a plain ``int`` given to ``to="currency"`` as kopecks (21 → «ноль рублей, двадцать
одна копейка»); every amount goes through ``Decimal`` first so 21 is twenty-one roubles.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from jinja2.sandbox import SandboxedEnvironment
from num2words import num2words

from robot.informer.scenario import make_sandbox, to_decimal, to_moment

_MONTHS_GENITIVE = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)
_DIGITS = ("ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
_CASES = ("nominative", "genitive")


def plural(number: int, one: str, few: str, many: str) -> str:
    """The Russian noun form after a whole number: 1 час, 2 часа, 5 часов, 11 часов, 21 час."""
    number = abs(number)
    if number % 10 == 1 and number % 100 != 11:
        return one
    if 2 <= number % 10 <= 4 and not 12 <= number % 100 <= 14:
        return few
    return many


def _cardinal(number: int, *, case: str = "nominative", gender: str = "m") -> str:
    return num2words(number, lang="ru", case=case, gender=gender)


def say_rub(value: Any) -> str:
    """Money in words: «одна тысяча двести тридцать четыре рубля, пятьдесят шесть копеек»;
    whole roubles without «ноль копеек»: 21 → «двадцать один рубль»."""
    amount = to_decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    words = num2words(amount, lang="ru", to="currency", currency="RUB")
    if amount == amount.to_integral_value() and amount != 0:
        words = words.removesuffix(", ноль копеек")
    return words


def say_number(value: Any, one: str = "", few: str = "", many: str = "", gender: str = "m") -> str:
    """A quantity in words, with its unit in the right form when the three forms are given:
    ``{{ 3 | say_number("день", "дня", "дней") }}`` → «три дня»; a fraction takes the ``few`` form
    («две целых пять десятых киловатт-часа»). ``gender`` agrees one and two with the unit
    (``"f"``: «одна квартира», «две квартиры»)."""
    amount = to_decimal(value)
    if amount == amount.to_integral_value():
        whole = int(amount)
        words = _cardinal(whole, gender=gender)
        unit = plural(whole, one, few, many) if one else ""
    else:
        words = num2words(amount.normalize(), lang="ru")
        unit = few
    return f"{words} {unit}".strip()


def _date_of(value: Any, tz: ZoneInfo) -> date:
    moment = to_moment(value, tz)
    if isinstance(moment, datetime):
        return moment.astimezone(tz).date() if moment.tzinfo else moment.date()
    return moment


def say_date(value: Any, case: str = "genitive", *, tz: ZoneInfo | None = None) -> str:
    """A date in words: «пятнадцатого января две тысячи двадцать шестого года» (genitive: «до …»,
    «с …»); ``case="nominative"``: «пятнадцатое января две тысячи двадцать шестого года»."""
    if case not in _CASES:
        raise ValueError(f"say_date: case must be one of {', '.join(_CASES)}, not {case!r}")
    day = _date_of(value, tz or ZoneInfo("Asia/Omsk"))
    ordinal = num2words(day.day, lang="ru", to="ordinal", case=case, gender="n")
    year = num2words(day.year, lang="ru", to="ordinal", case="genitive")
    return f"{ordinal} {_MONTHS_GENITIVE[day.month - 1]} {year} года"


def _time_of(value: Any, tz: ZoneInfo) -> time:
    if isinstance(value, time):
        return value
    text = str(value).strip()
    if re.fullmatch(r"\d{1,2}[:.]\d{2}", text):
        hours, minutes = re.split(r"[:.]", text)
        return time(int(hours), int(minutes))
    moment = to_moment(value, tz)
    if not isinstance(moment, datetime):
        raise ValueError(f"not a time of day: {value!r}")
    return (moment.astimezone(tz) if moment.tzinfo else moment).time()


def say_time(value: Any, case: str = "genitive", *, tz: ZoneInfo | None = None) -> str:
    """A time of day in words (the company's time zone for a moment): genitive, for «до …» —
    «восемнадцати часов тридцати минут»; nominative, for «в …» — «девять часов пять минут».
    Whole hours drop the minutes: «до семнадцати часов»."""
    if case not in _CASES:
        raise ValueError(f"say_time: case must be one of {', '.join(_CASES)}, not {case!r}")
    moment = _time_of(value, tz or ZoneInfo("Asia/Omsk"))
    hour, minute = moment.hour, moment.minute
    if case == "genitive":
        # After a numeral in the genitive the noun is singular for 1/21 and plural otherwise.
        hours = f"{_cardinal(hour, case=case)} {'часа' if hour % 10 == 1 and hour != 11 else 'часов'}"
        minutes = (f"{_cardinal(minute, case=case, gender='f')} "
                   f"{'минуты' if minute % 10 == 1 and minute % 100 != 11 else 'минут'}")
    else:
        hours = f"{_cardinal(hour)} {plural(hour, 'час', 'часа', 'часов')}"
        minutes = f"{_cardinal(minute, gender='f')} {plural(minute, 'минута', 'минуты', 'минут')}"
    return hours if minute == 0 else f"{hours} {minutes}"


def _phone_groups(text: str) -> list[str]:
    groups = re.findall(r"\d+", text)
    if len(groups) > 1:
        return groups
    digits = groups[0] if groups else ""
    # Written without separators: group as people read it out (8 800 555 35 35).
    if len(digits) == 11:
        sizes = [1, 3, 3, 2, 2]
    elif len(digits) == 10:
        sizes = [3, 3, 2, 2]
    else:
        sizes = [2] * (len(digits) // 2)
        if len(digits) % 2:
            sizes = [3, *sizes[1:]] if len(digits) >= 3 else [1]
    out, at = [], 0
    for size in sizes:
        out.append(digits[at:at + size])
        at += size
    return out


def _say_group(group: str) -> str:
    # Two or three digits without a leading zero are read as a number («сорок»); anything else
    # digit by digit so no zero is lost («ноль пять», «три восемь один два»).
    if 2 <= len(group) <= 3 and not group.startswith("0"):
        return _cardinal(int(group))
    return " ".join(_DIGITS[int(d)] for d in group)


def say_phone(value: Any) -> str:
    """A phone number group by group, zeros spoken, a pause (comma) between groups:
    «+7 (3812) 40-05-00» → «плюс семь, три восемь один два, сорок, ноль пять, ноль ноль»."""
    text = str(value).strip()
    groups = _phone_groups(text)
    if not groups:
        raise ValueError(f"not a phone number: {value!r}")
    words = ", ".join(_say_group(g) for g in groups)
    return f"плюс {words}" if text.startswith("+") else words


def make_speech_sandbox(tz: ZoneInfo | None = None) -> SandboxedEnvironment:
    """The scenario sandbox (StrictUndefined) with the spoken filters added."""
    zone = tz or ZoneInfo("Asia/Omsk")
    env = make_sandbox(zone)
    env.filters.update(
        say_rub=say_rub,
        say_number=say_number,
        say_phone=say_phone,
        say_date=lambda value, case="genitive": say_date(value, case, tz=zone),
        say_time=lambda value, case="genitive": say_time(value, case, tz=zone),
    )
    return env


def render_speech(source: str, context: dict[str, Any], tz: ZoneInfo | None = None) -> str:
    """A phone scenario's text for one recipient, as one line for the synthesiser."""
    text = make_speech_sandbox(tz).from_string(source).render(**context)
    return " ".join(text.split())
