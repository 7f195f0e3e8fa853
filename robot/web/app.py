"""The one web application: ``create_app(robot)`` mounts the reception and the desk.

Every asset is served from ``robot/web/static`` (the company's machines have no internet; no CDN);
every page is a Jinja2 template under ``templates/web`` (Russian texts).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import select_autoescape

from robot.app import Robot
from robot.templating import ru_date
from robot.web import desk, informer, reception

STATIC = Path(__file__).resolve().parent / "static"


def make_templates(robot: Robot) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(robot.settings.templates_dir / "web"))
    # Starlette autoescapes only .html/.htm/.xml names; ours end in .html.j2, which must escape too.
    templates.env.autoescape = select_autoescape(("html", "htm", "xml", "html.j2", "svg.j2"), default_for_string=True)
    templates.env.filters["ru_date"] = lambda value: ru_date(value, robot.settings.tz)
    return templates


def create_app(robot: Robot) -> FastAPI:
    # The JSON API documents itself at /api/openapi.json (robot.web.api); the desk and the forms are pages.
    app = FastAPI(title="mailrobot", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.robot = robot
    app.state.templates = make_templates(robot)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    # The reception (public forms, status page, /api/...) and the desk (/desk/...) add their
    # routers here, each from its own module.
    reception.install(app)
    desk.install(app)
    informer.install(app)  # the auto-informer: /informer/confirm/… and /desk/campaigns
    return app
