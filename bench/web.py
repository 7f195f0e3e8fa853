"""Benchmark of the Internet reception's forms (issue 6 target: 50 submissions/s sustained, p99 <= 300 ms).

Starts `mailrobot up` (private redis-server, SMTP gateway, web app, workers) in a temporary data
dir with an aiosmtpd sink as its relay, then, from the outside and over real HTTP:

1. opens ``rate * duration`` forms (GET /forms/<form>, each customer with its own cookie and
   token), untimed, and lets the minimum fill time pass;
2. sends them at ``--rate`` per second for ``--duration`` seconds over ``--clients`` threads
   (submission k at start + k / rate): a URL-encoded form, every tenth one multipart with a small
   PDF; each response must be the 303 to the confirmation page;
3. reports the response time (POST sent → 303 received) p50 / p95 / p99 / max, the send lag behind
   the schedule, the achieved rate, and the acknowledgement's arrival at the sink after the 303
   (the confirmation page shows the number at once; the e-mail follows).

Results: bench/results/web-<timestamp>.json and the log of `mailrobot up` next to it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
FORMS = ("question", "application", "complaint", "review")
TEXTS = (
    "Третий день нет света в доме, прошу разобраться и сообщить сроки восстановления.",
    "Прошу заменить прибор учёта электроэнергии, срок поверки истёк в прошлом месяце.",
    "Считаю начисление за декабрь завышенным, прошу сделать перерасчёт по показаниям счётчика.",
    "Благодарю бригаду за быстрый ремонт линии после урагана, всё сделали аккуратно.",
    "Подскажите, какие документы нужны для технологического присоединения гаража.",
)
TERRITORIES = ("г. Тара", "Тарский район", "", "Исилькульский район", "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """The relay: records when each acknowledgement arrives, by recipient."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.arrived.setdefault(rcpt.lower(), time.monotonic())
        return "250 OK"


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float | None]:
    ms = [v * 1000 for v in values]
    return {"p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "p99_ms": percentile(ms, 99),
            "max_ms": max(ms) if ms else None, "count": len(ms)}


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"mailrobot up exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the web app did not open its port")


def open_form(client: httpx.Client, form: str) -> str:
    page = client.get(f"/forms/{form}")
    page.raise_for_status()
    return re.search(r'name="token" value="([^"]+)"', page.text).group(1)


def submission(k: int, form: str, token: str) -> tuple[dict[str, str], list | None]:
    data = {"token": token, "website": "", "name": f"Клиент Номер {k}", "email": f"customer{k}@bench.example",
            "phone": "+7 (3812) 12-34-56", "address": f"г. Омск, ул. Ленина, д. {k % 90 + 1}",
            "territory": TERRITORIES[k % len(TERRITORIES)], "account": f"41{k:08d}",
            "text": f"{TEXTS[k % len(TEXTS)]} Обращение {k}.", "consent": "yes"}
    files = [("attachments", (f"act-{k}.pdf", b"%PDF-1.4\n" + os.urandom(2048), "application/pdf"))] \
        if k % 10 == 0 else None
    return data, files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50.0, help="submissions per second (default 50)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of steady load (default 60)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent HTTP clients (default 32)")
    parser.add_argument("--warmup", type=int, default=5, help="submissions sent before timing (default 5)")
    parser.add_argument("--ack-timeout", type=float, default=120.0)
    args = parser.parse_args()

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_path = RESULTS / f"web-{stamp}.log"
    sink = Sink()
    relay = Controller(sink, hostname="127.0.0.1", port=free_port())
    relay.start()
    web_port, smtp_port = free_port(), free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="mailrobot-bench-web-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILROBOT_")}
    env.update({"MAILROBOT_DATA_DIR": str(data_dir), "MAILROBOT_WEB_PORT": str(web_port),
                "MAILROBOT_SMTP_PORT": str(smtp_port), "MAILROBOT_OUTBOUND_SMTP_HOST": "127.0.0.1",
                "MAILROBOT_OUTBOUND_SMTP_PORT": str(relay.port),
                # One client address sends everything here; a real reception spreads over many.
                "MAILROBOT_WEB_SUBMIT_LIMIT": "1000000000"})
    with open(log_path, "wb") as log:
        up = subprocess.Popen([sys.executable, "-m", "robot.cli.main", "up"], env=env, cwd=data_dir, stdout=log,
                              stderr=subprocess.STDOUT)
        try:
            result = run(args, up, web_port, sink)
        finally:
            up.send_signal(signal.SIGTERM)
            up.wait(timeout=120)
            relay.stop()
    result |= {"log": str(log_path.relative_to(ROOT)), "command": " ".join(sys.argv)}
    out = RESULTS / f"web-{stamp}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"results: {out.relative_to(ROOT)}")
    response = result["response"]
    ok = result["errors"] == 0 and (response["p99_ms"] or 1e9) <= 300 and result["achieved_rate"] >= 0.98 * args.rate
    print("target (50/s sustained, p99 <= 300 ms):", "met" if ok else "NOT met")
    return 0 if ok else 1


def run(args, up: subprocess.Popen, port: int, sink: Sink) -> dict:
    base = f"http://127.0.0.1:{port}"
    wait_for_port(port, up)
    total = int(args.rate * args.duration)
    clients = [httpx.Client(base_url=base, timeout=30) for _ in range(args.clients)]
    # Warm-up: the first submissions load what the process loads lazily.
    for k in range(args.warmup):
        client = clients[k % len(clients)]
        token = open_form(client, FORMS[k % 4])
        time.sleep(3.1)  # the minimum fill time
        data, files = submission(10_000_000 + k, FORMS[k % 4], token)
        if client.post(f"/forms/{FORMS[k % 4]}", data=data, files=files).status_code != 303:
            raise SystemExit("a warm-up submission was refused")
    # Open every form first (untimed), then let the minimum fill time pass.
    opened = time.monotonic()
    jobs = [[] for _ in clients]
    for k in range(total):
        form = FORMS[random.Random(k).randrange(4)]
        jobs[k % len(clients)].append((k, form, open_form(clients[k % len(clients)], form)))
    print(f"opened {total} forms in {time.monotonic() - opened:.1f} s", flush=True)
    time.sleep(3.5)

    responses: dict[int, tuple[float, float, int]] = {}  # k -> (sent, answered, status)
    lags: list[float] = []
    lock = threading.Lock()
    start = time.monotonic() + 0.5

    def worker(index: int) -> None:
        client = clients[index]
        for k, form, token in jobs[index]:
            due = start + k / args.rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            data, files = submission(k, form, token)
            sent = time.monotonic()
            try:
                status = client.post(f"/forms/{form}", data=data, files=files).status_code
            except httpx.HTTPError:
                status = 0
            answered = time.monotonic()
            with lock:
                responses[k] = (sent, answered, status)
                lags.append(sent - due)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finished = max(answered for _, answered, _ in responses.values())
    first = min(sent for sent, _, _ in responses.values())
    good = {k: v for k, v in responses.items() if v[2] == 303}
    deadline = time.monotonic() + args.ack_timeout
    while time.monotonic() < deadline:
        with sink.lock:
            if all(f"customer{k}@bench.example" in sink.arrived for k in good):
                break
        time.sleep(0.2)
    with sink.lock:
        acks = [sink.arrived[f"customer{k}@bench.example"] - answered for k, (_, answered, _) in good.items()
                if f"customer{k}@bench.example" in sink.arrived]
    for client in clients:
        client.close()
    return {
        "rate_target": args.rate, "duration_s": args.duration, "clients": args.clients, "submissions": total,
        "achieved_rate": round(len(responses) / (finished - first), 2) if len(responses) > 1 else None,
        "errors": len(responses) - len(good),
        "statuses": {str(s): sum(1 for v in responses.values() if v[2] == s) for s in {v[2] for v in responses.values()}},
        "response": summary([answered - sent for sent, answered, _ in good.values()]),
        "send_lag": summary(lags),
        "ack_after_response": summary(acks) | {"missing": len(good) - len(acks)},
        "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    raise SystemExit(main())
