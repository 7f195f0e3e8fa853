"""Flag detectors: the Standard's reasons not to act on an appeal (R7) or not to consider it (R8).

R7: no action is taken on an appeal -- and the customer is told so -- when its text contains
obscene or abusive words (``obscene``), threats to the life, health or property of staff or their
families (``threat``), or when the text cannot be read (``unreadable``).
R8: an appeal without contact details is registered but not considered (``no_contact``).

Public API::

    detect_flags(subject, text) -> list[str]   # sorted subset of FLAGS

    is_obscene(text) -> bool       find_obscene(text) -> list[tuple[str, str]]
    is_threat(text) -> bool        find_threats(text) -> list[str]
    is_unreadable(text) -> bool    unreadable_reason(text) -> str | None
    fix_layout(text) -> str | None # "ytn cdtnf" -> "нет света"
    has_contact(text) -> bool      find_contacts(text) -> list[tuple[str, str]]

The ``find_*`` / ``*_reason`` functions say what matched, for debugging and for the operator.

A leaf package like its parent: it imports nothing from ``robot`` or ``workers``.  It needs
``pymorphy3`` and ``pymorphy3-dicts-ru``.
"""

from __future__ import annotations

from functools import lru_cache

FLAGS = ("no_contact", "obscene", "threat", "unreadable")


@lru_cache(maxsize=1)
def morph_analyzer():  # -> pymorphy3.MorphAnalyzer
    """The one pymorphy3 analyser every detector shares (loading it takes ~0.15 s)."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


# The detectors import ``morph_analyzer`` from this package, so they come after it.
from classifiers.detectors.contacts import find_contacts, has_contact  # noqa: E402
from classifiers.detectors.obscene import find_obscene, is_obscene  # noqa: E402
from classifiers.detectors.threat import find_threats, is_threat  # noqa: E402
from classifiers.detectors.unreadable import (  # noqa: E402
    fix_layout,
    is_unreadable,
    unreadable_reason,
)


def detect_flags(subject: str, text: str) -> list[str]:
    """The Standard's flags for one appeal: a sorted subset of :data:`FLAGS`.

    * ``unreadable`` is decided on the body; an empty body falls back to the subject (an e-mail
      whose whole appeal is its subject line can be read).  A body typed in the wrong keyboard
      layout is converted (:func:`fix_layout`) and then counts as readable.
    * ``obscene`` and ``threat`` look at the subject and the body (and the converted body).
    * ``no_contact`` is raised when neither subject nor body holds a name, phone, postal address
      or personal account number (an e-mail address alone is not a contact, R8).
    """
    subject = subject or ""
    text = text or ""
    body = text if text.strip() else subject
    flags: set[str] = set()
    if is_unreadable(body):
        flags.add("unreadable")
    fixed = fix_layout(text)
    parts = [subject, text] + ([fixed] if fixed else [])
    if any(is_obscene(part) for part in parts if part):
        flags.add("obscene")
    if any(is_threat(part) for part in parts if part):
        flags.add("threat")
    if not has_contact("\n".join(parts)):
        flags.add("no_contact")
    return sorted(flags)


__all__ = [
    "FLAGS",
    "detect_flags",
    "find_contacts",
    "find_obscene",
    "find_threats",
    "fix_layout",
    "has_contact",
    "is_obscene",
    "is_threat",
    "is_unreadable",
    "morph_analyzer",
    "unreadable_reason",
]
