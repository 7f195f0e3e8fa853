"""The parts `mailrobot up` runs as children, forked from one fork server that imported them once.

Each part (smtp, web, worker, imap, …) is `mailrobot <part>`, so that it runs alone on another
machine just the same. Started as fresh interpreters, every child would import its own copy of
what they all use — SQLAlchemy, pydantic, Redis and RQ, the holidays calendar, the robot's models —
about 50 MB each. `mailrobot up` starts them through a multiprocessing fork server instead: the
server imports this module (and with it those libraries) once, and forks each child from itself,
so the children share those pages copy-on-write. ``gc.freeze()`` keeps the collector from
writing to (and so copying) every one of those objects in every child.
"""

from __future__ import annotations

import ctypes
import gc
import os

import holidays.countries  # noqa: F401  every country's module: what the production calendar loads
import jinja2  # noqa: F401
import redis  # noqa: F401
import rq  # noqa: F401
import sqlalchemy.orm  # noqa: F401
import yaml  # noqa: F401

import robot.app  # noqa: F401
import robot.cli.main  # noqa: F401
import robot.dispatch  # noqa: F401
import robot.storage.models  # noqa: F401

gc.freeze()


def run_part(part: str) -> None:
    """Run `mailrobot <part>` in this (forked) process; its exit status is the part's."""
    # A session of its own, so that only the supervisor decides when a child stops (a Ctrl-C in
    # the terminal goes to `mailrobot up`, which stops the children in order).
    os.setsid()
    _name(f"mailrobot-{part}")
    robot.cli.main.app([part], prog_name="mailrobot")


def _name(title: str) -> None:
    """The process's name as `top` and `ps -o comm` show it (its command line stays the fork server's)."""
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(15, title.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass
