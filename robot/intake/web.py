"""The Internet reception's intake: a validated web submission becomes a stored raw message.

One transaction, committed before the customer hears "accepted", holds both:
- the raw message, through the one ``accept`` every channel uses: an RFC 5322 message the
  pipeline parses like any mail (From is the customer, the body is the text, the files are
  attachments; the form's fields ride along as ``X-Reception-*`` headers for whoever reads the
  raw). Its Message-ID names the submission, so the pipeline finds the form's kind and territory;
- the submission — its fields and the personal-data consent given with it (152-FZ: the verbatim
  text, the time and the address), keyed by the form's one-time nonce.
One transaction (and, through the group committer, one shared with whatever arrives at the same
moment) is one fsync per batch rather than two per submission.

A form sent twice (a double click, a retry after a lost response) carries the same nonce: the
second send finds the first submission, rebuilds the same raw message (same Date, same
Message-ID) and ``accept`` recognises it — one appeal, whatever the browser does.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from robot.app import Robot
from robot.intake.accept import Incoming, accept_many
from robot.intake.committer import GroupCommitter
from robot.storage.models import ConsentText, RawMessage, WebSubmission
from robot.web.fields import Submission, safe_filename

log = logging.getLogger("robot.intake.web")

_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")

CONSENT_TEMPLATE = "web/reception/consent.txt.j2"
SUBJECT_TEMPLATE = "web/reception/subject.txt.j2"


@dataclass(frozen=True)
class Consent:
    """The consent wording in force: its version is the start of its hash, so it cannot drift."""

    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def version(self) -> str:
        return self.sha256[:12]


@dataclass(frozen=True)
class Receipt:
    token: str
    raw_id: int
    #: The submission had been received before (same nonce): nothing new was stored.
    repeated: bool


def current_consent(robot: Robot) -> Consent:
    return Consent(robot.templates.get_template(CONSENT_TEMPLATE).render().strip())


def submission_message_id(robot: Robot, nonce: str) -> str:
    # The nonce is the browser's (or the API client's); hashed, so the id is ours in shape and length.
    digest = hashlib.sha256(nonce.encode()).hexdigest()[:32]
    return f"<web.{digest}@{robot.settings.smtp_hostname}>"


def receive(robot: Robot, submission: Submission, *, nonce: str, source: str, client_ip: str | None,
            user_agent: str | None, consent: Consent, committer: GroupCommitter | None = None) -> Receipt:
    """Store ``submission`` with its raw message in one committed transaction; raises if storage fails.

    ``committer``: the web app's group committer, so that submissions arriving together share the
    transaction (as SMTP sessions do).
    """
    for attempt in (1, 2):
        existing = _submitted(robot, nonce)
        row = existing or _new_row(robot, submission, nonce=nonce, source=source, client_ip=client_ip,
                                   user_agent=user_agent, consent=consent)
        token, form = row.token, row.form
        incoming = Incoming(build_raw(robot, row, submission), "web", row.customer_email, [robot.settings.mail_from],
                            client_ip, also=None if existing else _store_with(row, consent, robot.clock.now()))
        try:
            accepted = (committer.submit(incoming).result(timeout=60) if committer is not None
                        else accept_many(robot, [incoming])[0])
        except IntegrityError:
            # The same form sent twice at the same moment, or the consent wording stored by another
            # first submission meanwhile: look again, once.
            if attempt == 2:
                raise
            continue
        log.info("web submission %s (%s) stored as raw message %s%s", form, source, accepted.raw_id,
                 " (sent again)" if existing else "")
        return Receipt(token, accepted.raw_id, existing is not None or accepted.duplicate)
    raise AssertionError("unreachable")


def _submitted(robot: Robot, nonce: str) -> WebSubmission | None:
    with robot.sessions() as session:
        existing = session.scalar(select(WebSubmission).where(WebSubmission.nonce == nonce))
        if existing is not None:
            session.expunge(existing)
        return existing


def _new_row(robot: Robot, submission: Submission, *, nonce: str, source: str, client_ip: str | None,
             user_agent: str | None, consent: Consent) -> WebSubmission:
    now = robot.clock.now()
    fields = {"name": submission.name, "phone": submission.phone, "address": submission.address,
              "territory": submission.territory, "account": submission.account}
    return WebSubmission(
        token=secrets.token_urlsafe(24), nonce=nonce, message_id=submission_message_id(robot, nonce),
        source=source, form=submission.form, created_at=now, customer_email=submission.email,
        fields=fields, consent_version=consent.version, consent_sha256=consent.sha256,
        consent_at=now, consent_ip=client_ip, user_agent=(user_agent or "")[:512] or None,
    )


def _store_with(row: WebSubmission, consent: Consent, now: datetime) -> Callable[[Session, RawMessage], None]:
    def add_rows(session: Session, raw: RawMessage) -> None:
        if session.get(ConsentText, consent.sha256) is None:
            session.add(ConsentText(sha256=consent.sha256, version=consent.version, text=consent.text,
                                    first_used_at=now))
            session.flush()  # a second submission of this batch finds it
        # A fresh object each call: a batch that failed for another input's sake is stored again
        # input by input, and the row must not carry anything from the rolled-back attempt.
        session.add(WebSubmission(**values))
    values = {column.key: getattr(row, column.key) for column in WebSubmission.__table__.columns
              if column.key != "id"}
    return add_rows


def build_raw(robot: Robot, row: WebSubmission, submission: Submission) -> bytes:
    """The submission as mail; equal bytes for equal inputs (so a resend is a duplicate)."""
    fields = row.fields
    msg = EmailMessage()
    msg["From"] = Address(display_name=fields.get("name") or "", addr_spec=row.customer_email)
    msg["To"] = robot.settings.mail_from
    msg["Subject"] = robot.templates.get_template(SUBJECT_TEMPLATE).render(form=row.form).strip()
    msg["Date"] = format_datetime(row.created_at.astimezone(robot.settings.tz).replace(microsecond=0))
    msg["Message-ID"] = row.message_id
    msg["X-Reception-Form"] = row.form
    for name in ("phone", "address", "territory", "account"):
        if fields.get(name):
            msg[f"X-Reception-{name.capitalize()}"] = " ".join(str(fields[name]).split())
    msg.set_content(submission.text, cte="base64" if _long_lines(submission.text) else None)
    for upload in submission.attachments:
        filename = safe_filename(upload.filename)
        ctype = upload.content_type.strip().lower()
        if not _CONTENT_TYPE.fullmatch(ctype):
            ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        maintype, _, subtype = ctype.partition("/")
        msg.add_attachment(upload.content, maintype=maintype, subtype=subtype, filename=filename)
    if msg.is_multipart():
        # The default boundary is random; a resend must produce the very same bytes.
        msg.set_boundary(f"=_reception_{hashlib.sha256(row.message_id.encode()).hexdigest()[:24]}")
    return msg.as_bytes(policy=policy.SMTP)


def _long_lines(text: str) -> bool:
    return any(len(line.encode()) > 900 for line in text.splitlines())
