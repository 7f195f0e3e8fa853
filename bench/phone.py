#!/usr/bin/env python3
"""Phone speech benchmark (issue 9): render a ~40 s phone message, text to checked WAV.

The real path a call's message takes: a phone scenario with the ``say_*`` filters rendered to
text (robot.informer.speech), espeak-ng (voice ru) and sox to an 8 kHz 16-bit mono WAV
(robot.informer.sound.synthesise) and the ≤ 60 s check (check_phone_message). Measured: wall time
per message (median and worst of ``--runs``), against the target of ≤ 1 s for a 40 s message.

Usage (from the repository root):

    .venv/bin/python bench/phone.py            # 20 runs
    .venv/bin/python bench/phone.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from robot.informer.sound import check_phone_message, synthesise
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
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
        "bench": "phone-speech", "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {os.cpu_count()} CPU", "runs": args.runs,
        "message_s": round(seconds, 1), "text_chars": len(render_speech(SCENARIO, CONTEXT)),
        "render_median_s": round(statistics.median(times), 3), "render_max_s": round(max(times), 3),
        "target_s": 1.0,
    }
    out = Path(__file__).parent / "results" / f"phone-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
