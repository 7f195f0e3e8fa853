"""Routing benchmark (issue 4): one routing decision with 1,000 rules and 10,000 streets; reload of that file.

    .venv/bin/python bench/routing.py [--rules 1000] [--streets 10000] [--messages 2000]

The file is generated in a temporary directory from the shipped routing_rules.yaml: its branches,
units, queues and places, plus made-up streets spread over Omsk's okrugs up to ``--streets``, and
``--rules`` made-up rules (unit + keywords, regular expressions, sender domains, times of receipt)
placed before the shipped rules, so that a message is tried against every one of them before a
shipped rule places it — the worst case. Targets: <= 2 ms per decision, <= 1 s per reload.
Reload is what a running worker does when the file changes: load and check it, build the table.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from robot.deadlines.calendar import WorkCalendar
from robot.routing import Facts, Router

OMSK = ZoneInfo("Asia/Omsk")
_SYLLABLES = ["ба", "ве", "го", "да", "ле", "ми", "но", "ра", "со", "ти", "ку", "жа", "зо", "пе", "ры", "ша", "ля",
              "вор", "зем", "лин", "пол", "сев", "тар", "хол", "чер", "юр"]


def _street_names(count: int, rng: random.Random) -> list[str]:
    names: set[str] = set()
    while len(names) < count:
        names.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(3, 4))).capitalize() + "ская")
    return sorted(names)


def generate(directory: Path, rules_count: int, streets: int, seed: int = 4) -> tuple[Path, list[str]]:
    rng = random.Random(seed)
    data = yaml.safe_load((ROOT / "routing_rules.yaml").read_text(encoding="utf-8"))
    data.pop("tests", None)
    city = data["regions"][0]
    have = sum(len(d.get("streets", [])) + len(d.get("settlements", [])) for r in data["regions"]
               for d in r["districts"])
    made_up = _street_names(max(0, streets - have), rng)
    for i, name in enumerate(made_up):
        district = city["districts"][i % len(city["districts"])]
        district.setdefault("streets", []).append({"name": f"улица {name}", "aliases": [name, f"ул. {name}"]})
    units = [unit["code"] for unit in data["units"]]
    words = _street_names(rules_count, random.Random(seed + 1))  # keywords no message contains
    extra = []
    for i in range(rules_count):
        unit = rng.choice(units)
        shape = i % 5
        when: dict[str, object]
        if shape == 0:
            when = {"kind": "question", "unit": unit, "keywords": [words[i].lower(), f"{words[i].lower()} опора"]}
        elif shape == 1:
            when = {"unit": unit, "text_matches": rf"\b{words[i].lower()}\w*\s+\d+"}
        elif shape == 2:
            when = {"sender_domain": f"{words[i].lower()}.example", "kind": ["application", "complaint"]}
        elif shape == 3:
            when = {"branch": rng.choice(["ЗЭС", "ВЭС", "СЭС"]), "topic": "compensation",
                    "subject_matches": f"^{words[i].lower()}"}
        else:
            when = {"dates": {"from": "2027-01-01", "to": "2027-01-08"}, "unit": unit}
        extra.append({"name": f"generated rule {i + 1}", "when": when, "then": {"queue": unit, "priority": "high"}})
    data["rules"] = extra + data["rules"]
    path = directory / "routing_rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path, made_up


_TEXTS = [
    "Здравствуйте! Третий день нет света в доме на ул. {street}, {house}. Прошу разобраться. Иванов Пётр",
    "Подскажите, когда закончится плановое отключение на ул. {street}, д. {house}? Тел. 8 913 123-45-67",
    "Прошу подключить дачу к электросетям, участок {house}. Лицевой счёт 31{house:08d}",
    "Когда включат свет в с. Ачаир? Отключили утром без предупреждения.",
    "Прошу заключить договор энергоснабжения на дом по адресу {street} {house}",
    ("Уважаемые сотрудники! Прошу пересчитать плату за электроэнергию, лицевой счёт 11{house:08d}. "
    "Показания счётчика передавал вовремя, а начислено по нормативу."),
]


def messages(count: int, streets: list[str], seed: int = 5) -> list[Facts]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 12, 7, 0, tzinfo=OMSK)
    out = []
    for i in range(count):
        text = rng.choice(_TEXTS).format(street=rng.choice(streets), house=rng.randint(1, 200))
        kind = rng.choice(["question", "application", "complaint"])
        out.append(Facts(subject=rng.choice(["Нет света", "Вопрос", "Заявка", ""]), text=text, kind=kind,
                         topic=rng.choice(["outage", "connection", "billing", "other"]), scope="in", flags=[],
                         status="registered", channel="email", sender=f"customer{i}@mail.example",
                         received_at=start + timedelta(minutes=37 * i)))
    return out


@dataclass
class Timed:
    value: Any
    wall_s: float
    cpu_s: float

    def as_dict(self) -> dict[str, float]:
        return {"wall_s": round(self.wall_s, 3), "cpu_s": round(self.cpu_s, 3)}


def _timed(work: Callable[[], Any]) -> Timed:
    wall, cpu = time.perf_counter(), time.process_time()
    value = work()
    return Timed(value, time.perf_counter() - wall, time.process_time() - cpu)


def _reload(router: Router, path: Path, text: str, stamp: int) -> Timed:
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(10**18 + stamp, 10**18 + stamp))
    before = router.version
    timed = _timed(lambda: router.table)
    assert router.version != before, router.last_error
    return timed


def _summary(runs: list[Timed]) -> dict[str, float]:
    return {"wall_s": round(statistics.median(r.wall_s for r in runs), 3),
            "cpu_s": round(statistics.median(r.cpu_s for r in runs), 3),
            "max_wall_s": round(max(r.wall_s for r in runs), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--streets", type=int, default=10000)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--reloads", type=int, default=5)
    args = parser.parse_args()
    calendar = WorkCalendar(OMSK)
    gc.freeze()  # as `mailrobot worker` does before forking: the loaded code is not the collector's work
    with tempfile.TemporaryDirectory() as tmp:
        path, streets = generate(Path(tmp), args.rules, args.streets)
        size = path.stat().st_size
        cold = _timed(lambda: Router(path, calendar, ROOT / "templates"))
        router = cold.value
        text = path.read_text(encoding="utf-8")
        rules_edits, place_edits = [], []
        for i in range(args.reloads):
            # An admin edits a rule: what a running worker does when the file changes.
            text = text.replace("priority: high", "priority: urgent", 1) if i % 2 == 0 else \
                text.replace("priority: urgent", "priority: high", 1)
            rules_edits.append(_reload(router, path, text, 2 * i))
            # An admin adds a street: the places are indexed again.
            text = re.sub(r"^( *)- name: улица Ленина$", rf"\1- name: улица Новая-{i}\n\g<0>", text, count=1,
                          flags=re.MULTILINE)
            place_edits.append(_reload(router, path, text, 2 * i + 1))
        table = router.table
        rules = table.loaded.rules
        places = sum(len(d.streets) + len(d.settlements) for r in rules.regions for d in r.districts)
        facts = messages(args.messages, streets)
        for item in facts[:50]:
            table.route(item)  # warm the stemmer's cache as a running worker's would be
        latencies, cpu = [], []
        queues: dict[str, int] = {}
        for item in facts:
            began, began_cpu = time.perf_counter(), time.process_time()
            routing = table.route(item)
            cpu.append(time.process_time() - began_cpu)
            latencies.append(time.perf_counter() - began)
            queues[routing.queue] = queues.get(routing.queue, 0) + 1
        trace_len = len(routing.trace)
    latencies.sort()
    cpu.sort()
    result = {
        "benchmark": "routing",
        "at": datetime.now().isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "rules": len(rules.rules),
        "places": places,
        "file_bytes": size,
        "messages": len(facts),
        "trace_entries_per_decision": trace_len,
        "decision_ms": {"mean": round(statistics.fmean(latencies) * 1000, 3),
                        "p50": round(latencies[len(latencies) // 2] * 1000, 3),
                        "p99": round(latencies[int(len(latencies) * 0.99)] * 1000, 3),
                        "max": round(latencies[-1] * 1000, 3)},
        "decision_cpu_ms": {"mean": round(statistics.fmean(cpu) * 1000, 3),
                            "p50": round(cpu[len(cpu) // 2] * 1000, 3),
                            "p99": round(cpu[int(len(cpu) * 0.99)] * 1000, 3)},
        "load_average": os.getloadavg()[0],
        # Wall time on a shared machine is inflated by its other load; CPU time is the process's own.
        "load_cold": cold.as_dict(),
        "reload_after_rule_edit": _summary(rules_edits),
        "reload_after_street_edit": _summary(place_edits),
        "queues": dict(sorted(queues.items(), key=lambda item: -item[1])[:8]),
    }
    out = ROOT / "bench" / "results" / f"routing-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"decision mean {result['decision_ms']['mean']} ms, p99 {result['decision_ms']['p99']} ms wall; "
          f"CPU mean {result['decision_cpu_ms']['mean']} ms, p99 {result['decision_cpu_ms']['p99']} ms (target 2); "
          f"reload after a rule edit {result['reload_after_rule_edit']['wall_s']} s wall, "
          f"{result['reload_after_rule_edit']['cpu_s']} s CPU; after a street edit "
          f"{result['reload_after_street_edit']['wall_s']} s wall, {result['reload_after_street_edit']['cpu_s']} s CPU "
          f"(target 1); cold load {cold.wall_s:.3f} s wall, {cold.cpu_s:.3f} s CPU; {out}")


if __name__ == "__main__":
    main()
