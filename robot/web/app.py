"""The one web application: ``create_app(robot)`` mounts the reception and the desk.

Every asset is served from ``robot/web/static`` (the company's machines have no internet; no CDN);
every page is a Jinja2 template under ``templates/web`` (Russian texts).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from robot.app import Robot
from robot.templating import ru_date

STATIC = Path(__file__).resolve().parent / "static"


def make_templates(robot: Robot) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(robot.settings.templates_dir / "web"))
    templates.env.filters["ru_date"] = lambda value: ru_date(value, robot.settings.tz)
    return templates


def create_app(robot: Robot) -> FastAPI:
    app = FastAPI(title="mailrobot", docs_url=None, redoc_url=None)
    app.state.robot = robot
    app.state.templates = make_templates(robot)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    # The reception (public forms, status page, /api/...) and the desk (/desk/...) add their
    # routers here, each from its own module.
    return app
