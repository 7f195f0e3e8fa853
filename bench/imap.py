#!/usr/bin/env python3
"""IMAP intake benchmark of mailrobot (issue 6).

Runs the real system (`mailrobot up` with the IMAP intake configured) against a real Dovecot on
loopback, appends customer mail to the mailbox over IMAP and measures, for each message, the time
from the end of its APPEND (the moment it is in the mailbox) to the arrival of its
acknowledgement at a local sink relay:

* at a steady rate (default 5 msg/s for 60 s — a busy company mailbox);
* in a burst (default 200 messages appended at once — a mailbox the robot has not read for a while).

Usage (from the repository root; needs Debian's dovecot-imapd, which `make test` installs):

    .venv/bin/python bench/imap.py                          # the run of record
    .venv/bin/python bench/imap.py --duration 10 --burst 50 # a quick check
    .venv/bin/python bench/imap.py --database postgresql    # on a private PostgreSQL instead of SQLite

Results are printed as a Markdown table and written to bench/results/imap-<timestamp>.json (the
log of `mailrobot up` goes next to it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from imapclient import IMAPClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

from ingest import (  # a script beside this one
    MAILROBOT,
    RESULTS_DIR,
    SinkHandler,
    free_port,
    machine,
    make_messages,
    norm_id,
    pct,
    stop_stack,
    wait_acks,
)

from tests.dovecot import DovecotServer
from tests.postgres import PostgresServer

TARGETS = {"steady_p99_s": 3.0}  # message appended → acknowledgement at the relay, p99 <= 3 s
USER, PASSWORD = "info@omskenergo.example", "bench-password"


def append_all(client: IMAPClient, messages: list[tuple[str, str, bytes]], rate: float | None) -> dict[str, float]:
    """APPEND each message (paced at ``rate`` per second, or at once); the moment each one is in."""
    appended: dict[str, float] = {}
    start = time.monotonic()
    for index, (_sender, message_id, raw) in enumerate(messages):
        if rate:
            delay = start + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        client.append("INBOX", raw)
        appended[norm_id(message_id)] = time.monotonic()
    return appended


def latencies(sink: SinkHandler, appended: dict[str, float]) -> dict:
    with sink.lock:
        arrivals = dict(sink.arrivals)
    values = [arrivals[mid] - t for mid, t in appended.items() if mid in arrivals]
    last = max((arrivals[mid] for mid in appended if mid in arrivals), default=None)
    return {
        "messages": len(appended), "acks": len(values), "missing_acks": len(appended) - len(values),
        "p50_s": _r(pct(values, 50)), "p95_s": _r(pct(values, 95)), "p99_s": _r(pct(values, 99)),
        "max_s": _r(max(values) if values else None),
        "first_append_to_last_ack_s": _r(last - min(appended.values())) if last is not None else None,
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=5.0, help="steady: messages per second (default 5)")
    parser.add_argument("--duration", type=float, default=60.0, help="steady: seconds (default 60)")
    parser.add_argument("--burst", type=int, default=200, help="burst: messages appended at once (default 200)")
    parser.add_argument("--warmup", type=int, default=3, help="messages acknowledged before timing starts")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--ack-timeout", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS_DIR / f"imap-{stamp}.log"
    steady_count = round(args.rate * args.duration)
    messages = make_messages(args.warmup + steady_count + args.burst, f"imap{stamp}{os.getpid()}", args.seed)
    warmup, steady = messages[:args.warmup], messages[args.warmup:args.warmup + steady_count]
    burst = messages[args.warmup + steady_count:]
    results: dict = {"benchmark": "imap", "started_at": datetime.now(UTC).isoformat(),
                     "params": vars(args), "machine": machine(), "targets": TARGETS}

    dovecot = DovecotServer(PASSWORD)
    postgres = PostgresServer() if args.database == "postgresql" else None
    sink = SinkHandler()
    sink_controller = Controller(sink, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    sink_controller.start()
    data_dir = Path(tempfile.mkdtemp(prefix="mailrobot-bench-imap-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILROBOT_")}
    env.update(MAILROBOT_DATA_DIR=str(data_dir), MAILROBOT_SMTP_PORT=str(free_port()),
               MAILROBOT_WEB_PORT=str(free_port()), MAILROBOT_OUTBOUND_SMTP_HOST="127.0.0.1",
               MAILROBOT_OUTBOUND_SMTP_PORT=str(sink_controller.port), MAILROBOT_IMAP_HOST=dovecot.host,
               MAILROBOT_IMAP_PORT=str(dovecot.port), MAILROBOT_IMAP_TLS="none", MAILROBOT_IMAP_USER=USER,
               MAILROBOT_IMAP_PASSWORD=PASSWORD)
    if postgres is not None:
        env["MAILROBOT_DATABASE_URL"] = postgres.url(postgres.create_database())
    results["settings"] = {k: v for k, v in env.items() if k.startswith("MAILROBOT_") and "PASSWORD" not in k}
    print(f"starting mailrobot up ({args.database}; log {log_path}) ...", flush=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(MAILROBOT), "up"], env=env, cwd=data_dir, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        with IMAPClient(dovecot.host, dovecot.port, ssl=False) as client:
            client.login(USER, PASSWORD)
            appended = append_all(client, warmup, None)
            wait_acks(sink, list(appended), 180, "warm-up")
            if sink.arrived(list(appended)) < len(appended):
                raise RuntimeError(f"warm-up not acknowledged; see {log_path}")

            print(f"steady: {steady_count} messages at {args.rate} msg/s ...", flush=True)
            appended = append_all(client, steady, args.rate)
            wait_acks(sink, list(appended), args.ack_timeout, "steady")
            results["steady"] = latencies(sink, appended)

            print(f"burst: {len(burst)} messages at once ...", flush=True)
            appended = append_all(client, burst, None)
            wait_acks(sink, list(appended), args.ack_timeout, "burst")
            results["burst"] = latencies(sink, appended)
        results["duplicate_acks"] = sink.duplicates
    finally:
        results["stop"] = stop_stack(process, set())
        sink_controller.stop()
        dovecot.close()
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

    out = RESULTS_DIR / f"imap-{stamp}.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(markdown(results))
    print(f"\nresults: {out}")
    return 0


def markdown(r: dict) -> str:
    s, b, p = r["steady"], r["burst"], r["params"]
    verdict = "met" if s["p99_s"] is not None and s["p99_s"] <= TARGETS["steady_p99_s"] else "**missed**"
    drained = b["first_append_to_last_ack_s"]
    rate = f" ({b['messages'] / drained:.1f} msg/s)" if drained else ""
    steady = (f"| Steady {p['rate']:g} msg/s for {p['duration']:g} s: append → ack p50 / p95 / p99 / max | "
              f"{s['p50_s']} / {s['p95_s']} / **{s['p99_s']}** / {s['max_s']} s | p99 ≤ 3 s | {verdict} |")
    burst = (f"| Burst of {b['messages']}: append → ack p50 / p95 / p99 / max | "
             f"{b['p50_s']} / {b['p95_s']} / {b['p99_s']} / {b['max_s']} s | | |")
    acks = (f"| Acks missing / duplicated | {s['missing_acks'] + b['missing_acks']} / {r['duplicate_acks']} "
            f"of {s['messages'] + b['messages']} | 0 / 0 | |")
    return "\n".join(["| Figure | Measured | Target | Verdict |", "|---|---|---|---|", steady, burst,
                      f"| Burst: first append → last ack | {drained} s{rate} | | |", acks])

if __name__ == "__main__":
    sys.exit(main())
