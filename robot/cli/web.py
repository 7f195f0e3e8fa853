"""`mailrobot web`: the web app alone — the Internet reception, its JSON API and the desk."""

from __future__ import annotations

import logging


def web() -> None:
    """Run the web app (Internet reception, JSON API, desk) on MAILROBOT_WEB_HOST:MAILROBOT_WEB_PORT."""
    import uvicorn

    from robot.app import Robot
    from robot.cli.main import _logging
    from robot.config import Settings
    from robot.web.app import create_app

    _logging()
    settings = Settings.load()
    robot = Robot(settings)
    # The forms offer the rules' territories: load them now, not on the first customer. The
    # classifier is not loaded here at all: the workers register submissions (robot/web/receipt.py).
    robot.router.territory_choices()
    logging.getLogger("robot.web").info("web app on http://%s:%s", settings.web_host, settings.web_port)
    try:
        # log_config=None: uvicorn logs through the process's logging, like every other part.
        uvicorn.run(create_app(robot), host=settings.web_host, port=settings.web_port, log_config=None,
                    access_log=False, proxy_headers=False, server_header=False)
    finally:
        robot.close()
