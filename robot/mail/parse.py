"""Parse raw mail into what the pipeline needs, best effort, never raising on bad input.

The raw bytes are always kept in storage; what this module cannot decode cleanly it decodes as
well as it can and records as a defect, so a human can look at the original.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from robot.mail import charsets
from robot.mail.html import html_to_text

_SURROGATE = re.compile(r"[\udc80-\udcff]")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
# Headers an MTA adds on the way in; a redelivered message differs from the first only in these.
_TRACE = re.compile(rb"^(received|return-path|delivered-to|x-original-to|x-received):", re.I)


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class ParsedMail:
    message_id: str | None = None
    from_addr: str | None = None
    from_name: str | None = None
    subject: str = ""
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    text: str = ""
    html: str | None = None
    attachments: list[ParsedAttachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


def content_fingerprint(raw: bytes) -> str:
    """A hash of the message without its trace headers: equal for a redelivery of the same mail."""
    match = _HEADER_END.search(raw)
    head, body = (raw[: match.start()], raw[match.end() :]) if match else (raw, b"")
    kept = [line for line in re.split(rb"\r?\n(?![ \t])", head) if not _TRACE.match(line)]
    digest = hashlib.sha256()
    for line in kept:
        digest.update(line.rstrip(b"\r") + b"\n")
    digest.update(b"\n")
    digest.update(body.replace(b"\r\n", b"\n"))
    return digest.hexdigest()


def sniff_message_id(raw: bytes) -> str | None:
    """The Message-ID header, read without a full parse (the gateway needs it before DATA's 250)."""
    match = _HEADER_END.search(raw)
    head = raw[: match.start()] if match else raw[:65536]
    found = re.search(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", head, re.I | re.M)
    if not found:
        return None
    value = re.sub(rb"\s+", b"", found.group(1)).decode("ascii", "replace")
    return value[:998] or None


def parse(raw: bytes) -> ParsedMail:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    result = ParsedMail()
    result.defects.extend(_describe(defect) for defect in msg.defects)
    if not _HEADER_END.search(raw):
        result.defects.append("no blank line between header and body")

    result.headers = {name.lower(): _header_text(msg, name, result.defects) for name in set(msg.keys())}
    result.subject = result.headers.get("subject", "")
    result.message_id = _msgid(result.headers.get("message-id"))
    result.in_reply_to = _msgid(result.headers.get("in-reply-to"))
    result.references = re.findall(r"<[^<>\s]+>", result.headers.get("references", ""))
    result.from_name, result.from_addr = _sender(msg, result)

    _collect_parts(msg, result)
    return result


def _describe(defect: Exception) -> str:
    return f"{type(defect).__name__}: {defect}".strip().rstrip(":")


def _header_text(msg: Message, name: str, defects: list[str]) -> str:
    """A header's value decoded; raw 8-bit bytes in a header are decoded by guessing the charset."""
    raw_values = [value for key, value in msg.raw_items() if key.lower() == name.lower()]
    raw_value = raw_values[0] if raw_values else ""
    if _SURROGATE.search(raw_value):
        data = raw_value.encode("ascii", "surrogateescape")
        text, codec, _problems = charsets.decode(data, None)
        defects.append(f"8-bit bytes in header {name}, read as {codec}")
        return _unfold(text)
    try:
        return _unfold(str(msg[name]))
    except Exception as error:  # the header registry raises on some malformed values
        defects.append(f"unparsable header {name}: {error}")
        return _unfold(raw_value)


def _unfold(value: str) -> str:
    # Newlines never survive into a value we might later put into a header (RELIABILITY §6).
    return re.sub(r"\s*[\r\n]+\s*", " ", value).replace("\x00", "").strip()


def _msgid(value: str | None) -> str | None:
    if not value:
        return None
    found = re.search(r"<[^<>\s]+>", value)
    return (found.group(0) if found else value.strip())[:998] or None


def _sender(msg: Message, result: ParsedMail) -> tuple[str | None, str | None]:
    value = result.headers.get("from", "")
    if not value:
        return None, None
    pairs = [(name, addr) for name, addr in getaddresses([value]) if addr]
    if len(pairs) != 1:
        # Two addresses, or a trick such as «alice@example.org)<bob@example.org>» that parses into
        # something other than one mailbox: record it and take only a clean single mailbox.
        result.defects.append(f"From does not hold exactly one address: {value!r}")
        name, addr = parseaddr(value)
        pairs = [(name, addr)] if addr and "@" in addr else []
    if not pairs:
        return None, None
    name, addr = pairs[0]
    if "@" not in addr or any(ch in addr for ch in "<>()[]\\,;: \"'"):
        result.defects.append(f"implausible From address {addr!r}")
        return _unfold(name) or None, None
    return _unfold(name) or None, addr.lower()


def _collect_parts(msg: Message, result: ParsedMail) -> None:
    texts: list[str] = []
    htmls: list[str] = []
    for index, part in enumerate(msg.walk()):
        if part.is_multipart():
            continue
        result.defects.extend(_describe(defect) for defect in part.defects)
        content_type = part.get_content_type()
        filename = _filename(part, result.defects)
        disposition = (part.get_content_disposition() or "").lower()
        if content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            text = _decode_text(part, result.defects)
            if content_type == "text/html":
                htmls.append(text)
            else:
                texts.append(text)
            continue
        payload = _payload(part, result.defects)
        if content_type == "message/rfc822" and not payload:
            continue
        result.attachments.append(
            ParsedAttachment(filename=filename or f"part-{index}.bin", content_type=content_type, content=payload)
        )
    result.html = "\n".join(htmls) or None
    result.text = "\n\n".join(t.strip() for t in texts if t.strip())
    if not result.text and result.html:
        result.text = html_to_text(result.html)


def _filename(part: Message, defects: list[str]) -> str | None:
    try:
        name = part.get_filename()
    except Exception as error:
        defects.append(f"unreadable attachment name: {error}")
        return None
    if name and _SURROGATE.search(name):
        name = charsets.decode(name.encode("ascii", "surrogateescape"), None)[0]
    if not name:
        return None
    # Keep only the last path element and no control characters: the name is shown and downloaded.
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255] or None


def _payload(part: Message, defects: list[str]) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception as error:
        defects.append(f"undecodable part {part.get_content_type()}: {error}")
        payload = None
    if payload is None:
        raw = part.get_payload()
        if isinstance(raw, list):  # message/rfc822 parsed into a sub-message
            return b""
        payload = str(raw).encode("utf-8", "surrogateescape")
    return payload


def _decode_text(part: Message, defects: list[str]) -> str:
    data = _payload(part, defects)
    label = part.get_param("charset")
    if isinstance(label, tuple):  # RFC 2231 form
        label = label[2]
    text, _codec, problems = charsets.decode(data, label if isinstance(label, str) else None)
    defects.extend(problems)
    return text.replace("\x00", "").replace("\r\n", "\n")
