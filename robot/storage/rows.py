"""Rows written straight to their table, past the ORM's unit of work.

Registering an appeal writes a dozen rows that nothing reads back as objects in the same
transaction (history events, due actions, the readable messages, the acknowledgement's mail).
As ORM objects each cost a flush's bookkeeping, which was the biggest single cost of a worker's
job; as Core inserts on the session's connection they are written at once, in order, in the same
transaction, with the same column defaults and types. A query in the same transaction sees them;
an already loaded relationship collection does not (none of the registering code reads one).
They do not flush the session first: a row they refer to (the appeal) must already be flushed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Insert, insert
from sqlalchemy.orm import Session

from robot.storage.models import Base


@cache
def _insert(model: type[Base], returning_id: bool) -> Insert:
    # Built once per table: SQLAlchemy then finds its compiled form without working out a cache key.
    table = model.__table__
    return insert(table).returning(table.c.id) if returning_id else insert(table)


def add_rows(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (column → value) into ``model``'s table; one statement for all of them."""
    if rows:
        session.connection().execute(_insert(model, False), list(rows))


def add_row(session: Session, model: type[Base], row: Mapping[str, Any]) -> int:
    """Insert one row into ``model``'s table and return its new id."""
    return session.connection().execute(_insert(model, True), dict(row)).scalar_one()
