"""The Internet reception's pages (R2, Прил. 3): the four forms, the confirmation and the status page.

POST → validate → store (two commits) → register → 303 to the confirmation page (Post/Redirect/Get:
a reload never sends the form again; a resend of the same form is recognised by its nonce).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import UploadFile

from robot.app import Robot
from robot.desk.faq import search as faq_search
from robot.intake.committer import GroupCommitter
from robot.intake.web import Receipt, current_consent, receive
from robot.storage.models import Appeal
from robot.web.fields import FORM_KINDS, REQUIRED, Submission, Upload, validate
from robot.web.receipt import await_outcome
from robot.web.security import (
    CSRF_COOKIE,
    HONEYPOT_FIELD,
    FormTokens,
    RateLimiter,
    TokenError,
    client_address,
)

log = logging.getLogger("robot.web.reception")

router = APIRouter(include_in_schema=False)

STATUS_FORM = "status"
#: Room for the form's text fields around the files themselves.
_MULTIPART_OVERHEAD = 256 * 1024


def install(app: FastAPI) -> None:
    """Mount the reception's pages and its JSON API on the web app."""
    from robot.web.api import create_api

    app.include_router(router)
    app.mount("/api", create_api(app.state.robot))


# --- helpers shared with the API ------------------------------------------------------------


def robot_of(request: Request) -> Robot:
    return request.app.state.robot


def limiter(robot: Robot) -> RateLimiter:
    return RateLimiter(robot.dispatcher.connection)


def territory_choices(robot: Robot) -> list[tuple[str, str]]:
    """(value, label) of the territories a form offers, from routing_rules.yaml."""
    return robot.router.territory_choices()


def store(request: Request, submission: Submission, *, nonce: str, source: str, client_ip: str | None,
          user_agent: str | None) -> Receipt:
    """Commit the submission and its raw message (the workers register it); raises SQLAlchemyError when
    storage is down."""
    robot = robot_of(request)
    return receive(robot, submission, nonce=nonce, source=source, client_ip=client_ip, user_agent=user_agent,
                   consent=current_consent(robot), committer=_committer(request.app))


_COMMITTER_LOCK = threading.Lock()


def _committer(app: FastAPI) -> GroupCommitter:
    """The app's group committer, started with the first submission."""
    with _COMMITTER_LOCK:
        committer = getattr(app.state, "web_committer", None)
        if committer is None:
            committer = app.state.web_committer = GroupCommitter(app.state.robot)
        return committer


def attachment_limits(robot: Robot) -> dict[str, Any]:
    settings = robot.settings
    types = [t if t.startswith(".") else f".{t}" for t in settings.web_attachment_types]
    return {"max_files": settings.web_attachment_max_count,
            "max_mb": round(settings.web_attachment_max_bytes / (1024 * 1024), 1),
            "allowed_types": ", ".join(t.lstrip(".") for t in types), "accept_types": ",".join(types)}


# --- pages ------------------------------------------------------------------------------------


def _render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    robot = robot_of(request)
    response = request.app.state.templates.TemplateResponse(request, name, attachment_limits(robot) | context,
                                                            status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def _cookie(request: Request) -> tuple[str, bool]:
    """The browser's CSRF cookie, or a new one (then True: it must be set on the response)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 16 <= len(existing) <= 64:
        return existing, False
    return FormTokens.new_cookie(), True


def _with_cookie(request: Request, response: Response, cookie: str, fresh: bool) -> Response:
    if fresh:
        response.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="lax", secure=request.url.scheme == "https",
                            path="/")
    return response


def _tokens(robot: Robot) -> FormTokens:
    return FormTokens(robot.signing_key)


def _form_page(request: Request, form: str, *, values: dict[str, Any] | None = None,
               errors: dict[str, str] | None = None, general_error: str | None = None, had_files: bool = False,
               status_code: int = 200) -> Response:
    robot = robot_of(request)
    cookie, fresh = _cookie(request)
    token = _tokens(robot).issue(form, cookie, robot.clock.now())
    context = {"form": form, "token": token, "values": _Values(values or {}), "errors": errors or {},
               "general_error": general_error, "had_files": had_files, "required": REQUIRED[form],
               "territories": territory_choices(robot), "honeypot": HONEYPOT_FIELD,
               "consent_text": current_consent(robot).text}
    return _with_cookie(request, _render(request, "reception/form.html.j2", context, status_code), cookie, fresh)


class _Values(dict):
    """Form values for the template: a missing one is empty, never an error."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name, "")


def _not_found(request: Request) -> Response:
    return _render(request, "reception/problem.html.j2", {"problem": "not_found"}, 404)


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    return _render(request, "reception/index.html.j2", {"forms": list(FORM_KINDS)})


@router.get("/faq", response_class=HTMLResponse)
def faq(request: Request, q: str = "") -> Response:
    """«Найти ответ» (R18): published answers and complaint summaries (R17), searchable by keyword."""
    query = q.strip()[:200]
    with robot_of(request).sessions() as session:
        entries = faq_search(session, query)
    return _render(request, "reception/faq.html.j2", {
        "query": query,
        "answers": [e for e in entries if e.kind == "answer"],
        "summaries": [e for e in entries if e.kind == "summary"],
    })


@router.get("/forms/{form}", response_class=HTMLResponse)
def show_form(request: Request, form: str) -> Response:
    if form not in FORM_KINDS:
        return _not_found(request)
    return _form_page(request, form)


@router.post("/forms/{form}", response_class=HTMLResponse)
async def submit_form(request: Request, form: str) -> Response:
    if form not in FORM_KINDS:
        return _not_found(request)
    robot = robot_of(request)
    settings = robot.settings
    limit = settings.web_attachment_max_bytes * settings.web_attachment_max_count + _MULTIPART_OVERHEAD
    if int(request.headers.get("content-length") or 0) > limit:
        return _render(request, "reception/problem.html.j2", {"problem": "too_large"}, 413)
    data = await request.form(max_files=settings.web_attachment_max_count + 1, max_fields=50)
    values = {key: value for key, value in data.items() if isinstance(value, str)}
    uploads = [Upload(item.filename or "file", item.content_type or "", await item.read())
               for item in data.getlist("attachments") if isinstance(item, UploadFile) and item.filename]
    await data.close()
    values["consent"] = values.get("consent") == "yes"
    ip = client_address(request, settings.web_trusted_proxies)
    now = robot.clock.now()

    try:
        token = _tokens(robot).check(values.get("token", ""), form=form, cookie=request.cookies.get(CSRF_COOKIE),
                                     now=now, min_fill_s=settings.web_min_fill_s)
    except TokenError as error:
        log.info("form %s refused: %s", form, error.code)
        return _form_page(request, form, values=values, general_error=error.code, had_files=bool(uploads),
                          status_code=400)
    if values.get(HONEYPOT_FIELD):
        log.info("form %s refused: honeypot filled", form)
        return _form_page(request, form, values=values, general_error="spam", status_code=400)

    submission, errors = validate(form, values, uploads, consent=bool(values["consent"]), settings=settings,
                                  territories=[value for value, _ in territory_choices(robot)])
    if submission is None:
        return _form_page(request, form, values=values, errors=errors, had_files=bool(uploads), status_code=422)
    if not await run_in_threadpool(limiter(robot).hit, "submit", ip, limit=settings.web_submit_limit,
                                   window_s=settings.web_limit_window_s, now=now):
        return _render(request, "reception/problem.html.j2", {"problem": "limit"}, 429)
    try:
        receipt = await run_in_threadpool(store, request, submission, nonce=token.nonce, source="form", client_ip=ip,
                                          user_agent=request.headers.get("user-agent"))
    except SQLAlchemyError:
        # Nothing was promised: the customer is told to send again (the nonce makes that safe).
        log.exception("web submission not stored")
        return _render(request, "reception/problem.html.j2", {"problem": "unavailable"}, 503)
    return RedirectResponse(f"/done/{receipt.token}", status_code=303)


@router.get("/done/{token}", response_class=HTMLResponse)
async def done(request: Request, token: str) -> Response:
    robot = robot_of(request)
    found = await await_outcome(robot, token, robot.settings.web_confirmation_wait_s) if len(token) <= 64 else None
    if found is None:
        return _not_found(request)
    return _render(request, "reception/done.html.j2", {"outcome": found})


# --- status page (R2 item 3) -------------------------------------------------------------------


def _status_page(request: Request, *, values: dict[str, Any] | None = None, looked_up: bool = False,
                 found: Any = None, general_error: str | None = None, status_code: int = 200) -> Response:
    robot = robot_of(request)
    cookie, fresh = _cookie(request)
    token = _tokens(robot).issue(STATUS_FORM, cookie, robot.clock.now())
    context = {"token": token, "values": _Values(values or {}), "looked_up": looked_up, "found": found,
               "general_error": general_error}
    return _with_cookie(request, _render(request, "reception/status.html.j2", context, status_code), cookie,
                        fresh)


def find_appeal(robot: Robot, number: str, email: str) -> Any:
    """The appeal's status and due date when number and e-mail belong together; None otherwise.

    One query either way, and the same answer for an unknown number and a wrong e-mail: the
    page must not tell which numbers exist.
    """
    number, email = number.strip(), email.strip().lower()
    if not number or not email or len(number) > 32 or len(email) > 254:
        return None
    with robot.sessions() as session:
        return session.execute(
            select(Appeal.number, Appeal.status, Appeal.due_at)
            .where(Appeal.number == number, func.lower(Appeal.customer_email) == email)
        ).first()


@router.get("/status", response_class=HTMLResponse)
def status_form(request: Request) -> Response:
    return _status_page(request)


@router.post("/status", response_class=HTMLResponse)
async def status_lookup(request: Request) -> Response:
    robot = robot_of(request)
    settings = robot.settings
    data = await request.form(max_files=0, max_fields=10)
    values = {key: value for key, value in data.items() if isinstance(value, str)}
    now = robot.clock.now()
    try:
        _tokens(robot).check(values.get("token", ""), form=STATUS_FORM, cookie=request.cookies.get(CSRF_COOKIE),
                             now=now, min_fill_s=0)
    except TokenError as error:
        return _status_page(request, values=values, general_error=error.code, status_code=400)
    ip = client_address(request, settings.web_trusted_proxies)
    if not await run_in_threadpool(limiter(robot).hit, "status", ip, limit=settings.web_status_limit,
                                   window_s=settings.web_limit_window_s, now=now):
        return _render(request, "reception/problem.html.j2", {"problem": "limit"}, 429)
    found = await run_in_threadpool(find_appeal, robot, values.get("number", ""), values.get("email", ""))
    return _status_page(request, values=values, looked_up=True, found=found)
