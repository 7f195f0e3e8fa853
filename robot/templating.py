"""The one loader of ``templates/``: every text a customer or staff member reads lives there."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

_MONTHS_GENITIVE = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)


def ru_date(value: date | datetime, tz: ZoneInfo | None = None) -> str:
    """A date the Russian way: «14 января 2026 г.»."""
    if isinstance(value, datetime) and tz is not None:
        value = value.astimezone(tz)
    return f"{value.day} {_MONTHS_GENITIVE[value.month - 1]} {value.year} г."


def make_environment(templates_dir: Path, tz: ZoneInfo) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ru_date"] = lambda value: ru_date(value, tz)
    return env
