#!/usr/bin/env python3
"""Phone benchmark (issue 9): render a ~40 s phone message; place parallel calls, none lost.

Speech: the real path a call's message takes: a phone scenario with the ``say_*`` filters rendered
to text (robot.informer.speech), espeak-ng (voice ru) and sox to an 8 kHz 16-bit mono WAV
(robot.informer.sound.synthesise) and the ≤ 60 s check (check_phone_message). Measured: wall time
per message (median and worst of ``--runs``), against the target of ≤ 1 s for a 40 s message.

Calls: a phone campaign (SQLite) with ``--calls`` recipients, ticked by the planner, dialled by
the real dialler over ``--calls`` baresip lines at once, each answered by a "customer" baresip
that records what it heard — inside a private network namespace (tests/phone_support.py; root).
Measured: wall time of the whole round, each call's length, outcomes stored (target: every call
has its outcome, none lost), the recordings' match with the sent WAVs, and the load average.

Usage (from the repository root):

    .venv/bin/python bench/phone.py            # 20 renders, 4 parallel calls
    .venv/bin/python bench/phone.py --runs 5 --calls 4
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from robot.informer.sound import check_phone_message, read_sound, synthesise
from robot.informer.speech import render_speech

SCENARIO = (
    "Здравствуйте, {{ name }}! Говорит автоинформатор электросетевой компании. "
    "По лицевому счёту {{ account | say_phone }} на {{ on | say_date('nominative') }} задолженность "
    "за электроэнергию составляет {{ debt | say_rub }}. Оплатите её, пожалуйста, до {{ due | say_date }} "
    "до {{ until | say_time }}. Если оплата не поступит, подача электроэнергии может быть приостановлена "
    "через {{ days | say_number('день', 'дня', 'дней') }} после предупреждения. "
    "Справки по телефону {{ phone | say_phone }} с {{ opens | say_time }} до {{ closes | say_time }}."
)
CONTEXT = {"name": "Анна Петровна", "account": "1100000001", "on": "2026-01-12", "debt": "1234.56",
           "due": "2026-01-15", "until": "18:30", "days": 10, "phone": "+7 (3812) 40-05-00",
           "opens": "8:00", "closes": "17:00"}


CALL_SCENARIO = """\
name: Бенчмарк обзвона
kind: debt
channel: phone
window: {start: 2026-01-12 08:00, end: 2026-03-01 17:00}
body: "Здравствуйте, {{ name }}! Говорит автоинформатор электросетевой компании. По вашему договору
  задолженность {{ amount | say_rub }}. Оплатите её, пожалуйста."
"""


def parallel_calls(count: int) -> dict:
    """``count`` calls at once on ``count`` lines; every outcome stored, every message heard."""
    from datetime import timedelta

    from sqlalchemy import select

    from robot.app import Robot
    from robot.clock import FrozenClock
    from robot.config import Settings
    from robot.informer import campaigns as life
    from robot.informer.planner import tick
    from robot.informer.scenario import load_scenario
    from robot.informer.window import SendingWindow
    from robot.storage.migrate import upgrade
    from robot.storage.models import CampaignAttempt, CampaignRecipient, Customer, User
    from tests.phone_support import namespace_refusal, run_calls, similarity

    refusal = namespace_refusal()
    if refusal:
        return {"skipped": refusal}
    with tempfile.TemporaryDirectory(prefix="mailrobot-bench-phone-") as tmp:
        root = Path(tmp)
        settings = Settings(data_dir=root / "var", secret_key="bench", phone_lines=count,
                            phone_ringing_timeout_s=10.0, calendar_file=None)
        settings.ensure_dirs()
        upgrade(settings.effective_database_url)
        clock = FrozenClock(datetime(2026, 1, 12, 4, 0, tzinfo=UTC))  # Monday 10:00 in Omsk
        robot = Robot(settings, clock=clock)
        now = clock.now()
        numbers = {f"+7913{i:07d}": "answer" for i in range(1, count + 1)}
        with robot.unit_of_work() as session:
            session.add(User(login="boss", name="Руководитель", role="manager", active=True, created_at=now))
            for i, number in enumerate(numbers, start=1):
                session.add(Customer(account_number=f"77{i:08d}", name=f"Потребитель {i}", email=None,
                                     email_consent_at=None, phone=number, address=None, unit="omsk-1",
                                     territory=None, source="bench", imported_at=now, updated_at=now))
        (root / "calls.yaml").write_text(CALL_SCENARIO, encoding="utf-8")
        (root / "debts.csv").write_text("Лицевой счёт;amount\n" + "".join(
            f"77{i:08d};{1000 + 17 * i}.50\n" for i in range(1, count + 1)), encoding="utf-8")
        window = SendingWindow(robot.calendar)
        with robot.unit_of_work() as session:
            campaign = life.create(session, load_scenario(root / "calls.yaml", settings.tz), actor="bench", now=now)
            life.import_recipients(session, campaign, root / "debts.csv", actor="bench", now=now)
            life.approve(session, campaign, manager="boss", now=now, window=window, rate_per_s=20)
            life.start(session, campaign, actor="bench", now=now, window=window, rate_per_s=20)
        planned = tick(robot).planned
        load_before = os.getloadavg()
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = run_calls(robot, numbers, root / "calls", timeout=120)
        wall = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_after = os.getloadavg()
        with robot.sessions() as session:
            attempts = {a.id: a for a in session.scalars(select(CampaignAttempt))}
            due = [r.next_due_at for r in session.scalars(select(CampaignRecipient))]
            by_number = {a.address: a for a in attempts.values()}
        peaks, messages = [], []
        for number in numbers:
            attempt = by_number[number]
            messages.append(round(read_sound(Path(result["messages"]) / f"attempt-{attempt.id}.wav").seconds, 2))
            heard = result["recordings"].get(number) or []
            if heard:
                peaks.append(round(similarity(Path(result["messages"]) / f"attempt-{attempt.id}.wav",
                                              Path(heard[0]))[2], 3))
        robot.close()
        results = sorted(a.result for a in attempts.values())
        return {
            "calls": count, "planned": planned, "outcomes_stored": sum(a.result != "calling" and a.result != "queued"
                                                                      for a in attempts.values()),
            "results": results, "lost": sum(a.result in ("queued", "calling", "interrupted") for a in attempts.values()),
            "next_call_in_7_days": sum(d == now + timedelta(days=7) for d in due),
            "wall_s": round(wall, 2), "namespace_round_s": result["elapsed_s"],
            "message_s": sorted(messages), "call_s": sorted(o["seconds"] for o in result["outcomes"].values()),
            # Every process of the round: the dialler, the speech tools, 2 × calls + 1 baresip instances.
            "cpu_s": round(cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime, 2),
            "recording_match": peaks, "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_after],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--calls", type=int, default=4, help="parallel calls (0: speech only)")
    args = parser.parse_args()
    times, seconds = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            started = time.perf_counter()
            text = render_speech(SCENARIO, CONTEXT)
            sound = check_phone_message(synthesise(text, Path(tmp) / f"m{i}.wav").path)
            times.append(time.perf_counter() - started)
            seconds = sound.seconds
    result = {
        "bench": "phone-speech", "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {os.cpu_count()} CPU", "runs": args.runs,
        "message_s": round(seconds, 1), "text_chars": len(render_speech(SCENARIO, CONTEXT)),
        "render_median_s": round(statistics.median(times), 3), "render_max_s": round(max(times), 3),
        "target_s": 1.0,
    }
    if args.calls:
        result["parallel_calls"] = parallel_calls(args.calls)
    out = Path(__file__).parent / "results" / f"phone-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
