"""What a web reception form tells the pipeline beyond its mail: the kind, the territory, the contacts.

A form states its kind (R5: the form's kind wins over the classifier); its territory, address and
account are routing's best evidence; its phone, address and account fill the journal (R19).
Only a raw message that came in through the web channel is looked up: a mail cannot claim to be
a form by its headers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers import Classification
from robot.storage.models import Appeal, RawMessage, WebSubmission

#: The four forms and the kind of appeal each states. A review is feedback (Standard § 4:
#: active feedback — measures within 14 days), not a request to answer on the merits.
FORM_KINDS = {"question": "question", "application": "application", "complaint": "complaint", "review": "feedback"}


@dataclass(frozen=True)
class WebForm:
    form: str
    fields: dict[str, Any]

    @property
    def kind(self) -> str:
        return FORM_KINDS[self.form]

    def classified(self, result: Classification) -> Classification:
        """The classifier's result with the form's kind: stated by the customer, hence certain."""
        return replace(result, kind=self.kind, kind_confidence=1.0,
                       kind_scores=result.kind_scores | {"form": 1.0})

    def routing_fields(self) -> dict[str, str]:
        """What routing reads (``Facts.form``): the fields the customer filled in."""
        keys = ("territory", "address", "account", "phone", "name")
        return {key: str(self.fields[key]) for key in keys if self.fields.get(key)}

    def fill(self, appeal: Appeal) -> None:
        """The journal's contact columns (R19), as the customer gave them."""
        appeal.customer_name = self.fields.get("name") or appeal.customer_name
        appeal.customer_phone = self.fields.get("phone") or None
        appeal.customer_address = self.fields.get("address") or None
        appeal.account_number = self.fields.get("account") or None


def submitted_form(session: Session, raw: RawMessage) -> WebForm | None:
    if raw.channel != "web" or not raw.message_id:
        return None
    row = session.execute(select(WebSubmission.form, WebSubmission.fields)
                          .where(WebSubmission.message_id == raw.message_id)).first()
    return WebForm(row.form, dict(row.fields)) if row is not None else None
