#!/usr/bin/env python3
"""Desk benchmark (issue 7): the queue page with 100,000 appeals in the database.

Creates a fresh database (SQLite in a temporary dir, or the PostgreSQL given by --database-url,
which must be an empty database), fills it with N appeals spread over the routing rules' queues
and three months of registrations, serves the real web app with uvicorn on loopback and requests
the queue page as a logged-in specialist (their queues, then one queue, then the overdue filter),
measuring each request's latency at the client. The audit entry each view writes is included.

Usage (from the repository root):

    .venv/bin/python bench/desk.py                       # 100,000 appeals, 300 requests per page
    .venv/bin/python bench/desk.py --appeals 20000 --requests 100
    .venv/bin/python bench/desk.py --database-url postgresql+psycopg://user@/db?host=/run/postgresql
"""

from __future__ import annotations

import argparse
import json
import random
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from robot.app import Robot
from robot.config import Settings
from robot.staff import QueueDirectory, add_user
from robot.storage.migrate import upgrade
from robot.storage.models import Appeal
from robot.web.app import create_app

PASSWORD = "bench password"
STATUSES = ["registered"] * 6 + ["answered"] * 2 + ["closed"] * 10 + ["triage", "awaiting_customer"]


def seed(robot: Robot, count: int, now: datetime) -> list[str]:
    queues = sorted(QueueDirectory(robot.settings.routing_rules).queues)
    rng = random.Random(7)
    batch: list[dict] = []
    year = now.year
    with robot.unit_of_work() as session:
        for seq in range(1, count + 1):
            registered = now - timedelta(minutes=rng.randrange(0, 90 * 24 * 60))
            kind = rng.choice(("question", "question", "application", "complaint"))
            batch.append(dict(  # noqa: C408 - keyword form reads like the model
                number=f"{year}-{seq:06d}", year=year, seq=seq, channel=rng.choice(("email", "web", "phone")),
                registered_at=registered, due_at=registered + timedelta(days=14 if kind == "complaint" else 3),
                kind=kind, classification={}, status=rng.choice(STATUSES), topic="outage", scope="in", flags=[],
                subject=f"Обращение {seq}: нет света", customer_name=f"Потребитель {seq}",
                customer_email=f"c{seq}@example.ru", queue=rng.choice(queues), routing={},
                region="г. Омск", unit="Омский городской РЭС-1"))
            if len(batch) == 5000:
                session.execute(insert(Appeal), batch)
                batch.clear()
        if batch:
            session.execute(insert(Appeal), batch)
        add_user(session, login="bench", role="specialist", password=PASSWORD, now=now,
                 queues=["omsk-1", "omsk-2", "isilkul"], name="Bench")
    return queues


def serve(robot: Robot) -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(robot), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


def measure(client: httpx.Client, path: str, requests: int) -> dict:
    client.get(path)  # warm
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    times.sort()
    return {"path": path, "requests": requests, "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 1), "max_ms": round(times[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appeals", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url", default=None, help="An empty PostgreSQL database (default: SQLite).")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mailrobot-desk-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=args.database_url, secret_key="bench")
        settings.ensure_dirs()
        upgrade(settings.effective_database_url)
        robot = Robot(settings)
        now = datetime.now(UTC)
        started = time.perf_counter()
        seed(robot, args.appeals, now)
        seeded_s = time.perf_counter() - started
        server, thread, url = serve(robot)
        try:
            with httpx.Client(base_url=url, timeout=60) as client:
                login_page = client.get("/desk/login").text
                token = re.search(r'name="csrf" value="([^"]+)"', login_page).group(1)
                client.post("/desk/login", data={"csrf": token, "login": "bench", "password": PASSWORD})
                results = [measure(client, path, args.requests) for path in
                           ("/desk/queue", "/desk/queue?queue=omsk-1", "/desk/queue?status=overdue",
                            "/desk/queue?status=all&page=20")]
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            robot.close()
    report = {"database": "postgresql" if args.database_url else "sqlite", "appeals": args.appeals,
              "seeded_s": round(seeded_s, 1), "results": results}
    print(f"| page ({report['database']}, {args.appeals:,} appeals) | requests | p50 ms | p95 ms | max ms |")
    print("| --- | --- | --- | --- | --- |")
    for row in results:
        print(f"| `{row['path']}` | {row['requests']} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} |")
    out = ROOT / "bench" / "results" / f"desk-{report['database']}-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
