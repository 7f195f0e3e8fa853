"""Parse raw mail into what the pipeline needs, best effort, never raising on bad input.

The raw bytes are always kept in storage; what this module cannot decode cleanly it decodes as
well as it can and records as a defect, so a human can look at the original.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import quopri
import re
from collections import Counter
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from robot.mail import charsets
from robot.mail.html import html_to_text

_SURROGATE = re.compile(r"[\udc80-\udcff]")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_ADDR = r"(?P<addr>[^\s<>()\[\]\\,;:\"@]+@[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?)"
# A display name is a quoted string or words without specials; then the address in angle brackets.
_MAILBOX_ANGLE = re.compile(r'(?P<name>"(?:[^"\\]|\\.)*"|[^<>()\[\]\\,;:"@]*)\s*<' + _ADDR + r">\s*(?:\([^()]*\))?")
# A bare address, optionally followed by a (comment) — the old «addr (Full Name)» form.
_MAILBOX_BARE = re.compile(_ADDR + r"\s*(?:\((?P<name>[^()]*)\))?")
_SINGLE = ("from", "sender", "to", "subject", "date", "message-id", "content-type", "content-transfer-encoding")
_KNOWN_CTE = {"7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "uuencode", "x-uue"}
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

    result.defects.extend(_raw_problems(raw))
    result.headers = {name.lower(): _header_text(msg, name, result.defects) for name in dict.fromkeys(msg.keys())}
    _check_headers(msg, result)
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
    """A header's value decoded: RFC 2047 words with our charset fallbacks, raw 8-bit by guessing."""
    raw_values = [value for key, value in msg.raw_items() if key.lower() == name.lower()]
    raw_value = str(raw_values[0]) if raw_values else ""
    if _SURROGATE.search(raw_value):
        data = raw_value.encode("ascii", "surrogateescape")
        text, codec, _problems = charsets.decode(data, None)
        defects.append(f"8-bit bytes in header {name}, read as {codec}")
        return _unfold(text)
    if "=?" in raw_value:
        return _unfold(decode_words(raw_value, name, defects))
    return _unfold(raw_value)


def decode_words(value: str, name: str, defects: list[str]) -> str:
    """Decode RFC 2047 encoded-words leniently.

    Adjacent words of one charset are joined before decoding (mailers split a character across
    words), unknown or lying charset names fall back to guessing, bad base64 padding is forgiven.
    """
    pieces: list[tuple[bytes, str | None]] = []
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        # Whitespace between two encoded-words is not part of the text (RFC 2047 §6.2).
        if between and not (pieces and pieces[-1][1] is not None and not between.strip()):
            pieces.append((between.encode("utf-8", "surrogateescape"), None))
        label, encoding, payload = match.group(1).split("*")[0], match.group(2).upper(), match.group(3)
        try:
            data = _b64(payload) if encoding == "B" else _qp(payload)
        except (binascii.Error, ValueError):
            defects.append(f"undecodable encoded-word in {name}")
            data = payload.encode()
        if _codec_fails(data, label):
            defects.append(f"encoded-word in {name} does not decode alone as {label!r}")
        if pieces and pieces[-1][1] == label.lower():
            pieces[-1] = (pieces[-1][0] + data, label.lower())
        else:
            pieces.append((data, label.lower()))
        position = match.end()
    pieces.append((value[position:].encode("utf-8", "surrogateescape"), None))
    out = []
    for data, label in pieces:
        if label is None:
            out.append(data.decode("utf-8", "replace"))
            continue
        text, _codec, problems = charsets.decode(data, label)
        defects.extend(f"{problem} in {name}" for problem in problems)
        if "\r" in text or "\n" in text:
            # A line break hidden in an encoded-word is a header injection attempt.
            defects.append(f"encoded line break in {name}")
        out.append(text)
    return "".join(out)


def _b64(payload: str) -> bytes:
    payload = re.sub(r"[^A-Za-z0-9+/]", "", payload)
    return base64.b64decode(payload + "=" * (-len(payload) % 4))


def _qp(payload: str) -> bytes:
    return quopri.decodestring(payload.replace("_", " ").encode("ascii", "replace"), header=False)


def _codec_fails(data: bytes, label: str) -> bool:
    codec = charsets.known_codec(label)
    if codec is None:
        return False  # reported as an unknown charset when the joined words are decoded
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return True
    return False


def _raw_problems(raw: bytes) -> list[str]:
    problems = []
    if b"\x00" in raw:
        problems.append("NUL bytes in the message")
    if any(len(line) > 998 for line in raw.splitlines()):
        problems.append("line longer than 998 octets (RFC 5322 §2.1.1)")
    return problems


def _check_headers(msg: Message, result: ParsedMail) -> None:
    counts = Counter(key.lower() for key, _value in msg.raw_items())
    for name in _SINGLE:
        if counts[name] > 1:
            result.defects.append(f"more than one {name} header")
    if "from" not in result.headers:
        result.defects.append("no From header")
    if "date" in result.headers:
        try:
            parsedate_to_datetime(result.headers["date"])
        except (TypeError, ValueError, IndexError):
            result.defects.append(f"invalid Date {result.headers['date']!r}")
    for name in ("to", "cc"):
        if name in result.headers and re.search(r"(^|,)\s*(,|$)", result.headers[name]):
            result.defects.append(f"empty element in {name.title()}")
    encoding = (result.headers.get("content-transfer-encoding") or "").lower().strip()
    if encoding and encoding not in _KNOWN_CTE:
        result.defects.append(f"unknown Content-Transfer-Encoding {encoding!r}")


def _unfold(value: str) -> str:
    # Newlines never survive into a value we might later put into a header (RELIABILITY §6).
    return re.sub(r"\s*[\r\n]+\s*", " ", value).replace("\x00", "").strip()


def _msgid(value: str | None) -> str | None:
    if not value:
        return None
    found = re.search(r"<[^<>\s]+>", value)
    return (found.group(0) if found else value.strip())[:998] or None


def _sender(msg: Message, result: ParsedMail) -> tuple[str | None, str | None]:
    """The one mailbox of the first From field, read strictly.

    The stdlib's lenient parsers turn «alice@example.org)<bob@example.org>» into one of the two
    addresses (CVE-2023-27043); a customer's identity must not rest on such a guess, so anything
    that is not a plain mailbox yields no address and a recorded defect.
    """
    raw_values = [str(value) for key, value in msg.raw_items() if key.lower() == "from"]
    if not raw_values:
        return None, None
    value = _unfold(raw_values[0])
    mailboxes = _split_outside_quotes(value)
    if len(mailboxes) > 1:
        result.defects.append("From holds more than one mailbox; the first is taken")
    match = _MAILBOX_ANGLE.fullmatch(mailboxes[0]) or _MAILBOX_BARE.fullmatch(mailboxes[0])
    if match is None:
        result.defects.append(f"From is not a mailbox: {value[:200]!r}")
        return None, None
    name = (match.groupdict().get("name") or "").strip()
    if name.startswith('"') and name.endswith('"'):
        name = re.sub(r"\\(.)", r"\1", name[1:-1])
    if "=?" in name:
        name = decode_words(name, "From", result.defects)
    if _SURROGATE.search(name):
        name = charsets.decode(name.encode("ascii", "surrogateescape"), None)[0]
    return _unfold(name) or None, match.group("addr").lower()


def _split_outside_quotes(value: str) -> list[str]:
    parts, current, quoted, depth = [], [], False, 0
    for index, ch in enumerate(value):
        escaped = index > 0 and value[index - 1] == "\\"
        if ch == '"' and not escaped:
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth = max(0, depth - 1)
        if ch == "," and not quoted and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return [part for part in parts if part] or [""]


def _collect_parts(msg: Message, result: ParsedMail) -> None:
    texts: list[str] = []
    htmls: list[str] = []
    _walk(msg, result, texts, htmls, depth=0)
    result.html = "\n".join(htmls) or None
    result.text = "\n\n".join(t.strip() for t in texts if t.strip())
    if not result.text and result.html:
        result.text = html_to_text(result.html)


#: Deeper nesting than this is not a real customer's mail; the rest is kept as one attachment.
_MAX_DEPTH = 64


def _walk(part: Message, result: ParsedMail, texts: list[str], htmls: list[str], depth: int) -> None:
    content_type = part.get_content_type()
    if content_type.startswith("multipart/") and depth < _MAX_DEPTH:
        result.defects.extend(_describe(defect) for defect in part.defects)
        children = part.get_payload() if part.is_multipart() else _reparse_multipart(part)
        for child in children:
            _walk(child, result, texts, htmls, depth + 1)
        if not children:
            text = charsets.decode(_body_bytes(part), None)[0]
            texts.append(html_to_text(text) if re.search(r"<[a-zA-Z]", text) else text)
        return
    filename = _filename(part, result.defects)
    disposition = (part.get_content_disposition() or "").lower()
    if content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename:
        text = _decode_text(part, result.defects)
        (htmls if content_type == "text/html" else texts).append(text)
        result.defects.extend(_describe(defect) for defect in part.defects)
        return
    if content_type.startswith("message/") or part.is_multipart():
        # A forwarded message or a DSN part is shown as one attachment, not read into the text.
        payload = _body_bytes(part)
        default_name = "message.eml" if content_type == "message/rfc822" else "part.txt"
    else:
        payload = _payload(part, result.defects)
        default_name = "attachment.bin"
        encoding = str(part.get("content-transfer-encoding", "")).lower().strip()
        if "uue" in encoding and not re.search(rb"^begin [0-7]{3} ", _body_bytes_raw(part), re.M):
            result.defects.append("x-uuencode part without a begin line")
        result.defects.extend(_describe(defect) for defect in part.defects)
    result.attachments.append(
        ParsedAttachment(filename=filename or default_name, content_type=content_type, content=payload)
    )


def _reparse_multipart(part: Message) -> list[Message]:
    """A multipart whose declared boundary never occurs: try the boundary the body really uses."""
    body = _body_bytes(part)
    found = re.search(rb"^--([^\s]{1,70})[ \t]*\r?$", body, re.M)
    if not found:
        return []
    boundary = found.group(1).decode("ascii", "replace").replace('"', "")
    wrapper = f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode() + body
    reparsed = BytesParser(policy=policy.default).parsebytes(wrapper)
    return reparsed.get_payload() if reparsed.is_multipart() else []


def _body_bytes_raw(part: Message) -> bytes:
    payload = part.get_payload()
    return _as_bytes(payload) if isinstance(payload, str) else b""


def _as_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _body_bytes(part: Message) -> bytes:
    """The body of ``part`` as it was on the wire, for parts kept whole."""
    payload = part.get_payload()
    if isinstance(payload, list):
        try:
            return b"".join(sub.as_bytes(policy=policy.compat32) for sub in payload)
        except Exception:  # a broken sub-message still yields what its string form holds
            return _as_bytes("".join(str(sub) for sub in payload))
    # decode=True is the way to the raw bytes: without it 8-bit text comes back as U+FFFD.
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else _as_bytes(str(payload))


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
        return _body_bytes(part)
    return payload


def _decode_text(part: Message, defects: list[str]) -> str:
    data = _payload(part, defects)
    label = part.get_param("charset")
    if isinstance(label, tuple):  # RFC 2231 form
        label = label[2]
    text, _codec, problems = charsets.decode(data, label if isinstance(label, str) else None)
    defects.extend(problems)
    encoding = str(part.get("content-transfer-encoding", "")).lower().strip()
    if encoding and encoding not in _KNOWN_CTE:
        defects.append(f"unknown Content-Transfer-Encoding {encoding!r}")
    return text.replace("\x00", "").replace("\r\n", "\n")
