"""The robot a command works with, closed when the command ends.

A command that builds a :class:`~robot.app.Robot` opens database connections; PostgreSQL's driver
warns about (and the server keeps) connections that are dropped without being closed, so every
command closes its robot when it returns, fails or exits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from robot.config import Settings

if TYPE_CHECKING:
    from robot.app import Robot


def open_robot(ctx: typer.Context, settings: Settings | None = None) -> Robot:
    """A robot for the command running in ``ctx``, closed with the command's context."""
    from robot.app import Robot

    robot = Robot(settings or Settings.load())
    ctx.call_on_close(robot.close)
    return robot
