"""Desk logins: signed session cookies, the CSRF token every state-changing request carries, the rate limit.

The session cookie is signed (itsdangerous, keyed by the robot's secret), HttpOnly and
SameSite=Lax, and carries the user's id, a CSRF token and a fingerprint of the password hash, so
a changed password or a deactivated account ends every session at once. Even the login form has
a token (an anonymous session), so no other site can log a browser in under its own account.
Failed logins are audit entries; too many of them for one login or one address in 15 minutes and
the form refuses to try (R26).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import HTMLResponse, Response

from robot.app import Robot
from robot.desk.audit import Actor
from robot.storage.models import User

COOKIE = "mr_desk"
#: Staff pages run no script or style but our own files, and no other site may frame them.
STAFF_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
             "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
LOGIN_WINDOW = timedelta(minutes=15)


class LoginRequired(Exception):
    """No valid session: the desk answers with the login page."""


@dataclass(frozen=True)
class Staff:
    """The logged-in member of staff, as a request sees them."""

    id: int
    login: str
    name: str
    role: str
    queues: tuple[str, ...]
    csrf: str
    ip: str | None

    @property
    def actor(self) -> Actor:
        return Actor(self.login, self.name, self.ip)


def _fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


class SessionCookies:
    def __init__(self, robot: Robot) -> None:
        self.robot = robot
        self._serializer = URLSafeTimedSerializer(robot.signing_key, salt="mailrobot.desk.session")
        self.max_age_s = int(robot.settings.desk_session_hours * 3600)

    def read(self, request: Request) -> dict | None:
        value = request.cookies.get(COOKIE)
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=self.max_age_s)
        except BadSignature:
            return None
        return data if isinstance(data, dict) and isinstance(data.get("c"), str) else None

    def write(self, response: Response, request: Request, data: dict) -> None:
        response.set_cookie(COOKIE, self._serializer.dumps(data), max_age=self.max_age_s, path="/desk",
                            httponly=True, samesite="lax", secure=request.url.scheme == "https")

    def anonymous(self) -> dict:
        return {"c": secrets.token_urlsafe(24)}

    def for_user(self, user: User) -> dict:
        # A fresh token at login: a token seen before the login is worth nothing after it.
        return {"c": secrets.token_urlsafe(24), "u": user.id, "p": _fingerprint(user.password_hash)}

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/desk")


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def current_staff(request: Request) -> Staff:
    """The logged-in user, or LoginRequired."""
    cookies: SessionCookies = request.app.state.desk_sessions
    data = cookies.read(request)
    if not data or "u" not in data:
        raise LoginRequired()
    robot: Robot = request.app.state.robot
    with robot.sessions() as session:
        user = session.get(User, data["u"])
        if user is None or not user.active or _fingerprint(user.password_hash) != data.get("p"):
            raise LoginRequired()
        return Staff(user.id, user.login, user.name or user.login, user.role, tuple(user.queues or ()),
                     data["c"], client_ip(request))


def check_csrf(expected: str | None, given: str | None) -> None:
    if not expected or not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise HTTPException(status_code=403, detail="csrf")


async def staff_posting(request: Request) -> Staff:
    """For every state-changing request: the logged-in user, whose form carries their CSRF token."""
    staff = current_staff(request)
    form = await request.form()
    given = form.get("csrf") or request.headers.get("x-csrf-token")
    check_csrf(staff.csrf, given if isinstance(given, str) else None)
    return staff


def harden(response: Response) -> None:
    """Headers of every staff page: a strict CSP, no sniffing, no referrer, no caching of personal data."""
    response.headers["Content-Security-Policy"] = STAFF_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"


def staff_page(request: Request, template: str, context: dict[str, Any], *, status: int = 200,
               staff: Staff | None = None) -> HTMLResponse:
    """A staff page (desk, campaigns): ``template`` with the member and their CSRF token, hardened."""
    response = request.app.state.templates.TemplateResponse(
        request, template, {"staff": staff, "csrf": staff.csrf if staff else None, **context}, status_code=status)
    harden(response)
    return response
