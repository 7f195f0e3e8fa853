"""The fields of the Internet reception's four forms (R2) and their server-side validation.

The same rules serve the HTML forms and the JSON API. Errors are codes (``required``,
``email`` …); templates/web/reception/_errors.j2 words them in Russian for both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from robot.config import Settings

#: The four forms and the kind of appeal each states (R5: a form's kind wins over the classifier).
#: A review is feedback (Standard § 4): answered with measures, not on the merits of a request.
FORM_KINDS = {"question": "question", "application": "application", "complaint": "complaint", "review": "feedback"}

#: Fields every form has, in the order they are shown.
TEXT_FIELDS = ("name", "email", "phone", "address", "territory", "account", "text")
#: Address is required where a specialist must act on a place (R10: the routing specialist checks completeness).
REQUIRED = {
    "question": {"name", "email", "text"},
    "application": {"name", "email", "address", "text"},
    "complaint": {"name", "email", "address", "text"},
    "review": {"name", "email", "text"},
}
MAX_LENGTH = {"name": 200, "email": 254, "phone": 40, "address": 500, "territory": 200, "account": 32,
              "text": 10_000}
MIN_TEXT = 10

# A practical address check (RFC 5321 sizes, one @, a dotted domain); the real proof is the
# acknowledgement reaching it.
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
_PHONE = re.compile(r"\+?[\d\s()\-]{5,39}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    content: bytes


@dataclass
class Submission:
    """A validated submission, ready to be stored."""

    form: str
    name: str
    email: str
    text: str
    phone: str = ""
    address: str = ""
    territory: str = ""
    account: str = ""
    attachments: list[Upload] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return FORM_KINDS[self.form]

    def routing_form(self) -> dict[str, str]:
        """The fields routing reads (``Facts.form``): only those the customer filled in."""
        values = {"territory": self.territory, "address": self.address, "account": self.account,
                  "phone": self.phone, "name": self.name}
        return {key: value for key, value in values.items() if value}


def clean(value: Any) -> str:
    """Text as a customer meant it: str, control characters out, line ends normalised, trimmed."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


def validate(form: str, values: Mapping[str, Any], uploads: Sequence[Upload], *, consent: bool,
             settings: Settings, territories: Sequence[str]) -> tuple[Submission | None, dict[str, str]]:
    """The submission, or the error code of each field that is wrong (and None)."""
    data = {name: clean(values.get(name)) for name in TEXT_FIELDS}
    # One line each: a newline in a name or an address has no business there (and no way into a header).
    for name in ("name", "email", "phone", "territory", "account"):
        data[name] = " ".join(data[name].split())
    errors: dict[str, str] = {}
    for name, limit in MAX_LENGTH.items():
        if len(data[name]) > limit:
            errors[name] = "too_long"
    for name in REQUIRED[form]:
        if not data[name]:
            errors[name] = "required"
    if data["email"] and "email" not in errors and not _EMAIL.fullmatch(data["email"]):
        errors["email"] = "email"
    if data["phone"] and "phone" not in errors:
        digits = re.sub(r"\D", "", data["phone"])
        if not _PHONE.fullmatch(data["phone"]) or not 6 <= len(digits) <= 15:
            errors["phone"] = "phone"
    if data["account"] and "account" not in errors and not re.fullmatch(settings.account_number_pattern,
                                                                        data["account"]):
        errors["account"] = "account"
    if data["territory"] and "territory" not in errors and data["territory"] not in territories:
        errors["territory"] = "territory"
    if data["text"] and "text" not in errors and len(data["text"]) < MIN_TEXT:
        errors["text"] = "too_short"
    if not consent:
        errors["consent"] = "consent"
    attachment_error = _check_uploads(uploads, settings)
    if attachment_error:
        errors["attachments"] = attachment_error
    if errors:
        return None, errors
    data["email"] = data["email"].lower()
    return Submission(form=form, attachments=list(uploads), **data), {}


def _check_uploads(uploads: Sequence[Upload], settings: Settings) -> str | None:
    if len(uploads) > settings.web_attachment_max_count:
        return "too_many_files"
    allowed = {suffix.lower() if suffix.startswith(".") else f".{suffix.lower()}"
               for suffix in settings.web_attachment_types}
    for upload in uploads:
        if len(upload.content) > settings.web_attachment_max_bytes:
            return "file_too_large"
        if PurePath(upload.filename).suffix.lower() not in allowed:
            return "file_type"
    return None


def safe_filename(name: str) -> str:
    """A file name with no path and no control characters; the extension is kept."""
    base = PurePath(name.replace("\\", "/")).name
    base = _CONTROL.sub("", base).strip().lstrip(".") or "file"
    return base[-150:]
