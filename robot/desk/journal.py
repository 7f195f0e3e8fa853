"""The journal of received appeals (R19, the Standard's Прил. 5) and its export to XLSX and CSV.

The registration number and the date received come first; then exactly the Прил. 5 columns, with
the Standard's headers in the Standard's order and wording. Only what typesetting broke is mended:
words hyphenated across a line are joined («Теле-фон» → «Телефон»), and the parenthesis the
Standard leaves open after «СЭС» is closed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from robot.storage.models import Appeal

#: Channels through which the robot itself registers appeals (no human dispatcher).
_ROBOT_CHANNELS = ("email", "imap", "web")

Getter = Callable[[Appeal, ZoneInfo], object]


def _local_date(value: datetime | None, tz: ZoneInfo) -> date | None:
    return value.astimezone(tz).date() if value else None


def _days(appeal: Appeal, tz: ZoneInfo) -> int | None:
    if appeal.executed_at is None:
        return None
    return (_local_date(appeal.executed_at, tz) - _local_date(appeal.registered_at, tz)).days


def _dispatcher(appeal: Appeal, tz: ZoneInfo) -> str | None:
    if appeal.dispatcher:
        return appeal.dispatcher
    return "Mail-робот" if appeal.channel in _ROBOT_CHANNELS else None


def _reason(appeal: Appeal, tz: ZoneInfo) -> str | None:
    return appeal.reason or appeal.subject


#: (header, value) in the order of the journal; the first two are ours, the rest are Прил. 5's.
COLUMNS: tuple[tuple[str, Getter], ...] = (
    ("Регистрационный номер", lambda a, tz: a.number),
    ("Дата поступления", lambda a, tz: _local_date(a.registered_at, tz)),
    ("Город/ Область", lambda a, tz: a.region),
    ("Округ города", lambda a, tz: a.city_district),
    ("ПЭС (ЗЭС, ВЭС, СЭС)", lambda a, tz: a.branch),
    ("РЭС", lambda a, tz: a.unit),
    ("Ф.И.О. потребителя", lambda a, tz: a.customer_name),
    ("Домашний адрес", lambda a, tz: a.customer_address),
    ("Телефон", lambda a, tz: a.customer_phone),
    ("Тематика обращений", lambda a, tz: a.topic),
    ("Причина обращения", _reason),
    ("Диспетчер", _dispatcher),
    ("Отв. лицо", lambda a, tz: a.responsible),
    ("Принятые меры", lambda a, tz: a.measures_taken),
    ("дата исполнения", lambda a, tz: _local_date(a.executed_at, tz)),
    ("Причины задержки исполнения", lambda a, tz: a.delay_reason),
    ("Ответ потребителю", lambda a, tz: a.answer_text),
    ("Благодарность потребителя", lambda a, tz: a.gratitude),
    ("срок исполнение (кол-во дней)", _days),
)
HEADERS = [header for header, _ in COLUMNS]


@dataclass(frozen=True)
class Period:
    """Appeals received from ``start`` to ``end`` inclusive (company dates); either may be open."""

    start: date | None = None
    end: date | None = None


def appeals(session: Session, period: Period, tz: ZoneInfo, *, queues: set[str] | None = None,
            kind: str | None = None, channel: str | None = None, batch: int = 1000) -> Iterator[Appeal]:
    """The journal's appeals in registration order, read in batches (a year can be large)."""
    query = select(Appeal).order_by(Appeal.registered_at, Appeal.id)
    if period.start:
        query = query.where(Appeal.registered_at >= datetime.combine(period.start, datetime.min.time(), tz))
    if period.end:
        query = query.where(Appeal.registered_at < datetime.combine(period.end + timedelta(days=1),
                                                                    datetime.min.time(), tz))
    if queues is not None:
        query = query.where(Appeal.queue.in_(sorted(queues)))
    if kind:
        query = query.where(Appeal.kind == kind)
    if channel:
        query = query.where(Appeal.channel == channel)
    yield from session.scalars(query.execution_options(yield_per=batch))


def rows(items: Iterable[Appeal], tz: ZoneInfo) -> Iterator[list[object]]:
    for appeal in items:
        yield [getter(appeal, tz) for _, getter in COLUMNS]


def write_csv(items: Iterable[Appeal], tz: ZoneInfo, out: io.TextIOBase) -> int:
    """CSV with a header row (UTF-8 with BOM, ``;`` — what Excel in a Russian locale opens as is)."""
    writer = csv.writer(out, delimiter=";")
    writer.writerow(HEADERS)
    count = 0
    for row in rows(items, tz):
        writer.writerow(["" if v is None else v.strftime("%d.%m.%Y") if isinstance(v, date) else v for v in row])
        count += 1
    return count


def write_xlsx(items: Iterable[Appeal], tz: ZoneInfo, out: io.BufferedIOBase | str) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Журнал")
    sheet.freeze_panes = "C2"
    for index, header in enumerate(HEADERS):
        sheet.column_dimensions[get_column_letter(index + 1)].width = 14 if index < 2 else 22
    bold = Font(bold=True)
    header_cells = []
    for header in HEADERS:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        header_cells.append(cell)
    sheet.append(header_cells)
    count = 0
    for row in rows(items, tz):
        sheet.append(row)
        count += 1
    book.save(out)
    return count
