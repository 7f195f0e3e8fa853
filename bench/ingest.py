#!/usr/bin/env python3
"""Ingestion benchmark of mailrobot (issue 2).

Runs the real system (`mailrobot up`: redis-server, SMTP gateway, RQ workers, scheduler) in a
fresh temporary data dir, feeds it realistic customer mail over SMTP and measures:

* the acceptance rate of the gateway in a burst (N messages over S parallel sessions);
* the end-to-end rate: first MAIL command to the last acknowledgement at a local sink relay;
* the latency of each acknowledgement (sink arrival - end of the customer's DATA), in the burst
  and at a steady, paced rate;
* the peak memory of the whole `mailrobot up` process tree;
* the acceptance rate of a no-op aiosmtpd server (the ceiling) with the same client, N and S.

Usage (from the repository root):

    .venv/bin/python bench/ingest.py                      # 2,000 msgs / 10 sessions; 50 msg/s for 60 s
    .venv/bin/python bench/ingest.py --messages 200 --duration 10   # a quick check

Only the standard library and aiosmtpd (a dependency of mailrobot) are used. Results are printed as a
Markdown table and written to bench/results/ingest-<timestamp>.json (the log of `mailrobot up`
goes next to it).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import math
import os
import platform
import random
import shutil
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.parser import BytesHeaderParser
from email.utils import format_datetime
from pathlib import Path

from aiosmtpd.controller import Controller

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS_DIR = HERE / "results"
MAILROBOT = ROOT / ".venv" / "bin" / "mailrobot"

RCPT = "info@omskenergo.example"  # the accepted domain is the one of the default MAILROBOT_MAIL_FROM
MIN_SIZE, MAX_SIZE = 2048, 5120  # bytes of one customer message, as sent

TARGETS = {
    "steady_ack_p99_s": 1.0,        # ack latency p99 <= 1 s at a steady 50 msg/s for 60 s
    "end_to_end_rate": 100.0,       # >= 100 msg/s, first send to last ack
    "acceptance_vs_ceiling_pct": 50.0,  # >= 50 % of the no-op aiosmtpd server
    "peak_rss_mb": 400.0,           # whole stack <= 400 MB RSS
}


# --------------------------------------------------------------------------------------------
# Customer mail
# --------------------------------------------------------------------------------------------

SUBJECTS = [
    "Нет электричества с утра",
    "Отключение света по улице {street}",
    "Заявка на технологическое присоединение",
    "Жалоба на скачки напряжения",
    "Перерасчёт за электроэнергию",
    "Вопрос по показаниям счётчика",
    "Замена прибора учёта",
    "Обрыв провода во дворе дома {house}",
    "Когда дадут свет?",
    "Не приходит квитанция",
    "Жалоба на работу аварийной бригады",
    "Заявление на опломбировку счётчика",
    "Низкое напряжение в сети, не работает холодильник",
    "Искрит опора ЛЭП возле дома",
    "Прошу проверить правильность начислений",
]

OPENINGS = [
    "Здравствуйте!",
    "Добрый день.",
    "Уважаемые сотрудники Омскэнерго!",
    "Добрый вечер, обращаюсь к вам уже второй раз.",
    "Здравствуйте, уважаемая служба поддержки.",
]

BODIES = [
    "С {time} в нашем доме по адресу г. Омск, ул. {street}, д. {house}, кв. {flat} нет электричества. "
    "Соседи по подъезду тоже без света. В диспетчерскую дозвониться невозможно, линия всё время занята. "
    "Прошу сообщить, когда будет восстановлено электроснабжение и по какой причине произошло отключение.",
    "Прошу рассмотреть заявку на технологическое присоединение энергопринимающих устройств жилого дома "
    "на земельном участке с кадастровым номером 55:36:{cad}. Максимальная мощность {kw} кВт, уровень "
    "напряжения 0,4 кВ, категория надёжности третья. Копии правоустанавливающих документов прилагаю.",
    "Уже неделю по вечерам в квартире скачет напряжение: лампы мигают, вчера сгорел блок питания "
    "компьютера и роутер. По моим замерам напряжение в розетке падает до {volts} В. Требую провести "
    "проверку качества электроэнергии и возместить ущерб.",
    "Лицевой счёт № {account}. В квитанции за {month} начислено {kwh} кВт·ч, хотя по счётчику я потребил "
    "гораздо меньше. Показания передавал вовремя через личный кабинет: день {day_reading}, ночь "
    "{night_reading}. Прошу сделать перерасчёт и объяснить, откуда взялась такая сумма.",
    "Прошу заменить прибор учёта: старый счётчик {meter} {meter_no} выработал межповерочный интервал, "
    "пломба на месте. Когда может прийти специалист? Удобное время — будни после 18:00.",
    "Во дворе дома {house} по улице {street} оборван провод, он лежит прямо на детской площадке. "
    "Это очень опасно! Прошу срочно прислать аварийную бригаду. Фотографию могу прислать отдельно.",
    "Сотрудники аварийной бригады, приехавшие по заявке от {date}, вели себя грубо, ничего не починили "
    "и уехали через десять минут. Прошу провести служебную проверку и сообщить о её результатах.",
    "Прошу разъяснить порядок передачи показаний индивидуального прибора учёта, если личный кабинет "
    "не работает. Срок передачи — до 25 числа, а сайт выдаёт ошибку уже третий день.",
    "На опоре ЛЭП возле дома {house} по ул. {street} искрит изолятор, ночью видны вспышки, слышен треск. "
    "Опасаюсь пожара, рядом деревянные сараи. Примите меры как можно скорее.",
]

PADDING = [
    "Дополнительно сообщаю, что в нашем доме проживают пожилые люди и маленькие дети.",
    "Это уже не первое отключение за месяц, и никаких объявлений заранее не было.",
    "Контактный телефон для связи: +7 (3812) {phone}.",
    "Прошу ответить письменно на этот адрес электронной почты.",
    "Заранее благодарю за оперативное рассмотрение обращения.",
    "В случае отказа буду вынужден обратиться в Роспотребнадзор и прокуратуру.",
    "Номер предыдущей заявки, к сожалению, не сохранился, звонил {date} около {time}.",
    "Лицевой счёт {account}, собственник квартиры — {name}.",
    "Показания счётчика на сегодня: {day_reading} кВт·ч.",
    "Прошу учесть, что в квартире работает медицинский прибор, которому необходимо постоянное питание.",
    "Из-за отключения испортились продукты в холодильнике на сумму около {rub} рублей.",
    "В соседнем доме {house2} свет есть, значит, проблема именно на нашей линии.",
    "Со слов соседей, на подстанции проводились какие-то работы.",
    "Мне важно понимать сроки, так как я работаю из дома.",
]

CLOSINGS = [
    "С уважением, {name}.",
    "Спасибо. {name}, тел. +7 (3812) {phone}.",
    "{name}",
    "Жду ответа. {name}",
]

NAMES = [
    "Иванов Сергей Петрович", "Петрова Анна Викторовна", "Сидоренко Ольга Николаевна",
    "Кузнецов Дмитрий Алексеевич", "Смирнова Татьяна Ивановна", "Попов Андрей Владимирович",
    "Васильева Елена Сергеевна", "Соколов Михаил Юрьевич", "Морозова Наталья Геннадьевна",
    "Новиков Алексей Игоревич", "Фёдорова Людмила Павловна", "Волков Николай Степанович",
]
STREETS = ["Ленина", "Маршала Жукова", "Красный Путь", "70 лет Октября", "Нефтезаводская",
           "Богдана Хмельницкого", "Лукашевича", "Иртышская набережная", "Мира", "Дианова"]
MONTHS = ["январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь",
          "октябрь", "ноябрь", "декабрь"]
METERS = ["СО-2", "Меркурий 201", "Нева 103", "Энергомера CE101", "СОЭ-52"]
TRANSLIT = str.maketrans("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                         "abvgdeejziiklmnoprstufhccss_y_eua")


def _fill(template: str, rng: random.Random, name: str) -> str:
    return template.format(
        time=f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
        street=rng.choice(STREETS), house=rng.randint(1, 150), house2=rng.randint(1, 150),
        flat=rng.randint(1, 300), cad=f"{rng.randint(10, 99)}{rng.randint(1000, 9999)}:{rng.randint(1, 999)}",
        kw=rng.choice([5, 10, 15, 30, 150]), volts=rng.randint(150, 190),
        account=f"{rng.randint(10**9, 10**10 - 1)}", month=rng.choice(MONTHS), kwh=rng.randint(300, 2500),
        day_reading=rng.randint(1000, 99999), night_reading=rng.randint(1000, 99999),
        meter=rng.choice(METERS), meter_no=rng.randint(10**7, 10**8 - 1),
        date=f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.2026", phone=f"{rng.randint(20, 79)}-"
        f"{rng.randint(10, 99)}-{rng.randint(10, 99)}", name=name, rub=rng.randint(2, 30) * 500,
    )


def _words(text: str, max_bytes: int = 42) -> str:
    """RFC 2047 encoded words (UTF-8, base64), folded: what mail clients put in From and Subject."""
    words, chunk = [], ""
    for char in text:
        if len((chunk + char).encode("utf-8")) > max_bytes:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w.encode('utf-8')).decode('ascii')}?=" for w in words)


def _encode_paragraph(text: str, cte: str) -> bytes:
    data = text.encode("utf-8")
    if cte == "quoted-printable":
        data = binascii.b2a_qp(data)  # lines of at most 76 characters, soft breaks with "="
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def make_message(index: int, run_id: str, rng: random.Random) -> tuple[str, str, bytes]:
    """One customer mail of 2-5 KB: returns (envelope sender, Message-ID, raw bytes with CRLF).

    Headers come from the email package (RFC 2047 encoded words); the UTF-8 text/plain body is
    8bit or quoted-printable (every other message), encoded paragraph by paragraph so that the size
    can be grown cheaply to a random target.
    """
    name = rng.choice(NAMES)
    local = name.split()[0].lower().translate(TRANSLIT).replace("_", "")
    sender = f"{local}.{index}@{rng.choice(['mail.example', 'customer.example', 'inbox.example'])}"
    message_id = f"<{run_id}.{index}@bench.customer.example>"
    cte = "quoted-printable" if index % 2 else "8bit"
    target = rng.randint(2300, 4300)

    header = (
        f"From: {_words(name, 200)} <{sender}>\r\n"
        f"To: {_words('Омскэнерго')} <{RCPT}>\r\n"
        f"Subject: {_words(_fill(rng.choice(SUBJECTS), rng, name))}\r\n"
        f"Date: {format_datetime(datetime.now(timezone.utc))}\r\n"
        f"Message-ID: {message_id}\r\n"
        "X-Mailer: mailrobot-bench\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {cte}\r\n\r\n"
    ).encode("ascii")

    paragraphs = [_encode_paragraph(rng.choice(OPENINGS), cte),
                  _encode_paragraph(_fill(rng.choice(BODIES), rng, name), cte)]
    closing = _encode_paragraph(_fill(rng.choice(CLOSINGS), rng, name), cte)

    def size(parts: list[bytes]) -> int:
        return len(header) + sum(len(p) + 4 for p in parts) + len(closing) + 2

    while size(paragraphs) < target:
        candidate = _encode_paragraph(_fill(rng.choice(PADDING), rng, name), cte)
        if size([*paragraphs, candidate]) > MAX_SIZE - 50:
            break
        paragraphs.append(candidate)
    while size(paragraphs) < MIN_SIZE:
        # Short ASCII reference lines fill the rest without crossing the upper bound.
        paragraphs.append(b"Ref: " + "".join(rng.choice("0123456789ABCDEF") for _ in range(60)).encode())
    raw = header + b"\r\n\r\n".join([*paragraphs, closing]) + b"\r\n"
    return sender, message_id, raw


def make_messages(count: int, run_id: str, seed: int) -> list[tuple[str, str, bytes]]:
    rng = random.Random(seed)
    return [make_message(i, run_id, rng) for i in range(count)]


def norm_id(value: str | None) -> str:
    return (value or "").strip().strip("<>").strip()


# --------------------------------------------------------------------------------------------
# The sink: a relay that records acknowledgements
# --------------------------------------------------------------------------------------------

class SinkHandler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrivals: dict[str, float] = {}   # normalised In-Reply-To -> first arrival (monotonic)
        self.duplicates = 0
        self.without_reply_to = 0
        self.total = 0
        self._parser = BytesHeaderParser()

    async def handle_DATA(self, server, session, envelope) -> str:
        now = time.monotonic()
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        head = raw.split(b"\r\n\r\n", 1)[0]
        reply_to = norm_id(self._parser.parsebytes(head).get("In-Reply-To"))
        with self.lock:
            self.total += 1
            if not reply_to:
                self.without_reply_to += 1
            elif reply_to in self.arrivals:
                self.duplicates += 1
            else:
                self.arrivals[reply_to] = now
        return "250 2.0.0 OK"

    def arrived(self, ids: list[str]) -> int:
        with self.lock:
            return sum(1 for i in ids if i in self.arrivals)


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------

@dataclass
class Sent:
    index: int
    message_id: str          # normalised
    t_mail: float = math.nan  # before MAIL FROM
    t_250: float = math.nan   # after the reply to the end of DATA
    code: int = 0
    reply: str = ""
    scheduled: float = math.nan


@dataclass
class ClientRun:
    sent: list[Sent]
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> list[Sent]:
        return [s for s in self.sent if s.code == 250]

    def window(self) -> tuple[float, float]:
        ok = self.ok
        return min(s.t_mail for s in self.sent if not math.isnan(s.t_mail)), max(s.t_250 for s in ok)


def _connect(port: int) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", port, local_hostname="bench.client.example", timeout=120)
    client.ehlo()
    return client


def _send_one(client: smtplib.SMTP, record: Sent, sender: str, raw: bytes) -> None:
    record.t_mail = time.monotonic()
    code, reply = client.mail(sender, ["BODY=8BITMIME"])
    if code == 250:
        code, reply = client.rcpt(RCPT)
    if code == 250:
        code, reply = client.data(raw)
    else:
        client.rset()
    record.t_250 = time.monotonic()
    record.code = code
    record.reply = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def run_client(port: int, messages: list[tuple[str, str, bytes]], sessions: int,
               rate: float | None = None) -> ClientRun:
    """Send ``messages`` over ``sessions`` parallel SMTP connections (one connection each, reused).

    Without ``rate`` every session sends as fast as the server answers; with it, message k is sent
    at start + k / rate (a paced schedule shared by the sessions; a late message goes at once).
    """
    records = [Sent(i, norm_id(mid)) for i, (_s, mid, _r) in enumerate(messages)]
    run = ClientRun(records)
    next_index = iter(range(len(messages)))
    lock = threading.Lock()
    clients = [_connect(port) for _ in range(sessions)]
    barrier = threading.Barrier(sessions + 1)
    start = [0.0]

    def session(client: smtplib.SMTP) -> None:
        barrier.wait()
        while True:
            with lock:
                k = next(next_index, None)
            if k is None:
                break
            record = records[k]
            if rate:
                record.scheduled = start[0] + k / rate
                delay = record.scheduled - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            sender, _mid, raw = messages[k]
            try:
                _send_one(client, record, sender, raw)
            except (OSError, smtplib.SMTPException) as error:
                record.t_250 = time.monotonic()
                record.code = -1
                record.reply = repr(error)
                with lock:
                    run.errors.append(f"message {k}: {error!r}")
                try:
                    client.close()
                    client = _connect(port)
                except OSError as again:
                    with lock:
                        run.errors.append(f"reconnect failed: {again!r}")
                    return
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()

    threads = [threading.Thread(target=session, args=(c,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    start[0] = time.monotonic() + 0.05
    barrier.wait()
    for thread in threads:
        thread.join()
    return run


# --------------------------------------------------------------------------------------------
# Process tree memory and CPU
# --------------------------------------------------------------------------------------------

def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def tree(root: int) -> dict[int, int]:
    """The process tree under ``root``: pid -> parent pid."""
    children = _children_map()
    found, todo = {root: 0}, [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            found[child] = pid
            todo.append(child)
    return found


def _status(pid: int) -> dict[str, int]:
    values = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])  # kB
    return values


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as handle:
        stat = handle.read()
    fields = stat[stat.rindex(b")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            args = [a.decode(errors="replace") for a in handle.read().split(b"\0") if a]
    except OSError:
        return "?"
    if not args:
        return "?"
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as handle:
            comm = handle.read().strip()
    except OSError:
        comm = ""
    if comm.startswith("mailrobot-"):  # a part forked by `mailrobot up` names itself (mailrobot-smtp, …)
        return comm
    if "robot.cli.main" in args:
        return "mailrobot " + " ".join(args[args.index("robot.cli.main") + 1:])
    if "redis-server" in args[0]:
        return "redis-server"
    for position, arg in enumerate(args[:2]):
        if arg.endswith("/mailrobot"):
            return "mailrobot " + " ".join(args[position + 1:])
    return " ".join(args)[:60]


class TreeSampler(threading.Thread):
    """Samples RSS (and PSS) of a process tree every ``interval`` seconds."""

    def __init__(self, root: int, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.stop_event = threading.Event()
        self.peak_rss_sum_kb = 0
        self.peak_rss_sum_at = 0.0
        self.peak_pss_sum_kb = 0
        self.pss_at_peak_kb: dict[int, int] = {}  # pid -> PSS in the sample with the highest sum
        self.samples = 0
        self.procs: dict[int, dict] = {}   # pid -> name, peak_rss_kb, hwm_kb, cpu_s
        self.timeline: list[tuple[float, int]] = []
        self.lock = threading.Lock()

    def sample(self) -> None:
        total = pss_total = 0
        pss_now: dict[int, int] = {}
        for pid, parent in tree(self.root).items():
            try:
                status = _status(pid)
                cpu = _cpu_s(pid)
            except (OSError, ValueError):
                continue
            pss_now[pid] = _pss_kb(pid)
            pss_total += pss_now[pid]
            rss = status.get("VmRSS", 0)
            total += rss
            with self.lock:
                info = self.procs.setdefault(pid, {"name": "?", "peak_rss_kb": 0, "hwm_kb": 0, "cpu_s": 0.0})
                # Named at every sample: a child sampled between fork and exec shows its parent's command.
                name = describe(pid)
                if parent != self.root and parent in self.procs and self.procs[parent]["name"] == name:
                    name = f"{name} › forked child"  # RQ forks its scheduler off one worker
                info["name"] = name if name != "?" else info["name"]
                info["peak_rss_kb"] = max(info["peak_rss_kb"], rss)
                info["hwm_kb"] = max(info["hwm_kb"], status.get("VmHWM", 0))
                info["cpu_s"] = cpu
        with self.lock:
            self.samples += 1
            self.timeline.append((time.monotonic(), total))
            if total > self.peak_rss_sum_kb:
                self.peak_rss_sum_kb, self.peak_rss_sum_at = total, time.monotonic()
            if pss_total > self.peak_pss_sum_kb:
                self.peak_pss_sum_kb, self.pss_at_peak_kb = pss_total, pss_now

    def cpu_snapshot(self) -> dict[int, float]:
        self.sample()
        with self.lock:
            return {pid: info["cpu_s"] for pid, info in self.procs.items()}

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.interval)


def cpu_by_name(sampler: TreeSampler, before: dict[int, float], after: dict[int, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for pid, cpu in after.items():
        name = sampler.procs[pid]["name"]
        out[name] = round(out.get(name, 0.0) + cpu - before.get(pid, 0.0), 2)
    return out


def self_cpu() -> float:
    times = os.times()
    return times.user + times.system


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float, process: subprocess.Popen | None = None) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with status {process.returncode} before port {port} opened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return time.monotonic() - start
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open within {timeout} s")


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_stats(run: ClientRun, sink: SinkHandler) -> dict:
    with sink.lock:
        arrivals = dict(sink.arrivals)
    lat = [arrivals[s.message_id] - s.t_250 for s in run.ok if s.message_id in arrivals]
    missing = sum(1 for s in run.ok if s.message_id not in arrivals)
    return {
        "acks": len(lat), "missing_acks": missing,
        "p50_s": _r(pct(lat, 50)), "p95_s": _r(pct(lat, 95)), "p99_s": _r(pct(lat, 99)),
        "max_s": _r(max(lat) if lat else None),
        "last_ack": max((arrivals[s.message_id] for s in run.ok if s.message_id in arrivals), default=None),
    }


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def wait_acks(sink: SinkHandler, ids: list[str], timeout: float, label: str) -> float:
    start = time.monotonic()
    last_report = start
    while time.monotonic() - start < timeout:
        got = sink.arrived(ids)
        if got >= len(ids):
            break
        if time.monotonic() - last_report > 10:
            print(f"  [{label}] {got}/{len(ids)} acks after {time.monotonic() - start:.0f} s", flush=True)
            last_report = time.monotonic()
        time.sleep(0.05)
    return time.monotonic() - start


def machine() -> dict:
    model = "?"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kb = 0
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {"nproc": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)), "cpu_model": model,
            "mem_total_mb": mem_kb // 1024, "python": platform.python_version(), "kernel": platform.release(),
            "loadavg_start": open("/proc/loadavg").read().split()[:3]}


# --------------------------------------------------------------------------------------------
# The no-op ceiling (a separate process, like the gateway)
# --------------------------------------------------------------------------------------------

NOOP_SERVER = r"""
import signal, sys, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

class Noop:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

class NoopController(Controller):
    def factory(self):
        return SMTP(self.handler, enable_SMTPUTF8=True, decode_data=False, data_size_limit=25 * 1024 * 1024,
                    hostname="noop.local")

controller = NoopController(Noop(), hostname="127.0.0.1", port=int(sys.argv[1]))
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
controller.start()
print("ready", flush=True)
stop.wait()
controller.stop()
"""


def _terminate(process: subprocess.Popen, timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``timeout_s``."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measure_ceiling(messages, sessions: int) -> dict:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", NOOP_SERVER, str(port)], stdout=subprocess.PIPE)
    try:
        process.stdout.readline()
        wait_port(port, 20, process)
        before = _cpu_s(process.pid)
        run = run_client(port, messages, sessions)
        cpu = _cpu_s(process.pid) - before
    finally:
        _terminate(process, 10)
    first, last = run.window()
    return {"accepted": len(run.ok), "failed": len(run.sent) - len(run.ok), "seconds": round(last - first, 3),
            "rate": round(len(run.ok) / (last - first), 1), "server_cpu_s": round(cpu, 2),
            "errors": run.errors[:5]}


def measure_gateway_alone(messages, sessions: int) -> dict:
    """The same burst against `mailrobot smtp` alone — every message committed to SQLite and its
    job enqueued in Redis, as in the stack, but no workers, web app or scheduler beside it: what
    a durable gateway costs before anything competes with it for the cores or the write lock."""
    data_dir = Path(tempfile.mkdtemp(prefix="mailrobot-bench-gateway-"))
    socket_path = data_dir / "redis.sock"
    redis = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", str(socket_path), "--save", "",
                              "--appendonly", "no", "--dir", str(data_dir)], stdout=subprocess.DEVNULL)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILROBOT_")}
    env.update(MAILROBOT_DATA_DIR=str(data_dir), MAILROBOT_REDIS_URL=f"unix://{socket_path}",
               MAILROBOT_SMTP_HOST="127.0.0.1", MAILROBOT_SMTP_PORT=str(port))
    gateway = None
    try:
        subprocess.run([str(MAILROBOT), "db", "upgrade"], env=env, cwd=data_dir, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        gateway = subprocess.Popen([str(MAILROBOT), "smtp"], env=env, cwd=data_dir, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.STDOUT)
        wait_port(port, 30, gateway)
        run_client(port, messages[:50], sessions)  # warm: imports done, connections open
        before = _cpu_s(gateway.pid)
        run = run_client(port, messages, sessions)
        cpu = _cpu_s(gateway.pid) - before
    finally:
        for process in (gateway, redis):
            if process is not None:
                _terminate(process, 20)
        shutil.rmtree(data_dir, ignore_errors=True)
    first, last = run.window()
    return {"accepted": len(run.ok), "failed": len(run.sent) - len(run.ok), "seconds": round(last - first, 3),
            "rate": round(len(run.ok) / (last - first), 1), "gateway_cpu_s": round(cpu, 2),
            "gateway_cpu_ms_per_message": round(1000 * cpu / max(len(run.ok), 1), 2), "errors": run.errors[:5]}


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------

def count_db(db_path: Path) -> dict:
    """Row counts after the run (read-only, stdlib sqlite3) — a sanity check of what happened."""
    if not db_path.exists():
        return {}
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        out = {}
        for table, column in (("raw_messages", "status"), ("outbound_mail", "status")):
            out[table] = dict(con.execute(f"SELECT {column}, COUNT(*) FROM {table} GROUP BY {column}").fetchall())
        out["appeals"] = con.execute("SELECT COUNT(*) FROM appeals").fetchone()[0]
        return out
    except sqlite3.Error as error:
        return {"error": str(error)}
    finally:
        con.close()


def scan_log(path: Path) -> dict:
    counts = {"lines": 0, "WARNING": 0, "ERROR": 0, "Traceback": 0, "restarting": 0}
    examples: list[str] = []
    try:
        with open(path, errors="replace") as handle:
            for line in handle:
                counts["lines"] += 1
                for key in ("WARNING", "ERROR", "Traceback", "restarting"):
                    if key in line:
                        counts[key] += 1
                        if len(examples) < 8 and key != "restarting":
                            examples.append(line.rstrip()[:300])
    except OSError:
        pass
    counts["examples"] = examples
    return counts


def stop_stack(process: subprocess.Popen, seen_pids: set[int]) -> dict:
    started = time.monotonic()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
        code = process.wait()
    leftovers = []
    for pid in sorted(seen_pids - {process.pid}):
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        if b") Z" in stat:
            continue
        leftovers.append(f"{pid} {describe(pid)}")
        try:
            os.kill(pid, signal.SIGTERM)  # a process of ours (a descendant of the stack we started)
        except OSError:
            pass
    return {"exit_status": code, "stop_seconds": round(time.monotonic() - started, 2), "leftover_processes": leftovers}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000, help="burst: number of messages (default 2000)")
    parser.add_argument("--sessions", type=int, default=10, help="burst: parallel SMTP sessions (default 10)")
    parser.add_argument("--rate", type=float, default=50.0, help="steady: messages per second (default 50)")
    parser.add_argument("--duration", type=float, default=60.0, help="steady: seconds (default 60; 0 skips)")
    parser.add_argument("--steady-sessions", type=int, default=None, help="steady: sessions (default --sessions)")
    parser.add_argument("--ack-timeout", type=float, default=120.0,
                        help="how long to wait for the last acknowledgements of a phase (default 120 s)")
    parser.add_argument("--warmup", type=int, default=5, help="messages sent (and acknowledged) before the burst")
    parser.add_argument("--skip-ceiling", action="store_true", help="do not measure the no-op aiosmtpd ceiling")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="extra setting for `mailrobot up`, e.g. --set WORKERS=4 (MAILROBOT_ prefix added)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    parser.add_argument("--seed", type=int, default=2, help="seed of the message generator")
    args = parser.parse_args()
    steady_sessions = args.steady_sessions or args.sessions

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_id = f"bench{stamp}{os.getpid()}"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS_DIR / f"ingest-{stamp}.log"
    results: dict = {"benchmark": "ingest", "started_at": datetime.now(timezone.utc).isoformat(),
                     "params": {"messages": args.messages, "sessions": args.sessions, "rate": args.rate,
                                "duration": args.duration, "steady_sessions": steady_sessions,
                                "warmup": args.warmup, "ack_timeout": args.ack_timeout, "set": args.set},
                     "machine": machine()}

    steady_count = int(round(args.rate * args.duration)) if args.duration > 0 else 0
    print(f"generating {args.warmup} + {args.messages} + {steady_count} messages ...", flush=True)
    all_messages = make_messages(args.warmup + args.messages + steady_count, run_id, args.seed)
    warmup = all_messages[: args.warmup]
    burst = all_messages[args.warmup: args.warmup + args.messages]
    steady = all_messages[args.warmup + args.messages:]
    sizes = [len(raw) for _s, _m, raw in burst + steady]
    results["message_bytes"] = {"min": min(sizes), "max": max(sizes), "mean": round(sum(sizes) / len(sizes))}

    # 1. The ceiling first, while nothing of ours runs.
    if not args.skip_ceiling:
        print(f"ceiling: no-op aiosmtpd, {len(burst)} messages over {args.sessions} sessions ...", flush=True)
        results["ceiling"] = measure_ceiling(burst, args.sessions)
        print(f"  {results['ceiling']['rate']} msg/s", flush=True)
        print(f"gateway alone: mailrobot smtp, the same {len(burst)} messages ...", flush=True)
        results["gateway_alone"] = measure_gateway_alone(burst, args.sessions)
        print(f"  {results['gateway_alone']['rate']} msg/s, "
              f"{results['gateway_alone']['gateway_cpu_ms_per_message']} ms of CPU a message", flush=True)

    # 2. The sink.
    sink = SinkHandler()
    sink_controller = Controller(sink, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    sink_controller.start()

    # 3. mailrobot up.
    data_dir = Path(tempfile.mkdtemp(prefix="mailrobot-bench-"))
    smtp_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILROBOT_")}
    env.update(MAILROBOT_DATA_DIR=str(data_dir), MAILROBOT_SMTP_HOST="127.0.0.1",
               MAILROBOT_SMTP_PORT=str(smtp_port), MAILROBOT_OUTBOUND_SMTP_HOST="127.0.0.1",
               MAILROBOT_OUTBOUND_SMTP_PORT=str(sink_controller.port), MAILROBOT_WEB_PORT=str(free_port()))
    for item in args.set:
        name, _, value = item.partition("=")
        env["MAILROBOT_" + name.upper().removeprefix("MAILROBOT_")] = value
    results["settings"] = {k: v for k, v in env.items() if k.startswith("MAILROBOT_")}
    log_handle = open(log_path, "wb")
    print(f"starting {MAILROBOT} up (data dir {data_dir}, log {log_path}) ...", flush=True)
    t_launch = time.monotonic()
    process = subprocess.Popen([str(MAILROBOT), "up"], env=env, cwd=data_dir, stdout=log_handle,
                               stderr=subprocess.STDOUT)
    sampler = TreeSampler(process.pid)
    sampler.start()
    seen: set[int] = set()
    exit_code = 0
    try:
        results["startup"] = {"port_open_s": round(wait_port(smtp_port, 60, process), 2)}
        print(f"  gateway accepts connections after {results['startup']['port_open_s']} s", flush=True)

        if warmup:
            run = run_client(smtp_port, warmup, 1)
            waited = wait_acks(sink, [s.message_id for s in run.ok], 90, "warm-up")
            results["startup"]["warmup_acks"] = f"{sink.arrived([s.message_id for s in run.ok])}/{len(warmup)}"
            results["startup"]["first_acks_after_s"] = round(waited, 2)
            results["startup"]["ready_s"] = round(time.monotonic() - t_launch, 2)
            print(f"  warm-up: {results['startup']['warmup_acks']} acks, stack ready after "
                  f"{results['startup']['ready_s']} s", flush=True)

        # 4. Burst.
        print(f"burst: {len(burst)} messages over {args.sessions} sessions ...", flush=True)
        cpu0, own0 = sampler.cpu_snapshot(), self_cpu()
        run = run_client(smtp_port, burst, args.sessions)
        first, last_250 = run.window()
        accept_rate = len(run.ok) / (last_250 - first)
        print(f"  accepted {len(run.ok)}/{len(burst)} in {last_250 - first:.2f} s = {accept_rate:.1f} msg/s; "
              f"waiting for acks ...", flush=True)
        cpu1 = sampler.cpu_snapshot()
        waited = wait_acks(sink, [s.message_id for s in run.ok], args.ack_timeout, "burst")
        cpu2, own2 = sampler.cpu_snapshot(), self_cpu()
        lat = latency_stats(run, sink)
        last_ack = lat.pop("last_ack")
        e2e = (len(run.ok) - lat["missing_acks"]) / (last_ack - first) if last_ack else None
        gateway_lat = [s.t_250 - s.t_mail for s in run.ok]
        results["burst"] = {
            "sent": len(burst), "accepted": len(run.ok), "rejected": len(run.sent) - len(run.ok),
            "errors": run.errors[:5],
            "rejections": sorted({s.reply[:120] for s in run.sent if s.code != 250})[:5],
            "accept_seconds": round(last_250 - first, 3), "acceptance_rate": round(accept_rate, 1),
            "smtp_transaction_p50_s": _r(pct(gateway_lat, 50)), "smtp_transaction_p99_s": _r(pct(gateway_lat, 99)),
            "end_to_end_seconds": _r(last_ack - first if last_ack else None),
            "end_to_end_rate": _r(e2e, 1), "ack_wait_after_last_250_s": round(waited, 2),
            "ack_latency": lat,
            "cpu_s_accepting": cpu_by_name(sampler, cpu0, cpu1),
            "cpu_s_total": cpu_by_name(sampler, cpu0, cpu2),
            "stack_cpu_cores": _r(sum(cpu_by_name(sampler, cpu0, cpu2).values())
                                  / (time.monotonic() - first), 2),
            "bench_process_cpu_s": round(own2 - own0, 2),
        }
        print(f"  end-to-end {results['burst']['end_to_end_rate']} msg/s; ack latency p50 {lat['p50_s']} s, "
              f"p99 {lat['p99_s']} s, missing {lat['missing_acks']}", flush=True)

        # 5. Steady.
        if steady:
            time.sleep(2)
            print(f"steady: {args.rate:g} msg/s for {args.duration:g} s over {steady_sessions} sessions ...",
                  flush=True)
            cpu0, own0 = sampler.cpu_snapshot(), self_cpu()
            run = run_client(smtp_port, steady, steady_sessions, rate=args.rate)
            first, last_250 = run.window()
            waited = wait_acks(sink, [s.message_id for s in run.ok], args.ack_timeout, "steady")
            cpu1, own1 = sampler.cpu_snapshot(), self_cpu()
            lat = latency_stats(run, sink)
            lat.pop("last_ack")
            lag = [s.t_mail - s.scheduled for s in run.sent if not math.isnan(s.t_mail)]
            elapsed = last_250 - first
            results["steady"] = {
                "sent": len(steady), "accepted": len(run.ok), "rejected": len(run.sent) - len(run.ok),
                "errors": run.errors[:5], "seconds": round(elapsed, 2),
                "achieved_rate": round(len(run.ok) / elapsed, 1) if elapsed > 0 else None,
                "send_lag_p99_s": _r(pct(lag, 99)), "send_lag_max_s": _r(max(lag) if lag else None),
                "ack_wait_after_last_250_s": round(waited, 2),
                "ack_latency": lat,
                "cpu_s": cpu_by_name(sampler, cpu0, cpu1),
                "stack_cpu_cores": _r(sum(cpu_by_name(sampler, cpu0, cpu1).values()) / (time.monotonic() - first), 2),
                "bench_process_cpu_s": round(own1 - own0, 2),
            }
            print(f"  ack latency p50 {lat['p50_s']} s, p99 {lat['p99_s']} s, max {lat['max_s']} s, "
                  f"missing {lat['missing_acks']}", flush=True)
    except Exception as error:
        results["failure"] = repr(error)
        print(f"FAILED: {error!r}", file=sys.stderr, flush=True)
        exit_code = 1
    finally:
        sampler.sample()
        sampler.stop_event.set()
        sampler.join()
        seen = set(sampler.procs)
        results["stop"] = stop_stack(process, seen)
        log_handle.close()
        sink_controller.stop()

    mb = 1024
    results["memory"] = {
        "peak_rss_sum_mb": round(sampler.peak_rss_sum_kb / mb, 1),
        "peak_pss_sum_mb": round(sampler.peak_pss_sum_kb / mb, 1),
        "samples": sampler.samples, "interval_s": sampler.interval,
        "per_process": sorted(
            ({"pid": pid, "name": info["name"], "peak_rss_mb": round(info["peak_rss_kb"] / mb, 1),
              "vmhwm_mb": round(info["hwm_kb"] / mb, 1), "cpu_s": round(info["cpu_s"], 1),
              "pss_at_peak_mb": round(sampler.pss_at_peak_kb.get(pid, 0) / mb, 1)}
             for pid, info in sampler.procs.items()), key=lambda row: -row["vmhwm_mb"]),
    }
    results["sink"] = {"received": sink.total, "duplicate_acks": sink.duplicates,
                       "without_in_reply_to": sink.without_reply_to}
    results["database"] = count_db(data_dir / "mailrobot.db")
    results["log"] = {"path": str(log_path.relative_to(ROOT)), **scan_log(log_path)}
    results["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    if args.keep:
        results["data_dir"] = str(data_dir)
    else:
        shutil.rmtree(data_dir, ignore_errors=True)

    if "ceiling" in results and "burst" in results:
        results["acceptance_vs_ceiling_pct"] = round(100 * results["burst"]["acceptance_rate"]
                                                     / results["ceiling"]["rate"], 1)
    results["targets"] = TARGETS
    out = RESULTS_DIR / f"ingest-{stamp}.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print()
    print(markdown(results))
    print(f"\nresults: {out.relative_to(ROOT)}; log: {log_path.relative_to(ROOT)}")
    return exit_code


def markdown(r: dict) -> str:
    def v(value, unit=""):
        return "—" if value is None else f"{value}{unit}"

    def verdict(value, target, higher_is_better, unit=""):
        if value is None:
            return "—"
        gap = target - value if higher_is_better else value - target
        if gap <= 0:
            return "met"
        if unit == " pp":  # a percentage target: the gap is in percentage points
            return f"missed by {gap:.3g} pp"
        return f"missed by {gap:.3g}{unit} ({100 * gap / target:.0f} %)"

    burst, steady, ceiling = r.get("burst", {}), r.get("steady", {}), r.get("ceiling", {})
    blat, slat, mem = burst.get("ack_latency", {}), steady.get("ack_latency", {}), r.get("memory", {})
    p = r["params"]
    alone = r.get("gateway_alone", {})
    alone_pct = (round(100 * alone["rate"] / ceiling["rate"], 1) if alone.get("rate") and ceiling.get("rate")
                 else None)
    rows = [
        ("Ceiling: no-op aiosmtpd acceptance", v(ceiling.get("rate"), " msg/s"), "", ""),
        (f"Burst acceptance ({p['messages']} msgs, {p['sessions']} sessions)", v(burst.get("acceptance_rate"), " msg/s"),
         "", ""),
        ("Acceptance vs ceiling", v(r.get("acceptance_vs_ceiling_pct"), " %"), ">= 50 %",
         verdict(r.get("acceptance_vs_ceiling_pct"), TARGETS["acceptance_vs_ceiling_pct"], True, " pp")),
        ("Gateway alone (`mailrobot smtp`, nothing else running): acceptance, share of the ceiling, CPU a message",
         f"{v(alone.get('rate'), ' msg/s')}, {v(alone_pct, ' %')}, {v(alone.get('gateway_cpu_ms_per_message'), ' ms')}",
         "", ""),
        ("Burst end-to-end (first MAIL → last ack)", v(burst.get("end_to_end_rate"), " msg/s"), ">= 100 msg/s",
         verdict(burst.get("end_to_end_rate"), TARGETS["end_to_end_rate"], True, " msg/s")),
        ("Burst ack latency p50 / p95 / p99 / max",
         f"{v(blat.get('p50_s'))} / {v(blat.get('p95_s'))} / {v(blat.get('p99_s'))} / {v(blat.get('max_s'))} s", "", ""),
        ("Burst acks missing", v(blat.get("missing_acks")), "0", ""),
        (f"Steady ({p['rate']:g} msg/s for {p['duration']:g} s) achieved rate", v(steady.get("achieved_rate"), " msg/s"),
         "", ""),
        ("Steady ack latency p50 / p95 / p99 / max",
         f"{v(slat.get('p50_s'))} / {v(slat.get('p95_s'))} / {v(slat.get('p99_s'))} / {v(slat.get('max_s'))} s",
         "p99 <= 1 s", verdict(slat.get("p99_s"), TARGETS["steady_ack_p99_s"], False, " s")),
        ("Steady acks missing", v(slat.get("missing_acks")), "0", ""),
        ("Peak RSS, sum over the process tree", v(mem.get("peak_rss_sum_mb"), " MB"), "<= 400 MB",
         verdict(mem.get("peak_rss_sum_mb"), TARGETS["peak_rss_mb"], False, " MB")),
        ("Peak PSS, sum over the process tree", v(mem.get("peak_pss_sum_mb"), " MB"), "", ""),
        (f"Stack CPU use, burst / steady (cores; machine has {r['machine']['nproc']})",
         f"{v(burst.get('stack_cpu_cores'))} / {v(steady.get('stack_cpu_cores'))}", "", ""),
    ]
    lines = ["| Figure | Value | Target | Verdict |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += ["", "| Process | VmHWM | Peak sampled RSS | PSS at the peak of the sum | CPU s (whole run) |",
              "|---|---|---|---|---|"]
    lines += [f"| {row['name']} (pid {row['pid']}) | {row['vmhwm_mb']} MB | {row['peak_rss_mb']} MB | "
              f"{row.get('pss_at_peak_mb', '—')} MB | {row['cpu_s']} |"
              for row in mem.get("per_process", [])]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
