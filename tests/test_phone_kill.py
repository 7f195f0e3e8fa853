"""A dialler killed mid-call loses no outcome (issue 9, R23): inside a private network namespace the
real dialler, in its own process, places a real call through baresip and is killed with SIGKILL
while the customer's phone rings. The attempt stays ``calling``; a restarted dialler neither takes
it again nor stores the killed call's late end (the customer rejects it after the restart); once
the bound has passed (the clock seam) the tick settles it as ``interrupted``, and exactly one new
call is queued 1 h 30 min after the lost one. Skipped, with the reason, only where baresip cannot
run or the kernel refuses namespaces."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from robot.informer.phone_plan import stale_after
from robot.informer.planner import tick
from robot.storage.models import CampaignAttempt, Event
from tests.phone_support import namespace_refusal, run_calls
from tests.test_phone_calls import by_number, phone_campaign

REFUSAL = namespace_refusal()
pytestmark = pytest.mark.skipif(REFUSAL is not None, reason=f"no real calls here: {REFUSAL}")

NUMBER = "+79130000001"


def test_a_dialler_killed_mid_call_loses_no_outcome_and_stores_none_twice(robot, clock, tmp_path):
    robot.settings.phone_lines = 1
    robot.settings.phone_ringing_timeout_s = 20.0  # the call must still ring when the dialler dies
    campaign_id = phone_campaign(robot, tmp_path, {NUMBER: "never"})
    assert tick(robot).planned == 1
    start = clock.now()

    result = run_calls(robot, {NUMBER: "never"}, tmp_path / "kill", timeout=40, kill=True)

    logs = result["logs"]
    assert result["killed_returncode"] == -signal.SIGKILL, logs
    # Killed while the customer's phone rang: the call was claimed and placed, its outcome never came.
    assert any(e.startswith("CALL_INCOMING") for e in result["customer"]), result["customer"]
    (killed,) = result["after_kill"]
    assert (killed["result"], killed["line"], killed["result_at"]) == ("calling", "line0", None), killed
    # The restarted dialler took the line, saw the killed call end (the customer rejected it) and
    # stored nothing: the call is not its own, and it is not stale yet.
    assert result["restarted_returncode"] == 0 and "connected to baresip" in logs["dialler2"], logs
    assert any(e.startswith("CALL_CLOSED") for e in result["customer"]), result["customer"]
    line_log = (robot.settings.data_dir.resolve() / "phone" / "line0" / "baresip.log").read_text(errors="replace")
    assert "session closed: 486 Rejected" in line_log, line_log[-2000:]  # the late end the line reported
    assert result["restarted"]["outcomes"] == {} and result["restarted"]["errors"] == [], result["restarted"]
    assert result["after_restart"] == result["after_kill"]
    assert result["elapsed_s"] < 25, result["elapsed_s"]

    bound = stale_after(robot.settings.phone_ringing_timeout_s)
    # Up to the bound the call may still be going on: the tick leaves it alone and plans nothing.
    clock.advance(bound - timedelta(seconds=1))
    assert tick(robot).planned == 0
    (recipient, (attempt,)) = by_number(robot, campaign_id)[NUMBER]
    assert attempt.result == "calling" and recipient.next_due_at is None

    # Past the bound its outcome is lost: interrupted (negative), the next call 1 h 30 min after it.
    clock.advance(timedelta(seconds=2))
    settled_at = clock.now()
    assert tick(robot).planned == 0
    (recipient, (attempt,)) = by_number(robot, campaign_id)[NUMBER]
    assert (attempt.result, attempt.result_at) == ("interrupted", settled_at)
    assert recipient.state == "pending" and recipient.next_due_at == start + timedelta(hours=1, minutes=30)
    assert tick(robot).planned == 0  # settled once
    with robot.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Event).where(
            Event.action == "campaign_calls_interrupted")) == 1

    # 1 h 30 min after the lost call exactly one new call is queued, and only once.
    clock.advance(start + timedelta(hours=1, minutes=30) - clock.now())
    assert tick(robot).planned == 1
    assert tick(robot).planned == 0
    (recipient, attempts) = by_number(robot, campaign_id)[NUMBER]
    assert [(a.seq, a.result) for a in attempts] == [(0, "interrupted"), (1, "queued")]
    assert attempts[0].result_at == settled_at  # the killed call's one outcome, unchanged
    with robot.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CampaignAttempt)) == 2
