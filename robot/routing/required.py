"""Is the data complete? The fields a kind requires (``required:`` in the rules file, R10) that an
appeal does not give.

A field is given by the web form, by what the mail says (the contact detectors of the
classifier), or — for the address — by a street or settlement that territory detection found.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from classifiers.detectors.contacts import contact_kinds
from robot.routing.facts import Facts
from robot.routing.territory import Territory

#: What each field means, as the customer is asked for it (templates/mail/ask_missing.*.j2 words them).
FIELDS = ("account", "address", "phone", "name")


def missing_fields(required: list[str], facts: Facts, territory: Territory, account: re.Pattern[str]) -> list[str]:
    if not required:
        return []
    form = facts.form or {}
    text = f"{facts.subject}\n{facts.text}"
    found: set[str] | None = None

    def detected(kind: str) -> bool:
        nonlocal found
        if found is None:  # the detectors cost a fraction of a millisecond: only when asked, and
            found = contact_kinds(text, required)  # they stop once every required kind is found
        return kind in found

    given: dict[str, Callable[[], bool]] = {
        "account": lambda: bool(form.get("account") or facts.account or account.search(text)) or detected("account"),
        "address": lambda: bool(form.get("address")) or territory.source in ("street", "settlement")
        or (territory.source == "form" and any("street" in e or "settlement" in e for e in territory.evidence))
        or detected("address"),
        "phone": lambda: bool(form.get("phone")) or detected("phone"),
        "name": lambda: bool(form.get("name") or facts.customer_name) or detected("name"),
    }
    return [name for name in required if not given[name]()]
