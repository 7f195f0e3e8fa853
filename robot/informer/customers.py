"""Customers with contracts, imported from the billing system's exports (R24).

The billing system is outside the robot; its CSV or XLSX exports are the interface. An import
checks every line and reports each problem with its line, field and value; valid lines are
stored (added or updated by account number) in one transaction, invalid ones are left out and
reported, so one bad line never blocks the rest and never half-imports a file.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from robot.routing.load import normalise_place
from robot.routing.schema import RulesFile
from robot.storage.models import Customer

#: Column headers as billing exports write them, normalised (lower case, ё→е, no punctuation).
HEADERS: dict[str, tuple[str, ...]] = {
    "account_number": ("лицевой счет", "л с", "лс", "номер лицевого счета", "account", "account number"),
    "name": ("фио", "потребитель", "наименование", "name"),
    "email": ("e mail", "email", "эл почта", "электронная почта"),
    "email_consent": ("согласие", "согласие на e mail", "согласие на email", "consent", "email consent"),
    "phone": ("телефон", "phone"),
    "address": ("адрес", "address"),
    "territory": ("территория", "рэс", "territory", "unit"),
}
REQUIRED = ("account_number", "name")
_YES = {"да", "yes", "y", "1", "true", "+", "д"}
_NO = {"нет", "no", "n", "0", "false", "-", "н", ""}
#: An address with one @, a dot in the domain, and nothing a header could be smuggled with.
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]{2,}$")


class ImportFileError(ValueError):
    """The file as a whole cannot be read: unknown format, no header, a required column missing."""


@dataclass(frozen=True)
class Problem:
    line: int
    field: str
    code: str  # see templates/cli/customers_import.txt.j2 for the wording of each
    value: str = ""
    severity: str = "error"  # error: the line is left out; warning: stored without that value


@dataclass
class Row:
    line: int
    account_number: str
    name: str
    email: str | None
    email_consent: bool
    phone: str | None
    address: str | None
    territory: str | None
    unit: str | None


@dataclass
class ImportReport:
    source: str
    lines: int = 0
    valid: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({p.line for p in self.problems if p.severity == "error"})

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def _normalise_header(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower().replace("ё", "е")).split())


def _columns(header: list[str]) -> dict[str, int]:
    aliases = {alias: name for name, names in HEADERS.items() for alias in names}
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = aliases.get(_normalise_header(cell or ""))
        if name and name not in columns:
            columns[name] = index
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        wanted = "; ".join(f"{name} ({' / '.join(HEADERS[name][:2])})" for name in missing)
        raise ImportFileError(f"no column for {wanted} in the header line: {header!r}")
    return columns


def read_table(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of a CSV or XLSX file, the header line included, numbered from 1."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        yield from _read_xlsx(path)
    elif suffix in {".csv", ".txt"}:
        yield from _read_csv(path.read_bytes())
    else:
        raise ImportFileError(f"{path.name}: only .csv and .xlsx files are read, not {suffix or 'no extension'}")


def _read_csv(data: bytes) -> Iterator[tuple[int, list[str]]]:
    # Exports from Russian Windows machines are often cp1251; UTF-8 (with or without a BOM) first.
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1251")
    # The header line decides the separator: Excel in a Russian locale writes ';', others ','.
    # (csv.Sniffer guesses from the data lines, where addresses are full of commas.)
    header = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(";,\t", key=header.count)
    yield from enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1)


def _read_xlsx(path: Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as error:
        raise ImportFileError(f"{path.name}: not a readable XLSX workbook ({error})") from None
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, ["" if v is None else _cell_text(v) for v in values]
    finally:
        book.close()


def _cell_text(value: object) -> str:
    # Spreadsheets turn account numbers into floats; 1234567890.0 is the account 1234567890.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class Territories:
    """Resolves what a billing export calls a territory to a network unit of routing_rules.yaml."""

    def __init__(self, rules: RulesFile) -> None:
        self.unit_of: dict[str, str] = {}
        for unit in rules.units:
            self.unit_of[unit.code.lower()] = unit.code
            self.unit_of[normalise_place(unit.name)] = unit.code
        for region in rules.regions:
            for district in region.districts:
                for name in (district.name, *district.aliases):
                    self.unit_of.setdefault(normalise_place(name), district.unit)
                for place in district.settlements:
                    for name in (place.name, *place.aliases):
                        self.unit_of.setdefault(normalise_place(name), district.unit)

    def resolve(self, text: str) -> str | None:
        return self.unit_of.get(text.strip().lower()) or self.unit_of.get(normalise_place(text))


def normalise_phone(text: str) -> str | None:
    """A Russian number as +7XXXXXXXXXX, or None when it is not one."""
    digits = re.sub(r"\D", "", text)
    if len(digits) == 11 and digits[0] in "78":
        digits = digits[1:]
    if len(digits) != 10:
        return None
    return "+7" + digits


def check_rows(table: Iterable[tuple[int, list[str]]], territories: Territories,
               account_pattern: re.Pattern[str]) -> tuple[list[Row], list[Problem], int]:
    """Validate every line; return the good rows, the problems and the number of data lines."""
    rows: list[Row] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    columns: dict[str, int] | None = None
    count = 0
    for number, cells in table:
        if not any(cell.strip() for cell in cells):
            continue
        if columns is None:
            columns = _columns(cells)
            continue
        count += 1

        def cell(name: str, cells: list[str] = cells, columns: dict[str, int] = columns) -> str:
            index = columns.get(name)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        found: list[Problem] = []
        account = cell("account_number").replace(" ", "")
        if not account:
            found.append(Problem(number, "account_number", "missing"))
        elif not account_pattern.fullmatch(account):
            found.append(Problem(number, "account_number", "bad_account", account))
        elif account in seen:
            found.append(Problem(number, "account_number", "duplicate", f"{account}:{seen[account]}"))
        name = cell("name")
        if not name:
            found.append(Problem(number, "name", "missing"))
        email = cell("email") or None
        consent_text = cell("email_consent").lower()
        consent = consent_text in _YES
        if consent_text not in _YES | _NO:
            found.append(Problem(number, "email_consent", "bad_consent", consent_text))
        if email is not None:
            address = parseaddr(email)[1]
            if not address or not _EMAIL.match(address) or address != email.strip("<>"):
                found.append(Problem(number, "email", "bad_email", email))
                email = None
            elif not consent:
                # R24: only an e-mail the customer gave voluntarily may be used.
                found.append(Problem(number, "email", "no_consent", email, severity="warning"))
                email = None
            else:
                email = address.lower()
        phone_text = cell("phone")
        phone = normalise_phone(phone_text) if phone_text else None
        if phone_text and phone is None:
            found.append(Problem(number, "phone", "bad_phone", phone_text))
        territory = cell("territory") or None
        unit = territories.resolve(territory) if territory else None
        if territory and unit is None:
            found.append(Problem(number, "territory", "unknown_territory", territory))
        problems.extend(found)
        if any(p.severity == "error" for p in found):
            continue
        seen[account] = number
        rows.append(Row(number, account, name, email, consent and email is not None, phone,
                        cell("address") or None, territory, unit))
    if columns is None:
        raise ImportFileError("the file is empty: no header line")
    return rows, problems, count


def store(session: Session, rows: list[Row], *, source: str, now: datetime, report: ImportReport) -> None:
    """Add or update customers by account number."""
    existing = {
        c.account_number: c
        for c in session.scalars(select(Customer).where(Customer.account_number.in_([r.account_number for r in rows])))
    } if rows else {}
    for row in rows:
        values = {"name": row.name, "email": row.email, "phone": row.phone, "address": row.address,
                  "territory": row.territory, "unit": row.unit}
        customer = existing.get(row.account_number)
        if customer is None:
            session.add(Customer(account_number=row.account_number, imported_at=now, updated_at=now,
                                 email_consent_at=now if row.email_consent else None,
                                 source=f"{source}:{row.line}", **values))
            report.added += 1
            continue
        if all(getattr(customer, key) == value for key, value in values.items()):
            report.unchanged += 1
            continue
        if row.email != customer.email:
            customer.email_consent_at = now if row.email_consent else None
        for key, value in values.items():
            setattr(customer, key, value)
        customer.updated_at, customer.source = now, f"{source}:{row.line}"
        report.updated += 1


def import_customers(session: Session, path: Path, *, rules: RulesFile, account_pattern: str,
                     now: datetime, dry_run: bool = False) -> ImportReport:
    """Check ``path`` and, unless ``dry_run``, store its valid lines in ``session`` (the caller commits)."""
    report = ImportReport(source=path.name)
    rows, problems, report.lines = check_rows(read_table(path), Territories(rules), re.compile(account_pattern))
    report.problems, report.valid = problems, len(rows)
    if not dry_run:
        store(session, rows, source=path.name, now=now, report=report)
    return report
