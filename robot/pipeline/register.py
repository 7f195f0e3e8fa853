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
    counter = RegistrationCounter.__table__
    with session.no_autoflush:  # nothing pending in the session has to be written before the counter
        seq = session.scalar(update(counter).where(counter.c.year == year).values(last=counter.c.last + 1)
                             .returning(counter.c.last))
    if seq is None:
        try:
            with session.begin_nested():
                session.execute(insert(counter).values(year=year, last=1))
            seq = 1
        except IntegrityError:
            # Another transaction created the year's counter first; take the next value from it.
            return next_number(session, year)
    return seq, format_number(year, seq)


def format_number(year: int, seq: int) -> str:
    return f"{year}-{seq:06d}"

