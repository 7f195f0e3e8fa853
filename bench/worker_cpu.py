"""Worker CPU per message (issue 2): the registering path alone, in one process, no SMTP, no RQ.

    .venv/bin/python bench/worker_cpu.py [--messages 400] [--batches 1,10] [--profile]

Stores ``--messages`` of the ingest benchmark's generated mail (bench/ingest.py: 2–5 KB of
Russian customer text) as raw messages in a fresh SQLite database, then runs what a worker's job
runs — ``process_many`` (parse, classify, decide, route, register, compose the acknowledgement)
and ``deliver_many`` (here into the outbox, the relay being unset) — over them in jobs of each
batch size, and reports the process's CPU time per message. The whole-stack benchmark
(bench/ingest.py) measures the same work from outside, with RQ, the relay and the gateway
competing for the same two cores; this one says what the work itself costs, so a change to the
pipeline can be judged without the noise of the machine. ``--profile`` prints a cProfile of the
last batch size's run.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

WARM = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--batches", default="1,10")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    sizes = [int(b) for b in args.batches.split(",")]
    results = {}
    for size in sizes:
        results[str(size)] = run(args.messages, size, profile=args.profile and size == sizes[-1])
    out = {"benchmark": "worker_cpu", "at": datetime.now().isoformat(timespec="seconds"),
           "load_average": os.getloadavg()[0], "messages": args.messages, "ms_per_message": results}
    path = HERE / "results" / f"worker_cpu-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(json.dumps(out, indent=2))


def run(count: int, batch: int, *, profile: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="worker-cpu.") as tmp:
        os.environ["MAILROBOT_DATA_DIR"] = tmp
        os.environ["MAILROBOT_REDIS_URL"] = "redis://127.0.0.1:1/0"  # never used: nothing is enqueued
        os.environ.pop("MAILROBOT_DATABASE_URL", None)
        os.environ.pop("MAILROBOT_OUTBOUND_SMTP_HOST", None)
        import ingest

        from robot.app import Robot
        from robot.config import Settings
        from robot.intake.accept import Incoming, _store, dedupe_key
        from robot.mail.deliver import deliver_many
        from robot.pipeline.process import process_many
        from robot.storage.migrate import upgrade

        robot = Robot(Settings())
        upgrade(robot.settings.effective_database_url)
        mails = ingest.make_messages(count + WARM, f"cpu{batch}", 3)
        items = [Incoming(raw, "email", sender, [ingest.RCPT], "127.0.0.1") for sender, _mid, raw in mails]
        keyed = [(item, item.message_id) for item in items]
        ids = [r.raw_id for r in _store(robot, keyed, [dedupe_key(mid, item.raw) for item, mid in keyed])]
        for start in range(0, WARM, batch):  # the model loaded, caches warm, as in a running worker
            deliver_many(robot, process_many(robot, ids[start:start + batch]), claimed=True)
        ids = ids[WARM:]
        gc.freeze()
        profiler = cProfile.Profile() if profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for start in range(0, len(ids), batch):
            deliver_many(robot, process_many(robot, ids[start:start + batch]), claimed=True)
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        robot.close()
        gc.unfreeze()
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    return {"cpu_ms": round(cpu / count * 1000, 2), "wall_ms": round(wall / count * 1000, 2),
            "profiled": bool(profiler)}


if __name__ == "__main__":
    main()
