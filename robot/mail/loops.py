"""Is this mail automatic? We never answer automatic mail (RFC 3834; RELIABILITY §4)."""

from __future__ import annotations

import re

from robot.mail.parse import ParsedMail

_ROBOT_LOCALPARTS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)([+\-.].*)?$", re.I)


def automatic_reason(mail: ParsedMail, envelope_from: str | None) -> str | None:
    """Why ``mail`` is automatic, or None when a person wrote it."""
    headers = mail.headers
    auto = headers.get("auto-submitted", "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    for name in ("list-id", "list-unsubscribe", "x-auto-response-suppress", "x-autoreply", "x-autorespond"):
        if name in headers:
            return f"{name} header"
    if "report-type=delivery-status" in headers.get("content-type", "").replace(" ", "").lower():
        return "delivery status notification"
    if envelope_from is not None and envelope_from.strip() in ("", "<>"):
        return "empty return path"
    sender = mail.from_addr or ""
    if _ROBOT_LOCALPARTS.match(sender.partition("@")[0]):
        return f"robot sender {sender}"
    return None
