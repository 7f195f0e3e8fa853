"""What the auto-informer says to managers: refusals, list reports, names — from templates/informer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment

from robot.app import Robot
from robot.informer.campaigns import CampaignError, ListReport


def install_filters(env: Environment, tz) -> Environment:
    """The filters the informer's templates use (``moment``: «12.01.2026 10:00» in the company's time)."""
    env.filters.setdefault("moment", lambda value: value.astimezone(tz).strftime("%d.%m.%Y %H:%M")
                           if isinstance(value, datetime) else ("—" if value is None else str(value)))
    return env


def env(robot: Robot) -> Environment:
    return install_filters(robot.templates, robot.settings.tz)


def refusal_text(robot: Robot, error: CampaignError) -> str:
    return env(robot).get_template("informer/refusal.txt.j2").render(code=error.code, p=error.params).strip()


def list_report_text(robot: Robot, report: ListReport, *, paid: bool = False) -> str:
    return env(robot).get_template("informer/list_report.txt.j2").render(report=report, paid=paid)


def names(robot: Robot) -> Any:
    """The macros of templates/informer/_names.j2: names.state("draft") → «черновик»."""
    return env(robot).get_template("informer/_names.j2").module
