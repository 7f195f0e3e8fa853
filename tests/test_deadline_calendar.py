"""The working-day calendar (R16), the answer limits (R13, R14) and `mailrobot deadline`.

No database, no Redis: the calendar is pure, and every moment is given, never read from a clock.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from robot.cli.main import app
from robot.deadlines.calendar import Overrides, WorkCalendar
from robot.deadlines.calendar_file import CalendarError, load_calendar_file
from robot.deadlines.calendars import Calendars, UnknownCalendar
from robot.deadlines.limits import Limits, UnknownKind, due_at
from tests.conftest import OMSK

CALENDAR = WorkCalendar(OMSK)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=OMSK)


def run_cli(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, ["deadline", *args], env=env)


# --- the issue's cases, through the command -------------------------------------------------

@pytest.mark.parametrize(
    ("received", "kind", "extra", "due"),
    [
        # R13 + R16: New Year holidays 31.12.2025–11.01.2026 do not count.
        ("2025-12-30T10:00", "complaint", [], "2026-01-29T17:00:00+06:00"),
        ("2025-12-30T10:00", "question", [], "2026-01-14T17:00:00+06:00"),
        # May holidays 2026: 1–3 May off, 9–11 May off; 8 May (before Victory Day) ends at 16:00.
        ("2026-04-30T10:00", "question", [], "2026-05-06T17:00:00+06:00"),
        ("2026-05-05T10:00", "application", [], "2026-05-08T16:00:00+06:00"),
        ("2026-04-30T10:00", "complaint", [], "2026-05-22T17:00:00+06:00"),
        # May 2025: 7 May is a full day — 8 May was a transferred day off, not a holiday.
        ("2025-04-30T10:00", "question", [], "2025-05-07T17:00:00+06:00"),
        # The working Saturday 2025-11-01 counts; 3 and 4 November do not.
        ("2025-10-30T10:00", "question", [], "2025-11-05T17:00:00+06:00"),
        # …and, standing in for the day before Unity Day, it is a shortened day.
        ("2025-10-29T10:00", "question", [], "2025-11-01T16:00:00+06:00"),
        # Receipt on a Friday evening: counting starts on Monday.
        ("2026-01-16T19:30", "question", [], "2026-01-21T17:00:00+06:00"),
        # 16:59 and 17:01 on a Monday: the same registration day, the same due date.
        ("2026-01-12T16:59", "question", [], "2026-01-15T17:00:00+06:00"),
        ("2026-01-12T17:01", "question", [], "2026-01-15T17:00:00+06:00"),
        # Received on a Sunday.
        ("2026-01-18T12:00", "question", [], "2026-01-21T17:00:00+06:00"),
        # An offset given is honoured: 20:30 UTC on Monday is Tuesday 02:30 in Omsk.
        ("2026-01-12T20:30+00:00", "question", [], "2026-01-16T17:00:00+06:00"),
        # R14: a postal letter is answered within 10 working days, whatever its kind.
        ("2025-12-30T10:00", "complaint", ["--channel", "post"], "2026-01-23T17:00:00+06:00"),
        ("2026-01-12T10:00", "question", ["--channel", "post"], "2026-01-26T17:00:00+06:00"),
        # R13: feedback gets measures within 14 working days, by post too.
        ("2026-01-12T10:00", "feedback", ["--channel", "post"], "2026-01-30T17:00:00+06:00"),
    ],
)
def test_deadline_command_on_the_issues_cases(received, kind, extra, due, tmp_path):
    """R13, R14, R16: `mailrobot deadline` prints the due moment in ISO 8601 with its offset."""
    result = run_cli("--received", received, "--kind", kind, *extra, env={"MAILROBOT_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert result.output.strip() == due


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--received", "2025-02-30T10:00", "--kind", "question"], "'2025-02-30T10:00'"),
        (["--received", "2026-13-01T10:00", "--kind", "question"], "'2026-13-01T10:00'"),
        (["--received", "tomorrow", "--kind", "question"], "'tomorrow'"),
        (["--received", "2026-01-12T25:00", "--kind", "question"], "'2026-01-12T25:00'"),
        (["--received", "2026-01-12T10:00", "--kind", "wish"], "'wish'"),
        (["--received", "2026-01-12T10:00", "--kind", "question", "--channel", "pigeon"], "'pigeon'"),
    ],
)
def test_deadline_command_names_the_bad_value(args, named, tmp_path):
    result = run_cli(*args, env={"MAILROBOT_DATA_DIR": str(tmp_path), "COLUMNS": "200"})
    assert result.exit_code == 2
    assert named in result.output


def test_deadline_command_names_the_malformed_date_in_the_calendar_file(tmp_path):
    calendar = tmp_path / "calendar.yaml"
    calendar.write_text("# company days\ndays_off:\n  - 2026-02-30\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["deadline", "--received", "2026-01-12T10:00", "--kind", "question"],
                                env={"MAILROBOT_DATA_DIR": str(tmp_path), "MAILROBOT_CALENDAR_FILE": str(calendar)})
    assert result.exit_code == 2
    assert f"{calendar}:3: days_off: '2026-02-30' is not a date" in result.output


def test_deadline_command_counts_by_a_company_day_off(tmp_path):
    calendar = tmp_path / "calendar.yaml"
    calendar.write_text("days_off: [2026-01-14]\n", encoding="utf-8")
    result = run_cli("--received", "2026-01-12T10:00", "--kind", "question",
                     env={"MAILROBOT_DATA_DIR": str(tmp_path), "MAILROBOT_CALENDAR_FILE": str(calendar)})
    assert result.output.strip() == "2026-01-16T17:00:00+06:00"


# --- the production calendar --------------------------------------------------------------

def _shortened(year: int) -> list[str]:
    day, found = date(year, 1, 1), []
    while day.year == year:
        if CALENDAR.is_shortened(day):
            found.append(day.strftime("%m-%d"))
        day += timedelta(days=1)
    return found


@pytest.mark.parametrize(
    ("year", "official"),
    [
        (2023, ["02-22", "03-07", "11-03"]),
        (2024, ["02-22", "03-07", "04-27", "05-08", "06-11", "11-02", "12-28"]),
        # 30 December 2025 is a full day: 31 December is a transferred day off, not a holiday.
        (2025, ["03-07", "04-30", "06-11", "11-01"]),
        (2026, ["04-30", "05-08", "06-11", "11-03"]),
    ],
)
def test_pre_holiday_days_are_the_governments(year, official):
    """R16: the pre-holiday day ends an hour early (Labour Code art. 95), as the official calendars say."""
    assert _shortened(year) == official


def test_a_shortened_day_ends_at_16():
    assert CALENDAR.end_of_day(date(2026, 5, 8)) == at(2026, 5, 8, 16, 0)
    assert CALENDAR.end_of_day(date(2025, 12, 30)) == at(2025, 12, 30, 17, 0)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(2026, 1, 12, 10, 0), at(2026, 1, 12, 10, 0)),  # a working Monday morning
        (at(2026, 1, 12, 7, 30), at(2026, 1, 12, 8, 0)),  # before hours: wait for 08:00
        (at(2026, 1, 12, 17, 0), at(2026, 1, 12, 17, 0)),  # the end of the day is still the day
        (at(2026, 1, 12, 17, 1), at(2026, 1, 13, 8, 0)),  # evening: next morning
        (at(2026, 1, 16, 22, 0), at(2026, 1, 19, 8, 0)),  # Friday night: Monday
        (at(2026, 1, 18, 12, 0), at(2026, 1, 19, 8, 0)),  # Sunday: Monday
        (at(2026, 1, 1, 3, 0), at(2026, 1, 12, 8, 0)),  # New Year holidays: the first working day
        (at(2026, 5, 8, 16, 30), at(2026, 5, 12, 8, 0)),  # after a shortened day's 16:00; 9–11 May off
        (at(2025, 11, 1, 10, 0), at(2025, 11, 1, 10, 0)),  # the working Saturday works
        (at(2025, 11, 1, 16, 30), at(2025, 11, 5, 8, 0)),  # …until 16:00
    ],
)
def test_staff_notifications_wait_for_working_hours(moment, expected):
    """R16: no reminders at night, on Sundays or holidays — they wait for 08:00 of a working day."""
    assert CALENDAR.working_moment(moment) == expected


@pytest.mark.parametrize(
    ("moment", "first_day"),
    [
        (at(2026, 1, 12, 16, 59), date(2026, 1, 12)),
        (at(2026, 1, 12, 17, 1), date(2026, 1, 13)),
        (at(2026, 1, 16, 17, 1), date(2026, 1, 19)),  # Friday evening → Monday
        (at(2026, 1, 18, 12, 0), date(2026, 1, 19)),  # Sunday → Monday
        (at(2025, 12, 30, 12, 0), date(2025, 12, 30)),
        (at(2025, 12, 30, 18, 0), date(2026, 1, 12)),
    ],
)
def test_the_first_working_day_of_a_question(moment, first_day):
    """R15: the working day an appeal belongs to — a receipt after 17:00 is the next working day's."""
    assert CALENDAR.first_working_day(moment) == first_day


# --- the company's changes -----------------------------------------------------------------

def test_company_days_off_and_working_days_move_deadlines():
    company = WorkCalendar(OMSK, overrides=Overrides(days_off=frozenset({date(2026, 1, 14)}),
                                                     working_days=frozenset({date(2026, 1, 17)})))
    # Tue 13, (Wed 14 off), Thu 15, Fri 16 → 16th; and Saturday 17 now counts for a Friday receipt.
    assert due_at(company, at(2026, 1, 12, 10, 0), "question") == at(2026, 1, 16, 17, 0)
    assert due_at(company, at(2026, 1, 16, 10, 0), "question") == at(2026, 1, 20, 17, 0)


def test_working_hours_are_settings():
    late = WorkCalendar(OMSK, day_starts=time(9, 0), day_ends=time(18, 0))
    assert due_at(late, at(2026, 1, 12, 10, 0), "question") == at(2026, 1, 15, 18, 0)
    assert late.working_moment(at(2026, 1, 12, 8, 30)) == at(2026, 1, 12, 9, 0)
    with pytest.raises(ValueError, match="starts"):
        Calendars(None, OMSK, day_starts=time(18, 0), day_ends=time(9, 0))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_calendar_file_with_named_calendars_and_limits(tmp_path):
    loaded = load_calendar_file(write(tmp_path / "calendar.yaml", """
days_off: [2026-06-15]
working_days:
  - 2026-01-09
limits:
  complaint: 10
calendars:
  north:
    days_off: [2026-01-13]
    working_days: [2026-06-15]
"""))
    assert loaded.company.days_off == {date(2026, 6, 15)}
    assert loaded.sets["north"].days_off == {date(2026, 1, 13)}
    assert loaded.limits == {"complaint": 10}
    calendars = Calendars(tmp_path / "calendar.yaml", OMSK)
    north, company = calendars.get("north"), calendars.get(None)
    assert company.is_working_day(date(2026, 1, 9)) and north.is_working_day(date(2026, 1, 9))  # inherited
    assert company.is_working_day(date(2026, 1, 13)) and not north.is_working_day(date(2026, 1, 13))
    assert not company.is_working_day(date(2026, 6, 15)) and north.is_working_day(date(2026, 6, 15))
    assert calendars.limits.answer("complaint") == 10
    with pytest.raises(UnknownCalendar, match="'south'"):
        calendars.get("south")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("days_off:\n  - 2026-01-14\n  - 2026-02-30\n", ":3: days_off: '2026-02-30' is not a date"),
        ("working_days: [2026-1-9]\n", ":1: working_days: '2026-1-9' is not a date"),
        ("days_off: 2026-01-14\n", ":1: days_off must be a list of dates"),
        ("holidays: []\n", ":1: the file: unknown key 'holidays'"),
        ("calendars:\n  north:\n    days_of: [2026-01-14]\n", ":3: calendar 'north': unknown key 'days_of'"),
        ("calendars:\n  north:\n    days_off: [2026-01-32]\n", ":3: days_off: '2026-01-32' is not a date"),
        ("days_off: [2026-01-14]\nworking_days: [2026-01-14]\n", ":2: 2026-01-14 is in both days_off and working_days"),
        ("limits:\n  complaint: many\n", ":2: limit 'complaint': 'many' is not a whole number"),
        ("limits:\n  wish: 3\n", ":2: unknown limit 'wish'"),
        ("days_off: [\n", ":2: not valid YAML"),
    ],
)
def test_malformed_calendar_file_is_refused_with_file_line_and_value(tmp_path, text, message):
    path = write(tmp_path / "calendar.yaml", text)
    with pytest.raises(CalendarError) as caught:
        load_calendar_file(path)
    assert f"{path}{message}" in str(caught.value)


def test_calendar_file_is_reloaded_when_it_changes_and_a_broken_edit_is_refused(tmp_path):
    path = write(tmp_path / "calendar.yaml", "days_off: []\n")
    calendars = Calendars(path, OMSK)
    assert calendars.get().is_working_day(date(2026, 1, 14))
    version = calendars.version
    write(path, "days_off: [2026-01-14]\n")
    os.utime(path, ns=(1, 1))
    calendars.reload()
    assert not calendars.get().is_working_day(date(2026, 1, 14))
    assert calendars.version != version
    write(path, "days_off: [2026-01-40]\n")
    os.utime(path, ns=(2, 2))
    calendars.reload()
    assert not calendars.get().is_working_day(date(2026, 1, 14))  # the calendar in force stays
    assert "2026-01-40" in str(calendars.last_error)


def test_limits_by_kind_and_channel():
    """R13: 3/3/14 and feedback 14; R14: post 10, and an extension adds at most 10 more."""
    limits = Limits()
    assert [limits.answer(k) for k in ("question", "application", "complaint", "feedback")] == [3, 3, 14, 14]
    assert limits.answer("complaint", "post") == 10 and limits.extension("complaint", "post") == 10
    assert limits.answer("feedback", "post") == 14
    assert Limits({"post": 8}).answer("question", "post") == 8
    with pytest.raises(UnknownKind, match="'wish'"):
        limits.answer("wish")


def test_deadlines_check_names_a_queue_calendar_the_file_lacks(tmp_path):
    rules = (Path(__file__).resolve().parent.parent / "routing_rules.yaml").read_text(encoding="utf-8")
    marker = "    supervisor: omsk-1-head\n"
    routed = write(tmp_path / "routing_rules.yaml", rules.replace(marker, marker + "    calendar: nowhere\n"))
    calendar = write(tmp_path / "calendar.yaml", "calendars:\n  north:\n    days_off: [2026-01-13]\n")
    env = {"MAILROBOT_DATA_DIR": str(tmp_path), "MAILROBOT_ROUTING_RULES": str(routed),
           "MAILROBOT_CALENDAR_FILE": str(calendar)}
    result = CliRunner().invoke(app, ["deadlines", "check"], env=env)
    assert result.exit_code == 1
    assert "queue 'omsk-1' names calendar 'nowhere'" in result.output and "known: north" in result.output
    write(routed, rules.replace(marker, marker + "    calendar: north\n"))
    result = CliRunner().invoke(app, ["deadlines", "check"], env=env)
    assert result.exit_code == 0, result.output
    assert "1 named calendar(s), used by 1 queue(s)" in result.output
