"""Pre-recorded sound files in a phone message (issue 9: "playing sound files").

A phone scenario's body places a recording between spoken parts with a marker on its own:

    body: |
      [[sound:jingle.wav]]
      Здравствуйте, {{ name }}! Задолженность {{ amount | say_rub }}.
      [[sound:outro.wav]]

The name is a file in the sounds directory (``MAILROBOT_PHONE_SOUNDS_DIR``; unset: ``phone/sounds``
in the data dir), a sub-folder allowed (``jingles/short.wav``), never an absolute path or ``..``:
the scenario check refuses those with the line. The body is split at the markers *before* Jinja
renders it, so a recipient's variable can never name a file; a marker therefore stands outside
``{% if %}``/``{% for %}`` blocks. Any format sox reads is converted to the line's 8 kHz 16-bit mono
before the parts are joined; the whole message is then checked (R23: at most a minute).

Approval is bound to the files' content: ``campaigns.campaign_hash`` includes each file's sha256
(:func:`digests`), so replacing a recording after approval puts the campaign back to draft.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath

MARKER = re.compile(r"\[\[\s*sound\s*:\s*(?P<name>[^\]\n]*?)\s*\]\]")
#: One path component: letters (any script), digits, space, _ . -; not starting with a dot.
_COMPONENT = re.compile(r"^[^\W][\w .\-]*$")

_directory: Callable[[], Path] | None = None


def locate(directory: Callable[[], Path]) -> None:
    """Where this process's sounds live; a ``Robot`` registers its settings' folder here when it is
    made (the approval hash is computed in places that are handed a campaign, not the settings)."""
    global _directory
    _directory = directory


def directory() -> Path:
    if _directory is None:
        raise RuntimeError("the phone sounds directory is not known: make the Robot first")
    return _directory()


def split_body(body: str) -> list[tuple[str, str]]:
    """The body as parts in order: ``("text", template source)`` and ``("sound", name)``."""
    parts: list[tuple[str, str]] = []
    position = 0
    for match in MARKER.finditer(body):
        if match.start() > position:
            parts.append(("text", body[position:match.start()]))
        parts.append(("sound", match.group("name")))
        position = match.end()
    if position < len(body):
        parts.append(("text", body[position:]))
    return parts


def sound_names(body: str) -> list[str]:
    """The files a body plays, each once, in order of first use."""
    return list(dict.fromkeys(m.group("name") for m in MARKER.finditer(body)))


def name_problem(name: str) -> str | None:
    """Why ``name`` may not name a sound file (in English, for the scenario check), or None."""
    if not name:
        return "[[sound:]] names no file"
    if name.startswith("/") or name.startswith("~") or re.match(r"^[A-Za-z]:", name) or "\\" in name:
        return f"[[sound:{name}]]: an absolute path is not allowed; name a file in the sounds directory"
    parts = PurePosixPath(name).parts
    if ".." in name.split("/"):
        return f"[[sound:{name}]]: '..' would leave the sounds directory"
    if any(not _COMPONENT.match(part) for part in parts) or name.endswith("/"):
        return (f"[[sound:{name}]]: a file name of letters, digits, space, _ . - "
                "(sub-folders with /), not starting with a dot")
    return None


def resolve(name: str, base: Path | None = None) -> Path:
    """The file ``name`` names inside the sounds directory. CampaignError ``phone_sound_name`` for a
    name that would leave it (also through a symbolic link), ``phone_sound_missing`` for no file."""
    from robot.informer.campaigns import CampaignError

    problem = name_problem(name)
    if problem is not None:
        raise CampaignError("phone_sound_name", name=name, problem=problem)
    root = (base or directory()).resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise CampaignError("phone_sound_name", name=name, problem="the file lies outside the sounds directory")
    if not path.is_file():
        raise CampaignError("phone_sound_missing", name=name, directory=str(root))
    return path


def digests(body: str, base: Path | None = None) -> dict[str, str]:
    """Each named file's sha256 (``missing`` or ``refused`` where there is none to read): the part of
    the approval hash that changes when a recording is replaced."""
    from robot.informer.campaigns import CampaignError

    found: dict[str, str] = {}
    for name in sound_names(body):
        try:
            path = resolve(name, base)
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        except CampaignError as error:
            found[name] = error.code
        except OSError:
            found[name] = "unreadable"
    return found
