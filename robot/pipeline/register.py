"""Registration numbers a person can read and say on the phone: ``2026-000123``.

Unique per year: the counter row is incremented inside the registering transaction, so two
workers can never take the same number (the unique constraint on ``appeals.number`` backs it up).
"""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from robot.storage.models import RegistrationCounter


def next_number(session: Session, year: int) -> tuple[int, str]:
    seq = session.scalar(
        update(RegistrationCounter)
        .where(RegistrationCounter.year == year)
        .values(last=RegistrationCounter.last + 1)
        .returning(RegistrationCounter.last)
    )
    if seq is None:
        try:
            with session.begin_nested():
                session.execute(insert(RegistrationCounter).values(year=year, last=1))
            seq = 1
        except IntegrityError:
            # Another transaction created the year's counter first; take the next value from it.
            return next_number(session, year)
    return seq, format_number(year, seq)


def format_number(year: int, seq: int) -> str:
    return f"{year}-{seq:06d}"

