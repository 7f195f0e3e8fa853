"""The phone channel's redial policy (issue 9, R23/R24/R16): negative → 1 h 30 min, positive → no
sooner than 7 days, at most N calls, only inside the sending window, only the contract's number.
Time comes from the clock seam (a FrozenClock), never from the wall."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from robot.clock import FrozenClock
from robot.deadlines.calendar import WorkCalendar
from robot.informer.phone_policy import (
    Call,
    contract_number,
    next_call_at,
    normalise_phone,
)
from robot.informer.window import SendingWindow

OMSK = ZoneInfo("Asia/Omsk")
WINDOW = SendingWindow(WorkCalendar(tz=OMSK))


def omsk(day: int, hour: int, minute: int = 0, month: int = 1, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=OMSK)


def plan(calls: list[Call], clock: FrozenClock, *, max_attempts: int = 5, still_needed: bool = True):
    return next_call_at(calls, now=clock.now(), window=WINDOW, max_attempts=max_attempts,
                        still_needed=still_needed)


def test_the_first_call_is_now_inside_the_window_else_at_its_next_opening():
    assert plan([], FrozenClock(omsk(12, 10))) == omsk(12, 10)       # Monday 10:00
    assert plan([], FrozenClock(omsk(12, 7, 59))) == omsk(12, 8)     # before the hours
    assert plan([], FrozenClock(omsk(11, 10))) == omsk(12, 8)        # Sunday → Monday 08:00
    assert plan([], FrozenClock(omsk(1, 10))) == omsk(10, 8)         # New Year holidays → Sat 10 Jan


@pytest.mark.parametrize("result", ["no_answer", "busy", "hung_up", "unreachable"])
def test_a_negative_call_is_retried_in_1_h_30_min(result):
    clock = FrozenClock(omsk(12, 10, 5))
    assert plan([Call(omsk(12, 10), result)], clock) == omsk(12, 11, 30)
    clock.advance(timedelta(hours=3))  # the planner ran late: now, not in the past
    assert plan([Call(omsk(12, 10), result)], clock) == omsk(12, 13, 5)


def test_a_negative_retry_that_falls_after_hours_waits_for_the_next_sending_day():
    assert plan([Call(omsk(12, 16, 30), "busy")], FrozenClock(omsk(12, 16, 31))) == omsk(13, 8)
    # Saturday 16:00 → Sunday is no sending day → Monday 08:00.
    assert plan([Call(omsk(17, 16), "no_answer")], FrozenClock(omsk(17, 16, 1))) == omsk(19, 8)


@pytest.mark.parametrize("result", ["answered", "operator"])
def test_after_a_positive_call_the_next_is_no_sooner_than_7_days(result):
    calls = [Call(omsk(12, 10), "no_answer"), Call(omsk(12, 11, 30), result)]
    clock = FrozenClock(omsk(13, 9))
    assert plan(calls, clock) == omsk(19, 11, 30)
    clock.moment = omsk(19, 11, 29)
    assert plan(calls, clock) == omsk(19, 11, 30)


def test_seven_days_after_a_positive_call_landing_on_a_holiday_move_to_the_next_sending_day():
    # Monday 16 February + 7 days = Monday 23 February, Defender of the Fatherland Day.
    answered = Call(omsk(16, 10, month=2), "answered")
    assert plan([answered], FrozenClock(omsk(16, 10, 1, month=2))) == omsk(24, 8, month=2)
    # Saturday 10 January + 7 days = an ordinary Saturday: a sending day (R16 names Sundays only).
    assert plan([Call(omsk(10, 12), "answered")], FrozenClock(omsk(10, 12, 1))) == omsk(17, 12)


def test_no_more_than_n_calls():
    calls = [Call(omsk(12, 8) + i * timedelta(minutes=90), "no_answer") for i in range(3)]
    clock = FrozenClock(omsk(13, 10))
    assert plan(calls, clock, max_attempts=4) == omsk(13, 10)
    assert plan(calls, clock, max_attempts=3) is None


def test_no_call_once_the_campaign_no_longer_needs_it():
    assert plan([Call(omsk(12, 10), "answered")], FrozenClock(omsk(20, 10)), still_needed=False) is None
    assert plan([], FrozenClock(omsk(12, 10)), still_needed=False) is None


def test_no_next_call_while_one_is_in_progress():
    calls = [Call(omsk(12, 10), "no_answer"), Call(omsk(12, 11, 30), "calling")]
    assert plan(calls, FrozenClock(omsk(12, 14))) is None


def test_an_unknown_result_is_an_error_not_a_guess():
    with pytest.raises(ValueError, match="unknown call result 'sent'"):
        plan([Call(omsk(12, 10), "sent")], FrozenClock(omsk(12, 14)))


@pytest.mark.parametrize(("text", "number"), [
    ("8 (3812) 40-05-00", "+73812400500"),
    ("+7 3812 400500", "+73812400500"),
    ("73812400500", "+73812400500"),
    ("(913) 123-45-67", "+79131234567"),
])
def test_phone_numbers_are_normalised(text, number):
    assert normalise_phone(text) == number


@pytest.mark.parametrize("text", ["40-05-00", "+44 20 7946 0958", "телефон"])
def test_a_number_without_area_code_or_foreign_is_refused(text):
    with pytest.raises(ValueError):
        normalise_phone(text)


def test_only_the_contracts_number_is_called():
    assert contract_number("8 (3812) 40-05-00") == "+73812400500"
    assert contract_number(None) is None
    assert contract_number("") is None
    assert contract_number("40-05-00") is None  # unusable: never guessed
