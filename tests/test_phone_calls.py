"""Real calls (issue 9): the robot's baresip lines call "customer" baresip instances inside a
private network namespace; the stored outcome, the next call's moment (through the clock seam)
and what the customer heard are checked from outside.

One run places six calls at once, one per behaviour, so the module stays well under a minute.
Skipped, with the reason, only where baresip cannot run or the kernel refuses namespaces.
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from robot.informer import campaigns as life
from robot.informer.planner import tick
from robot.informer.progress import progress, report_rows
from robot.informer.scenario import load_scenario
from robot.informer.texts import env
from robot.informer.window import SendingWindow
from robot.storage.models import CampaignAttempt, CampaignRecipient, Customer
from tests.campaign_support import add_manager
from tests.phone_support import (
    add_phone_customers,
    namespace_refusal,
    run_calls,
    similarity,
)

REFUSAL = namespace_refusal()
pytestmark = pytest.mark.skipif(REFUSAL is not None, reason=f"no real calls here: {REFUSAL}")

SCENARIO = """\
name: Задолженность, обзвон
kind: debt
channel: phone
window: {start: 2026-01-12 08:00, end: 2026-03-01 17:00}
body: "Задолженность {{ amount | say_rub }}."
"""
BEHAVIOURS = {"+79130000001": "answer", "+79130000002": "reject", "+79130000003": "never",
              "+79130000004": "early", "+79130000005": "operator", "+79130000006": "absent"}
EXPECTED = {"answer": "answered", "reject": "busy", "never": "no_answer", "early": "hung_up",
            "operator": "operator", "absent": "unreachable"}


def phone_campaign(robot, tmp_path: Path, numbers: dict[str, str]) -> int:
    now = robot.clock.now()
    add_phone_customers(robot, list(numbers), accounts="55")
    path = tmp_path / "calls.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    debts = tmp_path / "debts.csv"
    debts.write_text("Лицевой счёт;amount\n" + "".join(f"55{i:08d};{20 + i}\n" for i in range(1, len(numbers) + 1)),
                     encoding="utf-8")
    add_manager(robot)
    window = SendingWindow(robot.calendar)
    with robot.unit_of_work() as session:
        campaign = life.create(session, load_scenario(path, robot.settings.tz), actor="specialist", now=now)
        life.import_recipients(session, campaign, debts, actor="specialist", now=now)
        life.approve(session, campaign, manager="boss", now=now, window=window, rate_per_s=20)
        life.start(session, campaign, actor="specialist", now=now, window=window, rate_per_s=20)
        return campaign.id


def by_number(robot, campaign_id: int) -> dict[str, tuple[CampaignRecipient, list[CampaignAttempt]]]:
    with robot.sessions() as session:
        found = {}
        for recipient, phone in session.execute(
                select(CampaignRecipient, Customer.phone).join(Customer, Customer.id == CampaignRecipient.customer_id)
                .where(CampaignRecipient.campaign_id == campaign_id)):
            attempts = list(session.scalars(select(CampaignAttempt).where(
                CampaignAttempt.recipient_id == recipient.id).order_by(CampaignAttempt.seq)))
            found[phone] = (recipient, attempts)
        return found


def test_six_customers_six_outcomes_next_calls_and_what_was_heard(robot, clock, tmp_path):
    robot.settings.phone_lines = len(BEHAVIOURS)
    robot.settings.phone_ringing_timeout_s = 3.0
    robot.settings.phone_operator = "sip:operator@127.0.0.1:5190"
    campaign_id = phone_campaign(robot, tmp_path, BEHAVIOURS)
    assert tick(robot).planned == len(BEHAVIOURS)
    queued = by_number(robot, campaign_id)
    assert {n: [a.result for a in attempts] for n, (_, attempts) in queued.items()} == \
        {n: ["queued"] for n in BEHAVIOURS}

    result = run_calls(robot, BEHAVIOURS, tmp_path / "calls", timeout=45)

    assert not result["errors"]
    stored = by_number(robot, campaign_id)
    outcomes = {n: attempts[0].result for n, (_, attempts) in stored.items()}
    assert outcomes == {n: EXPECTED[b] for n, b in BEHAVIOURS.items()}, result["outcomes"]
    now = clock.now()
    for number, behaviour in BEHAVIOURS.items():
        recipient, (attempt,) = stored[number]
        assert attempt.channel == "phone" and attempt.address == number  # the contract's own number (R24)
        assert attempt.started_at == now and attempt.line and attempt.result_at == now
        assert recipient.state == "pending"
        # R23: negative → 1 h 30 min (11:30, inside the window); positive → 7 days (a debt still unpaid).
        later = timedelta(days=7) if EXPECTED[behaviour] in ("answered", "operator") else timedelta(hours=1, minutes=30)
        assert recipient.next_due_at == now + later, (behaviour, recipient.next_due_at)
    # The customer who pressed the key was put through: the operator's instance took the call.
    assert any(e.startswith("CALL_ESTABLISHED sip:customer") for e in result["operator"]), result["operator"]
    # The customer who listened heard the message: its recording is the sent WAV, over G.711.
    answered_id = stored["+79130000001"][1][0].id
    sent = Path(result["messages"]) / f"attempt-{answered_id}.wav"
    (heard,) = result["recordings"]["+79130000001"]
    sent_s, heard_s, peak = similarity(sent, Path(heard))
    assert 1.5 < sent_s < 6
    # All of it, and no more than the line's last moments before the robot's BYE.
    assert sent_s - 0.1 < heard_s < sent_s + 1.0, (sent_s, heard_s)
    assert peak > 0.9, peak
    if os.environ.get("PHONE_RECORDING"):  # the README's sample: what a customer heard on a test call
        shutil.copyfile(heard, Path(os.environ["PHONE_RECORDING"]) / "phone-test-call.wav")
    # A control: another recipient's message (another amount, same voice) does not match as well.
    other = Path(result["messages"]) / f"attempt-{stored['+79130000002'][1][0].id}.wav"
    assert similarity(other, Path(heard))[2] < peak - 0.2

    # Monitoring: the campaign's figures and report carry each call's outcome.
    with robot.sessions() as session:
        assert progress(session, campaign_id).calls == {r: 1 for r in EXPECTED.values()}
        rows = {row["account_number"]: row["results"] for row in report_rows(
            session, campaign_id, names=env(robot).get_template("informer/_names.j2").module, tz=robot.settings.tz)}
    assert rows["5500000001"].endswith("прослушал до конца") and rows["5500000002"].endswith("занято или отклонён")

    # 1 h 30 min later the negative ones are called again, the positive ones are not (clock seam).
    clock.advance(timedelta(hours=1, minutes=30))
    assert tick(robot).planned == 4
    again = by_number(robot, campaign_id)
    requeued = {n for n, (_, attempts) in again.items() if len(attempts) == 2 and attempts[1].result == "queued"}
    assert requeued == {n for n, b in BEHAVIOURS.items() if EXPECTED[b] not in ("answered", "operator")}
