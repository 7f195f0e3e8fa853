"""Fixtures for the web app: the real app served by uvicorn on loopback, and a real headless Chromium.

Registered from tests/conftest.py (``pytest_plugins``), so any test module may ask for
``web_server`` (the base URL), ``http`` (an httpx client on it, cookies kept) or ``page`` (a fresh
Chromium page). The browser is the Debian ``chromium`` package (`make test` installs it);
Playwright never downloads one.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from typing import Self

import httpx
import pytest
import uvicorn

from robot.app import Robot
from robot.web.app import create_app

#: Flags that keep Chromium off the network and quiet in a container.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerThread:
    """uvicorn serving ``app`` in a thread of this process (so tests share the robot and its clock)."""

    def __init__(self, app, host: str = "127.0.0.1") -> None:
        self.port = _free_port()
        self.url = f"http://{host}:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, log_level="warning",
                                                    lifespan="off", access_log=False))
        self.thread = threading.Thread(target=self.server.run, name="web-server", daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:  # readiness, not the passing of time
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def web_server(robot: Robot) -> Iterator[str]:
    """The base URL of the whole web app (reception, API, desk) serving ``robot``."""
    with ServerThread(create_app(robot)) as server:
        yield server.url


@pytest.fixture
def http(web_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web_server, follow_redirects=False, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session (the Debian package; never downloaded)."""
    from playwright.sync_api import sync_playwright

    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        pytest.fail("chromium is not installed; `make test` installs it (Debian package chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh page in its own browser context (own cookies), in Russian."""
    context = chromium.new_context(locale="ru-RU")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
