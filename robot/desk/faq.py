"""«Найти ответ» (R18): what specialists published (R17), browsed and searched by keyword.

Published answers are a curated few hundred, not the journal: they are read whole and matched in
Python, so a search finds «счётчика» for «счётчик» (Snowball stems, ё as е) on SQLite and
PostgreSQL alike, which SQL's LIKE on SQLite could not (it folds the case of Latin letters only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import snowballstemmer
from sqlalchemy import select
from sqlalchemy.orm import Session

from robot.storage.models import Appeal, Publication

#: The newest publications shown and searched; older ones stay in the database.
LIMIT = 2000
_WORD = re.compile(r"\w+", re.UNICODE)
_STEMMER = snowballstemmer.stemmer("russian")


@dataclass(frozen=True)
class Entry:
    kind: str  # answer | summary
    title: str
    text: str
    at: datetime
    topic: str | None


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def stems(text: str) -> set[str]:
    return {_stem(word) for word in _WORD.findall(text.casefold().replace("ё", "е")) if len(word) > 1}


def search(session: Session, query: str = "", *, kind: str | None = None) -> list[Entry]:
    """Published entries, newest first; with ``query``, those containing every word of it."""
    statement = (select(Publication.kind, Publication.title, Publication.text, Publication.at, Appeal.topic)
                 .join(Appeal, Appeal.id == Publication.appeal_id)
                 .order_by(Publication.at.desc(), Publication.id.desc()).limit(LIMIT))
    if kind is not None:
        statement = statement.where(Publication.kind == kind)
    entries = [Entry(*row) for row in session.execute(statement)]
    wanted = stems(query)
    if not wanted:
        return entries
    return [entry for entry in entries if wanted <= stems(f"{entry.title} {entry.text}")]
