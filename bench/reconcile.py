#!/usr/bin/env python3
"""Reconciler benchmark (issue 5): one pass of the periodic reconciler over 1,000,000 open appeals.

Fills a database (SQLite by default, or any `--database-url`, e.g. PostgreSQL) with N open
appeals registered over the 30 days before a chosen moment — a Tuesday at 16:55, five minutes
before the day's deadlines fall due, the busiest moment for the deadlines' part — each with its
acknowledgement (sent), its raw message (processed) and its due actions (reminder, escalation,
the R15 notice for questions; done where their moment has passed, pending otherwise), exactly as
robot/deadlines/plan.py would have planned them. Then, in a fresh process, it runs
`robot.reconcile.reconcile` (raw messages, deliveries and deadlines, as the worker does every
minute) against a real redis-server:

* pass 1: an empty Redis (after a Redis loss): everything near is scheduled;
* pass 2 and 3: the steady state, every minute (what is near is already in Redis);
* pass 4: after another `FLUSHDB`.

First the deadlines' part alone (robot/deadlines/reconciler.py, the part that reads the due
actions) in a process that has loaded only what it needs, with its peak RSS; then whole passes in
the same process after importing what a worker has imported anyway (the reconciler is one of a
worker's jobs; the auto-informer's hook in it imports the pipeline and scikit-learn), so those
passes measure the reconciler, not imports. It reports the wall time of each pass, both RSS
figures, and how much the passes added.

Usage (from the repository root):

    .venv/bin/python bench/reconcile.py                      # 1,000,000 appeals on SQLite
    .venv/bin/python bench/reconcile.py --appeals 100000     # a quick check
    .venv/bin/python bench/reconcile.py --database-url postgresql+psycopg://u@host/db

The database given is filled only when it has no appeals (`--reuse` keeps a filled one as it is).
Results are printed as JSON and written to bench/results/reconcile-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

RESULTS_DIR = HERE / "results"
OMSK = ZoneInfo("Asia/Omsk")
#: The moment of the pass: a working Tuesday, five minutes before the day's 17:00 deadlines.
NOW = datetime(2026, 1, 27, 16, 55, tzinfo=OMSK)
KINDS = (("question", 0.5), ("application", 0.3), ("complaint", 0.2))
CHUNK = 20_000
TARGET_S, TARGET_MB = 1.0, 200


def _fill(url: str, appeals: int, seed: int = 5) -> dict[str, int]:
    """Insert the appeals, their raw messages, acknowledgements and due actions."""
    from sqlalchemy import create_engine, func, select

    from robot.deadlines.calendar import WorkCalendar
    from robot.deadlines.limits import due_at
    from robot.deadlines.plan import desired
    from robot.storage.migrate import upgrade
    from robot.storage.models import Appeal, DueAction, OutboundMail, RawMessage

    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        present = connection.scalar(select(func.count()).select_from(Appeal))
    if present:
        engine.dispose()
        return {"appeals": present, "reused": 1}
    calendar = WorkCalendar(OMSK)
    rng = random.Random(seed)
    now = NOW.astimezone(UTC)
    start = now - timedelta(days=30)
    span = (now - start).total_seconds()
    kinds = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    counts = {"pending": 0, "done": 0}
    writer = _Writer(engine)

    class _Row:  # what desired() reads of an appeal
        __slots__ = ("customer_email", "due_at", "kind", "registered_at")

    plans: dict[tuple, tuple] = {}

    def plan(at: datetime, kind: str) -> tuple:
        # Everything in a plan depends on the day, whether the day's hours are over, and the kind.
        local = at.astimezone(OMSK)
        key = (local.date(), local >= calendar.end_of_day(local.date()), kind)
        if key not in plans:
            row = _Row()
            row.due_at, row.kind, row.customer_email, row.registered_at = due_at(calendar, at, kind), kind, "c", at
            plans[key] = (row.due_at, [(p.action, p.due_at) for p in desired(calendar, row, at, customer_notified=False)])
        return plans[key]

    registered = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(appeals))
    for first in range(0, appeals, CHUNK):
        raws, mails, rows, actions = [], [], [], []
        for n in range(first, min(first + CHUNK, appeals)):
            appeal_id = n + 1
            at = registered[n]
            kind = rng.choices(kinds, weights)[0]
            due, planned = plan(at, kind)
            overdue = due <= now
            queue = f"omsk-{n % 4 + 1}"
            raws.append({"id": appeal_id, "channel": "email", "received_at": at, "mail_from": f"c{n}@example.ru",
                         "rcpt_to": ["info@omskenergo.example"], "message_id": f"<m{n}@example.ru>",
                         "sha256": "0" * 64, "dedupe_key": f"bench-{n}", "size": 1, "raw": b"x",
                         "status": "processed", "attempts": 1, "processed_at": at, "appeal_id": appeal_id})
            rows.append({"id": appeal_id, "number": f"{at.year}-{n:07d}", "year": at.year, "seq": n, "channel": "email",
                         "registered_at": at, "due_at": due, "kind": kind, "status": "registered",
                         "subject": "Нет света", "customer_email": f"c{n}@example.ru", "queue": queue,
                         "escalated_at": due if overdue else None, "escalated_to": f"{queue}-head" if overdue else None})
            mails.append({"id": appeal_id, "appeal_id": appeal_id, "purpose": "ack", "created_at": at,
                          "message_id": f"<mr.{appeal_id}@omskenergo.example>", "mail_from": "robot@omskenergo.example",
                          "rcpt_to": f"c{n}@example.ru", "raw": b"x", "status": "sent", "attempts": 1,
                          "next_attempt_at": at, "sent_at": at})
            for action, moment in planned:  # as planned at registration; done where the moment passed
                state = "pending" if moment > now else "done"
                counts[state] += 1
                actions.append({"appeal_id": appeal_id, "action": action, "due_at": moment, "deadline_at": due,
                                "version": 0,
                                "state": state, "created_at": at, "attempts": 0,
                                "done_at": moment if state == "done" else None})
        writer.write(Appeal.__table__, rows)
        writer.write(RawMessage.__table__, raws)
        writer.write(OutboundMail.__table__, mails)
        writer.write(DueAction.__table__, actions)
        writer.commit()
        print(f"  filled {min(first + CHUNK, appeals):,} / {appeals:,}", file=sys.stderr, flush=True)
    writer.close()
    if engine.dialect.name == "postgresql":
        # PostgreSQL's autovacuum would; SQLite's ANALYZE is not: its statistics (no histogram)
        # take a rare status for a common one and turn an index search into a scan.
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
    engine.dispose()
    return {"appeals": appeals, "due_actions_pending": counts["pending"], "due_actions_done": counts["done"]}


class _Writer:
    """Bulk rows straight through the driver (SQLAlchemy's per-value processing would take most of
    the fill's time): COPY on PostgreSQL, executemany on SQLite, values stored as the models store
    them (UTC timestamps without zone, JSON text). Columns left out get their model defaults."""

    def __init__(self, engine) -> None:
        self.sqlite = engine.dialect.name == "sqlite"
        self.raw = engine.raw_connection()
        if self.sqlite:
            self.raw.execute("PRAGMA synchronous=OFF")

    def _value(self, column, value):
        if isinstance(value, datetime):
            value = value.astimezone(UTC).replace(tzinfo=None)
            return f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond:06d}" if self.sqlite else value
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        if isinstance(value, bool) and self.sqlite:
            return int(value)
        return value

    def write(self, table, rows: list[dict]) -> None:
        names = list(rows[0])
        defaults = {}
        for column in table.columns:
            if column.name in names or column.server_default is not None or column.default is None:
                continue
            arg = column.default.arg
            defaults[column.name] = arg(None) if callable(arg) else arg
        columns = [*names, *defaults]
        tuples = [tuple(self._value(table.c[name], row.get(name, defaults.get(name))) for name in columns)
                  for row in rows]
        cursor = self.raw.cursor()
        if self.sqlite:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", tuples)
        else:
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in tuples:
                    copy.write_row(row)
        cursor.close()

    def commit(self) -> None:
        self.raw.commit()

    def close(self) -> None:
        self.raw.close()


def _measure(url: str, redis_url: str, data_dir: str) -> dict[str, object]:
    """One fresh process: the deadlines' part alone, then whole reconciler passes, timed; RSS."""
    from redis import Redis

    from robot.app import Robot
    from robot.clock import FrozenClock
    from robot.config import Settings
    from robot.deadlines.reconciler import reconcile_deadlines
    from robot.deadlines.schedule import near_moments

    settings = Settings(data_dir=Path(data_dir), database_url=url, redis_url=redis_url)
    robot = Robot(settings, clock=FrozenClock(NOW.astimezone(UTC)))
    now = robot.clock.now()
    _ = robot.router, robot.calendars
    # 1. The deadlines' part (robot/deadlines/reconciler.py) in a process that has loaded only what
    #    it needs: this is the part that reads the due actions of the million appeals.
    deadlines = []
    for label in ("empty Redis", "steady", "steady"):
        if label == "empty Redis":
            Redis.from_url(redis_url).flushdb()
        started = time.perf_counter()
        scheduled = reconcile_deadlines(robot, now)
        deadlines.append({"pass": label, "seconds": round(time.perf_counter() - started, 4), "scheduled": scheduled})
    with robot.sessions() as session:
        started = time.perf_counter()
        moments = near_moments(session, now)
        query_s = time.perf_counter() - started
    light_mb = _rss_mb()

    # 2. Whole passes of `robot.reconcile.reconcile` (raw messages, deliveries, deadlines, the
    #    auto-informer's tick), in a process that has imported what a worker has imported anyway
    #    (the reconciler is one of a worker's jobs): the passes measure the reconciler, not imports.
    from robot.reconcile import reconcile

    for module in ("robot.informer.planner", "robot.pipeline"):
        try:
            __import__(module)
        except ImportError:
            pass
    baseline_mb = _rss_mb()
    passes = []
    for label in ("first pass, empty Redis", "steady", "steady", "after FLUSHDB"):
        if label in ("first pass, empty Redis", "after FLUSHDB"):
            robot.dispatcher.connection.flushdb()
        started = time.perf_counter()
        done = reconcile(robot)
        passes.append({"pass": label, "seconds": round(time.perf_counter() - started, 4),
                       "enqueued": {"process": done.process, "deliver": done.deliver, "due": done.due}})
    robot.close()
    peak_mb = _rss_mb()
    return {"deadlines_part": deadlines, "deadlines_part_peak_rss_mb": light_mb,
            "near_moments": [m.astimezone(OMSK).isoformat() for m in moments],
            "near_moments_query_s": round(query_s, 4), "passes": passes,
            "rss_with_worker_imports_mb": baseline_mb, "peak_rss_mb": peak_mb,
            "rss_growth_in_passes_mb": round(peak_mb - baseline_mb, 1)}


def _rss_mb() -> float:
    """This process's peak RSS: VmHWM, which starts afresh at exec (``ru_maxrss`` would carry the
    peak of the parent that filled the database across the exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _redis(directory: Path) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (make run-deps installs it)")
    sock = directory / "redis.sock"
    process = subprocess.Popen([binary, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no",
                                "--dir", str(directory)], stdout=subprocess.DEVNULL)
    for _ in range(200):
        if sock.exists():
            break
        time.sleep(0.05)
    return process, f"unix://{sock}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: a SQLite file in a temporary dir)")
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--redis-url", help="default: a private redis-server on a Unix socket")
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite database")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(_measure(args.database_url, args.redis_url, args.data_dir)))
        return

    work = Path(tempfile.mkdtemp(prefix="mailrobot-bench-reconcile-"))
    url = args.database_url or f"sqlite:///{work / 'mailrobot.db'}"
    redis_process = None
    redis_url = args.redis_url
    if redis_url is None:
        redis_process, redis_url = _redis(work)
    try:
        started = time.perf_counter()
        filled = _fill(url, args.appeals)
        fill_s = time.perf_counter() - started
        child = subprocess.run([sys.executable, __file__, "--measure", "--database-url", url, "--redis-url", redis_url,
                                "--data-dir", str(work)], capture_output=True, text=True, cwd=ROOT, check=False,
                               env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if child.returncode != 0:
            sys.exit(child.stderr[-4000:])
        measured = json.loads(child.stdout.strip().splitlines()[-1])
    finally:
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=10)
        if not args.keep and args.database_url is None:
            shutil.rmtree(work, ignore_errors=True)
    steady = max(p["seconds"] for p in measured["passes"][1:])
    result = {
        "benchmark": "reconcile", "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": url.split(":", 1)[0], "appeals": args.appeals, "fill": filled, "fill_s": round(fill_s, 1),
        "moment": NOW.isoformat(), **measured,
        "targets": {"pass_s": TARGET_S, "rss_mb": TARGET_MB, "steady_pass_s": steady,
                    "worst_pass_s": max(p["seconds"] for p in measured["passes"]),
                    "time_met": all(p["seconds"] <= TARGET_S for p in measured["passes"]),
                    "deadlines_part_rss_met": measured["deadlines_part_peak_rss_mb"] <= TARGET_MB,
                    "worker_process_rss_met": measured["peak_rss_mb"] <= TARGET_MB},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "command": " ".join([Path(sys.executable).name, "bench/reconcile.py", *sys.argv[1:]]),
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"reconcile-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
