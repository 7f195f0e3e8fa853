"""Due dates in working days of the Russian production calendar (R13, R16)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from typer.testing import CliRunner

from robot.cli.main import app
from robot.deadlines.calendar import WorkCalendar
from robot.deadlines.limits import due_at
from tests.conftest import OMSK

CALENDAR = WorkCalendar(OMSK)


@pytest.mark.parametrize(
    ("received", "kind", "due"),
    [
        # Monday: Tue, Wed, Thu are the three working days.
        (datetime(2026, 1, 12, 10, 0), "question", datetime(2026, 1, 15, 17, 0)),
        (datetime(2026, 1, 12, 23, 59), "application", datetime(2026, 1, 15, 17, 0)),
        (datetime(2026, 1, 12, 10, 0), "complaint", datetime(2026, 1, 30, 17, 0)),
        # Friday: the weekend does not count.
        (datetime(2026, 1, 16, 16, 0), "question", datetime(2026, 1, 21, 17, 0)),
        # 30 December 2025: 31 December and the New Year holidays up to 11 January are days off.
        (datetime(2025, 12, 30, 10, 0), "question", datetime(2026, 1, 14, 17, 0)),
        (datetime(2025, 12, 30, 10, 0), "complaint", datetime(2026, 1, 29, 17, 0)),
        # Saturday 1 November 2025 was a working day (moved from 3 November); 3 and 4 November were off.
        (datetime(2025, 10, 30, 10, 0), "question", datetime(2025, 11, 5, 17, 0)),
        # Received on a Sunday: counting starts on Monday.
        (datetime(2026, 1, 18, 12, 0), "question", datetime(2026, 1, 21, 17, 0)),
    ],
)
def test_due_dates(received, kind, due):
    """R13: 3 working days for a question or application, 14 for a complaint, due at 17:00."""
    assert due_at(CALENDAR, received.replace(tzinfo=OMSK), kind) == due.replace(tzinfo=OMSK)


def test_registration_time_is_read_in_company_time():
    """18:30 UTC on Monday is already Tuesday 00:30 in Omsk: counting starts on Wednesday."""
    from datetime import timezone

    received = datetime(2026, 1, 12, 18, 30, tzinfo=timezone.utc)
    assert due_at(CALENDAR, received, "question") == datetime(2026, 1, 16, 17, 0, tzinfo=OMSK)


def test_working_days_follow_the_production_calendar():
    """R16: holidays and transferred days off are not working days; a working Saturday is."""
    assert not CALENDAR.is_working_day(date(2026, 1, 9))  # day off moved from 3 January
    assert CALENDAR.is_working_day(date(2025, 11, 1))  # working Saturday
    assert not CALENDAR.is_working_day(date(2025, 11, 4))  # Unity Day
    assert not CALENDAR.is_working_day(date(2026, 3, 9))  # 8 March falls on Sunday → Monday off
    assert CALENDAR.is_working_day(date(2026, 1, 12))


def test_deadline_command_prints_iso_with_offset(monkeypatch, tmp_path):
    monkeypatch.setenv("MAILROBOT_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["deadline", "--received", "2025-12-30T10:00", "--kind", "complaint"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2026-01-29T17:00:00+06:00"


def test_deadline_command_refuses_unknown_kind(monkeypatch, tmp_path):
    monkeypatch.setenv("MAILROBOT_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["deadline", "--received", "2025-12-30T10:00", "--kind", "wish"])
    assert result.exit_code != 0
    assert "kind must be one of" in result.output
