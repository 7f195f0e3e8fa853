"""Write corpus_e.jsonl … corpus_m.jsonl from the team's hand-written cores (corpus_?_cores_*.txt).

    .venv/bin/python classifiers/data/sources/write_corpus.py

Each core is one appeal the team wrote and labelled (kind, topic, scope in its section header).
It is used exactly once; what wraps it (addressee, greeting, a self-introduction, a closing, a
signature, or nothing at all) is drawn at random *independently of the label*, so that the
wrapping carries no information about kind or scope. Corpora A–D have short out-of-scope mail and
long in-scope mail; here both are long and formal as often as they are terse.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from classifiers.augment import (
    ADDRESSEES,
    CLOSINGS,
    GREETINGS,
    INITIALS,
    INTRODUCTIONS,
    STREETS,
    SURNAMES,
)
from classifiers.detectors import detect_flags


def _name(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(INITIALS)}"


def _address(rng: random.Random) -> str:
    return f"г. Омск, {rng.choice(STREETS)}, д. {rng.randint(1, 120)}"


def _phone(rng: random.Random) -> str:
    return f"+7 9{rng.randint(10, 99)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"


def wrap(core: str, rng: random.Random) -> tuple[str, str]:
    """(text, style): the core in a wrapping drawn without looking at its labels."""
    style = rng.choices(["portal", "email", "official", "short"], weights=[3, 4, 3, 1])[0]
    name, address = _name(rng), _address(rng)
    if style == "portal":
        text = core if rng.random() < 0.6 else f"{core} {name}"
        if rng.random() < 0.3:
            text = text.lower().replace(".", "").replace(",", "")
        return text, "portal"
    if style == "short":
        # The opening sentences only (at least 80 characters: greetings and «с.» are not a text).
        kept = ""
        for sentence in re.split(r"(?<=[.!?])\s+", core):
            kept = f"{kept} {sentence}".strip()
            if len(kept) >= 80:
                break
        return kept, "short"
    parts = []
    if style == "official":
        parts.append(f"{rng.choice(ADDRESSEES)}\nот {name}\n{address}, тел. {_phone(rng)}\n\nОбращение")
    else:
        parts.append(rng.choice(GREETINGS))
    if rng.random() < 0.5:
        parts.append(rng.choice(INTRODUCTIONS).format(name=name, address=address) + " " + core)
    else:
        parts.append(core)
    signature = rng.choice(CLOSINGS)
    if style == "email":
        signature += f"\n{name}" + (f"\nтел. {_phone(rng)}" if rng.random() < 0.6 else "")
    else:
        signature += f"\n{name}\n{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.2025"
    parts.append(signature)
    return "\n\n".join(parts), style


def read_cores(path: Path) -> list[tuple[str, str, str, str]]:
    cores, labels = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            scope, kind, topic = line[3:].split()
            labels = (scope, kind, topic)
        elif line.strip():
            cores.append((*labels, line.strip()))
    return cores


def write(letter: str, seed: int) -> None:
    rng = random.Random(seed)
    cores = read_cores(HERE / f"corpus_{letter}_cores_out.txt") + read_cores(HERE / f"corpus_{letter}_cores_in.txt")
    out = ROOT / "classifiers" / "data" / f"corpus_{letter}.jsonl"
    with out.open("w", encoding="utf-8") as handle:
        for number, (scope, kind, topic, core) in enumerate(cores, 1):
            text, style = wrap(core, rng)
            flags = [f for f in detect_flags("", text) if f == "no_contact"]
            row = {"id": f"{letter}{number:04d}", "subject": "", "text": text, "kind": kind, "topic": topic,
                   "scope": scope, "style": style, "flags": flags}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{out.relative_to(ROOT)}: {len(cores)} rows")


def main() -> None:
    write("e", 20261129)
    write("f", 20261130)
    write("g", 20261131)
    write("h", 20261201)
    write("i", 20261202)
    write("j", 20261203)
    write("k", 20261204)
    write("l", 20261205)
    write("m", 20261206)


if __name__ == "__main__":
    main()
