#!/usr/bin/env python3
"""Auto-informer benchmark (issue 8): a 100,000-recipient e-mail campaign to a local SMTP sink.

The real path: customers in the database (SQLite, WAL), a campaign created, approved and started
through robot.informer, the planner's ticks (robot.informer.planner.tick: render, compose, store
attempt + OutboundMail per recipient, enqueue batched delivery jobs on RQ) and `mailrobot worker
--processes W` delivering over SMTP to a sink in its own process. Measured:

* throughput: messages at the sink / (last arrival - first tick), with the rate limit set to
  ``--rate`` (the setting MAILROBOT_INFORMER_RATE_PER_S);
* peak RSS of the planner process and of each worker process (sampled from /proc);
* correctness: exactly one message per recipient, every OutboundMail sent, one attempt each.

The planner's clock is a Monday 10:00 Asia/Omsk that moves with real time (sending is allowed
only 08:00–17:00, R16, whatever the hour the benchmark runs at).

Usage (from the repository root):

    .venv/bin/python bench/informer.py                        # 100,000 recipients
    .venv/bin/python bench/informer.py --recipients 5000      # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
RESULTS_DIR = HERE / "results"
MAILROBOT = ROOT / ".venv" / "bin" / "mailrobot"
TARGETS = {"messages_per_s": 300.0, "peak_rss_mb": 300.0}

SINK = r"""
import sys, time, threading
from aiosmtpd.controller import Controller
count, first, last = 0, 0.0, 0.0
rcpts = set()
lock = threading.Lock()
class Handler:
    async def handle_DATA(self, server, session, envelope):
        global count, first, last
        with lock:
            count += 1
            last = time.monotonic()
            first = first or last
            rcpts.update(envelope.rcpt_tos)
        return "250 OK"
controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]), decode_data=False)
controller.start()
print("ready", flush=True)
for line in sys.stdin:
    with lock:
        print(count, first, last, len(rcpts), flush=True)
controller.stop()
"""

SCENARIO = """\
name: Задолженность (бенчмарк)
kind: debt
window: {start: 2026-01-12 08:00, end: 2026-02-28 17:00}
recipients: {all: true}
subject: "Задолженность по лицевому счёту {{ account_number }}"
body: |
  Уважаемый(ая) {{ name }}!
  На {{ debt_date | ru_date }} задолженность по договору составляет {{ amount | rub }}.
  Оплатить можно в личном кабинете, в отделениях банков и почты.
variables:
  debt_date: 2026-01-10
  amount: 1234.56
"""


@dataclass
class ShiftedClock:
    """Monday 12 January 2026, 10:00 Asia/Omsk, moving with real time from the moment it was made."""

    anchor: datetime
    started: float

    def now(self) -> datetime:
        return self.anchor + timedelta(seconds=time.monotonic() - self.started)


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class Sampler(threading.Thread):
    def __init__(self, pids: dict[str, int], tree: int) -> None:
        super().__init__(daemon=True)
        self.pids, self.tree = pids, tree
        self.peaks: dict[str, int] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            watched = dict(self.pids)
            for child in children(self.tree):
                watched[f"worker-{child}"] = child
                for grandchild in children(child):
                    watched[f"worker-{grandchild}"] = grandchild
            for name, pid in watched.items():
                self.peaks[name] = max(self.peaks.get(name, 0), rss_kb(pid))
            self.stop.wait(0.25)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes delivering")
    parser.add_argument("--rate", type=float, default=2000.0, help="the rate limit (messages/s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="mailrobot-bench-informer-"))
    redis_sock = data_dir / "redis.sock"
    redis = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", "0", "--unixsocket",
                              str(redis_sock), "--save", "", "--appendonly", "no", "--dir", str(data_dir)],
                             stdout=subprocess.DEVNULL)
    sink_port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(sink_port)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdout.readline().strip() == "ready"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILROBOT_")}
    env.update(MAILROBOT_DATA_DIR=str(data_dir), MAILROBOT_REDIS_URL=f"unix://{redis_sock}",
               MAILROBOT_OUTBOUND_SMTP_HOST="127.0.0.1", MAILROBOT_OUTBOUND_SMTP_PORT=str(sink_port),
               MAILROBOT_INFORMER_RATE_PER_S=str(args.rate), MAILROBOT_SECRET_KEY="bench")
    os.environ.update({k: v for k, v in env.items() if k.startswith("MAILROBOT_")})
    workers = None
    try:
        for _ in range(200):
            if redis_sock.exists():
                break
            time.sleep(0.05)
        from sqlalchemy import func, insert, select

        from robot.app import Robot
        from robot.config import Settings
        from robot.informer import campaigns as life
        from robot.informer.planner import tick
        from robot.informer.scenario import load_scenario
        from robot.informer.window import SendingWindow
        from robot.reconcile import reconcile
        from robot.storage.migrate import upgrade
        from robot.storage.models import (
            CampaignAttempt,
            CampaignRecipient,
            Customer,
            OutboundMail,
            User,
        )

        settings = Settings.load()
        settings.ensure_dirs()
        upgrade(settings.effective_database_url)
        clock = ShiftedClock(datetime(2026, 1, 12, 10, 0, tzinfo=ZoneInfo("Asia/Omsk")), time.monotonic())
        robot = Robot(settings, clock=clock)

        started = time.monotonic()
        now = clock.now()
        with robot.unit_of_work() as session:
            session.add(User(login="boss", name="Руководитель", role="manager", active=True, created_at=now))
            rows = [{"account_number": f"{5500000000 + i}", "name": f"Потребитель {i}", "email": f"c{i}@example.ru",
                     "email_consent_at": now, "phone": None, "address": f"г. Омск, ул. Ленина, д. {i}",
                     "unit": "omsk-1", "territory": None, "source": "bench", "imported_at": now, "updated_at": now}
                    for i in range(args.recipients)]
            for start in range(0, len(rows), 5000):
                session.execute(insert(Customer), rows[start:start + 5000])
        del rows
        customers_s = time.monotonic() - started

        scenario = data_dir / "scenario.yaml"
        scenario.write_text(SCENARIO, encoding="utf-8")
        started = time.monotonic()
        spec = load_scenario(scenario, settings.tz)
        window = SendingWindow(robot.calendar)
        with robot.unit_of_work() as session:
            campaign = life.create(session, spec, actor="bench", now=clock.now(), source=scenario.name)
            campaign_id = campaign.id
        with robot.unit_of_work() as session:
            campaign = life.get(session, campaign_id)
            life.approve(session, campaign, manager="boss", now=clock.now(), window=window, rate_per_s=args.rate)
            life.start(session, campaign, actor="bench", now=clock.now(), window=window, rate_per_s=args.rate)
        create_s = time.monotonic() - started

        worker_log = open(data_dir / "workers.log", "w")  # noqa: SIM115 — closed with the data dir
        workers = subprocess.Popen([str(MAILROBOT), "worker", "--processes", str(args.workers)], env=env,
                                   stdout=worker_log, stderr=subprocess.STDOUT)
        sampler = Sampler({"planner": os.getpid(), "worker-main": workers.pid, "redis": redis.pid}, workers.pid)
        sampler.start()
        time.sleep(2.0)  # let the worker pool come up (it warms the classifier before forking)

        first_tick = time.monotonic()
        planned = 0
        plan_done = None
        reconciled = first_tick
        while True:
            if time.monotonic() - reconciled >= 60:
                # As `mailrobot up` does every minute: whatever a failed enqueue or job left is found again.
                reconcile(robot)
                reconciled = time.monotonic()
            done = tick(robot)
            planned += done.planned
            if planned >= args.recipients and plan_done is None:
                plan_done = time.monotonic()
            sink.stdin.write("?\n")
            sink.stdin.flush()
            count, _, last, distinct = sink.stdout.readline().split()
            if int(count) >= args.recipients:
                break
            if time.monotonic() - first_tick > 1800:
                print("timed out", file=sys.stderr)
                break
            if not done.planned:
                print(f"{time.monotonic() - first_tick:7.1f} s: {count} delivered", flush=True)
                time.sleep(5)  # the next tick (every minute in production)
        elapsed = float(last) - first_tick
        sampler.stop.set()
        sampler.join()

        with robot.sessions() as session:
            statuses = dict(session.execute(select(OutboundMail.status, func.count()).group_by(OutboundMail.status)).all())
            attempts = session.scalar(select(func.count()).select_from(CampaignAttempt))
            pending = session.scalar(select(func.count()).select_from(CampaignRecipient)
                                     .where(CampaignRecipient.attempts != 1))
        mb = 1024
        peaks = {name: round(kb / mb, 1) for name, kb in sorted(sampler.peaks.items()) if kb}
        worker_peaks = [v for k, v in peaks.items() if k.startswith("worker-")]
        result = {
            "command": " ".join(["bench/informer.py", *sys.argv[1:]]),
            "at": datetime.now().isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
            "recipients": args.recipients, "workers": args.workers, "rate_limit_per_s": args.rate,
            "customers_insert_s": round(customers_s, 2),
            "campaign_create_approve_s": round(create_s, 2),
            "planning_s": round((plan_done or time.monotonic()) - first_tick, 2),
            "delivered": int(count), "distinct_recipients": int(distinct),
            "elapsed_s": round(elapsed, 2),
            "messages_per_s": round(int(count) / elapsed, 1) if elapsed > 0 else None,
            "outbound_status": statuses, "attempts": attempts, "recipients_not_sent_exactly_once": pending,
            "peak_rss_mb": peaks,
            "peak_rss_planner_mb": peaks.get("planner"),
            "peak_rss_worker_max_mb": max(worker_peaks) if worker_peaks else None,
        }
        result["ok"] = (result["messages_per_s"] or 0) >= TARGETS["messages_per_s"] \
            and max(result["peak_rss_planner_mb"] or 0, result["peak_rss_worker_max_mb"] or 0) <= TARGETS["peak_rss_mb"] \
            and int(count) == int(distinct) == args.recipients == attempts
        RESULTS_DIR.mkdir(exist_ok=True)
        out = RESULTS_DIR / f"informer-{datetime.now():%Y%m%d-%H%M%S}.json"
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
        print(f"| recipients | delivered | elapsed | messages/s | planner RSS | worker RSS (max) |\n"
              f"| ---: | ---: | ---: | ---: | ---: | ---: |\n"
              f"| {args.recipients:,} | {int(count):,} | {elapsed:.1f} s | {result['messages_per_s']} | "
              f"{result['peak_rss_planner_mb']} MB | {result['peak_rss_worker_max_mb']} MB |")
        print(json.dumps(result, ensure_ascii=False, indent=2))
        print(f"written to {out}")
        return 0 if result["ok"] else 1
    finally:
        if workers is not None:
            workers.terminate()
            try:
                workers.wait(timeout=20)
            except subprocess.TimeoutExpired:
                workers.kill()
        sink.stdin.close()
        sink.terminate()
        redis.terminate()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
