"""Our own Message-IDs carry a signed token, so a reply can be tied to its appeal safely.

``<mr.{appeal_id}.{nonce}.{signature}@{domain}>``: the signature is an HMAC over the appeal id
and nonce; a forged or altered id does not verify (RELIABILITY §5).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

_PATTERN = re.compile(r"<mr\.(\d+)\.([0-9a-f]{12})\.([0-9a-f]{20})@[^<>\s]+>")
#: Anything shaped like one of our ids, signed or not: a forgery is recognised by its shape.
_SHAPE = re.compile(r"<mr\.[^<>\s@]*@([^<>\s]+)>", re.IGNORECASE)


def _sign(key: bytes, appeal_id: int, nonce: str) -> str:
    return hmac.new(key, f"{appeal_id}.{nonce}".encode(), hashlib.sha256).hexdigest()[:20]


def make_message_id(key: bytes, appeal_id: int, domain: str) -> str:
    nonce = secrets.token_hex(6)
    return f"<mr.{appeal_id}.{nonce}.{_sign(key, appeal_id, nonce)}@{domain}>"


def verify_message_id(key: bytes, message_id: str) -> int | None:
    """The appeal id a Message-ID of ours names, or None when it is not ours or is forged."""
    match = _PATTERN.fullmatch(message_id.strip())
    if not match:
        return None
    appeal_id, nonce, signature = int(match.group(1)), match.group(2), match.group(3)
    if not hmac.compare_digest(signature, _sign(key, appeal_id, nonce)):
        return None
    return appeal_id


def looks_like_ours(message_id: str, domain: str) -> bool:
    """Whether ``message_id`` has our shape and domain, whatever its signature says."""
    match = _SHAPE.fullmatch(message_id.strip())
    return match is not None and match.group(1).lower() == domain.lower()


def find_message_ids(text: str, domain: str) -> list[str]:
    """Every id of our shape and domain in ``text`` (a bounce quotes the mail it returns), in order."""
    return list(dict.fromkeys(m.group(0) for m in _SHAPE.finditer(text) if m.group(1).lower() == domain.lower()))
