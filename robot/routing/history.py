"""The customer's earlier appeals as evidence of territory: the latest one whose territory is known."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from robot.routing.territory import Earlier
from robot.storage.models import Appeal


def earlier_territory(session: Session, customer_email: str | None, *, before: int | None = None) -> Earlier | None:
    """The territory of ``customer_email``'s latest appeal (before the appeal id ``before``) that has one.

    The journal columns are read, not the stored routing: a specialist's correction counts.
    """
    if not customer_email:
        return None
    query = (select(Appeal.number, Appeal.region, Appeal.city_district, Appeal.unit)
             .where(Appeal.customer_email == customer_email, Appeal.unit.is_not(None))
             .order_by(Appeal.id.desc()).limit(1))
    if before is not None:
        query = query.where(Appeal.id < before)
    row = session.execute(query).first()
    return None if row is None else Earlier(row.number, row.region, row.city_district, row.unit)
