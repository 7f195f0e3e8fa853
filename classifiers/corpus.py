"""The team's labelled corpus (classifiers/data/*.jsonl) and its fixed train / held-out split."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
#: Share of the corpus kept out of training and tuning; chosen by a hash of each row's id.
HELDOUT_SHARE = 0.2


@dataclass(frozen=True)
class Example:
    id: str
    subject: str
    text: str
    kind: str
    topic: str | None = None
    scope: str | None = None
    flags: tuple[str, ...] = field(default_factory=tuple)


def read_jsonl(path: Path) -> list[Example]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                rows.append(Example(
                    id=str(row.get("id", f"{path.stem}:{number}")), subject=row.get("subject") or "",
                    text=row["text"], kind=row["kind"], topic=row.get("topic"), scope=row.get("scope"),
                    flags=tuple(row.get("flags") or ()),
                ))
            except (KeyError, TypeError, json.JSONDecodeError) as error:
                raise ValueError(f"{path}:{number}: not a labelled row ({error})") from error
    return rows


def is_heldout(example_id: str) -> bool:
    digest = hashlib.sha256(example_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < HELDOUT_SHARE


def load_corpus(data_dir: Path = DATA) -> tuple[list[Example], list[Example]]:
    """(train, heldout) from every corpus file; the split never changes for a given row id."""
    examples = [ex for path in sorted(data_dir.glob("corpus_*.jsonl")) for ex in read_jsonl(path)]
    train = [ex for ex in examples if not is_heldout(ex.id)]
    heldout = [ex for ex in examples if is_heldout(ex.id)]
    return train, heldout
