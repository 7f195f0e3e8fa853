"""The ugly-mail corpus (tests/data/mail): best-effort decoding, never a crash, raw kept (R1)."""

from __future__ import annotations

import json
import smtplib
from pathlib import Path

import pytest
from sqlalchemy import select

from robot.mail.parse import parse
from robot.storage.models import RawMessage
from tests.conftest import ROBOT_ADDRESS, run_jobs

CORPUS = Path(__file__).parent / "data" / "mail"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))


#: Cases we knowingly do not handle yet: an inner multipart that reuses its parent's boundary
#: hides the attachment behind it (the stdlib ends the outer part at the inner boundary).
KNOWN_LIMITS = {"nested_same_boundary.eml", "public/cpython_msg_15.txt"}


def _cases():
    for entry in MANIFEST:
        marks = [pytest.mark.xfail(strict=True, reason="reused boundary")] if entry["file"] in KNOWN_LIMITS else []
        yield pytest.param(entry, id=entry["file"], marks=marks)


@pytest.mark.parametrize("entry", list(_cases()))
def test_corpus_message_is_read_as_a_careful_reader_would(entry):
    expect = entry["expect"]
    mail = parse((CORPUS / entry["file"]).read_bytes())
    assert mail.from_addr == expect["from_addr"]
    if expect["subject_contains"]:
        assert expect["subject_contains"] in mail.subject
    if expect["body_contains"]:
        assert expect["body_contains"] in mail.text
    assert len(mail.attachments) == expect["attachments"]
    assert bool(mail.defects) == expect["defective"], mail.defects


def test_whole_corpus_through_the_gateway_loses_nothing(robot, gateway, sink):
    """Every message is stored byte for byte and ends processed or automatic, none quarantined."""
    raws = [(CORPUS / e["file"]).read_bytes() for e in MANIFEST]
    with smtplib.SMTP(gateway.hostname, gateway.port) as client:
        for raw in raws:
            client.sendmail("customer@example.ru", [ROBOT_ADDRESS], raw)
    run_jobs(robot)
    with robot.sessions() as session:
        rows = session.execute(select(RawMessage.raw, RawMessage.status, RawMessage.error)).all()
    # Byte for byte, bare LFs included; smtplib only adds the CRLF that ends the last line.
    assert sorted(row.raw for row in rows) == sorted(raw if raw.endswith(b"\r\n") else raw + b"\r\n" for raw in raws)
    assert [r.error for r in rows if r.status == "quarantined"] == []
    assert {r.status for r in rows} <= {"processed", "automatic"}
