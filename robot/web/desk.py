"""The specialists' desk under ``/desk``: queues, appeals and their actions, journal, operator entry,
dashboard, audit. Pages are server-rendered (templates/web/desk/*.html.j2); the work is done by
``robot.desk``; this module checks who may do what and turns forms into calls.

Every POST carries the session's CSRF token; every view of an appeal's personal data and every
change leaves an audit entry (R26). An appeal outside the user's queues is refused the same way
as one that does not exist, so the desk never confirms what a user may not see.
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import nh3
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select

from classifiers import KINDS, TOPICS
from robot.app import Robot
from robot.desk import actions, audit, canned, journal, operator, queues, stats
from robot.desk.actions import DeskError, NoSuchAppeal
from robot.desk.letters import Upload
from robot.staff import QueueDirectory, authenticate, can_see, visible_queues
from robot.storage.models import (
    Appeal,
    Attachment,
    Message,
    OutboundMail,
    Publication,
    User,
)
from robot.web.auth import (
    LOGIN_WINDOW,
    LoginRequired,
    SessionCookies,
    Staff,
    check_csrf,
    client_ip,
    current_staff,
    harden,
    staff_page,
    staff_posting,
)

router = APIRouter(prefix="/desk")
LoggedIn = Annotated[Staff, Depends(current_staff)]
#: Every state-changing request: logged in, and the form carries the session's CSRF token.
Posting = Annotated[Staff, Depends(staff_posting)]

#: What the desk lets through of a customer's HTML: structure and emphasis, links; no images
#: (remote ones track the reader), no styles, no scripts, no forms.
_HTML_TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "dd", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4",
              "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup", "table",
              "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"}
_HTML_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
#: Content Security Policy of every desk page: nothing from elsewhere, no inline script or style.
_MAX_UPLOAD = 10 * 1024 * 1024
CHANNELS = ("email", "imap", "web", "phone", "post", "in_person")
STATUSES = ("registered", "triage", "awaiting_customer", "answered", "closed", "no_action", "not_considered")


def install(app: FastAPI) -> None:
    """Mount the desk on ``app`` (create_app calls this)."""
    robot: Robot = app.state.robot
    app.state.desk_sessions = SessionCookies(robot)
    app.state.desk_queues = QueueDirectory(robot.settings.routing_rules)
    env = app.state.templates.env
    tz = robot.settings.tz
    env.filters["desk_time"] = lambda value: value.astimezone(tz).strftime("%d.%m.%Y %H:%M") if value else "—"
    env.filters["desk_date"] = lambda value: value.astimezone(tz).strftime("%d.%m.%Y") if value else "—"
    app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/desk/login?{urlencode({'next': target})}", status_code=303)


# --- helpers ---------------------------------------------------------------------------------


def _robot(request: Request) -> Robot:
    return request.app.state.robot


def _directory(request: Request) -> QueueDirectory:
    return request.app.state.desk_queues


def _render(request: Request, template: str, context: dict[str, Any], *, status: int = 200,
            staff: Staff | None = None) -> HTMLResponse:
    return staff_page(request, f"desk/{template}.html.j2", context, status=status, staff=staff)


def _back(number: str, **query: str) -> RedirectResponse:
    return RedirectResponse(f"/desk/appeal/{quote(number)}?{urlencode(query)}#result", status_code=303)


def _visible(request: Request, staff: Staff) -> set[str] | None:
    return visible_queues(_user_like(staff), _directory(request))


def _user_like(staff: Staff) -> User:
    return User(login=staff.login, role=staff.role, queues=list(staff.queues))


def _require_role(staff: Staff, *roles: str) -> None:
    if staff.role not in roles:
        raise HTTPException(status_code=403, detail="role")


def _appeal_for(request: Request, staff: Staff, session, number: str) -> Appeal:
    """The appeal, if this user may see it; 404 otherwise (and the refusal is audited)."""
    try:
        appeal = actions.load(session, number)
    except NoSuchAppeal:
        raise HTTPException(status_code=404) from None
    if not can_see(_user_like(staff), appeal, _directory(request)):
        robot = _robot(request)
        with robot.unit_of_work() as writer:
            audit.record(writer, staff.actor, "access_denied", at=robot.clock.now(), appeal_id=appeal.id,
                         target=number)
        raise HTTPException(status_code=404)
    return appeal


def _check_appeal(request: Request, staff: Staff, number: str) -> None:
    with _robot(request).sessions() as session:
        _appeal_for(request, staff, session, number)


def _safe_html(html: str | None) -> Markup | None:
    if not html:
        return None
    cleaned = nh3.clean(html, tags=_HTML_TAGS, attributes=_HTML_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                        link_rel="noopener noreferrer nofollow", strip_comments=True,
                        clean_content_tags={"script", "style", "title", "head"})
    return Markup(cleaned)


def _form_text(form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# --- login -------------------------------------------------------------------------------------


@router.get("", include_in_schema=False)
@router.get("/", include_in_schema=False)
def home() -> Response:
    return RedirectResponse("/desk/queue", status_code=303)


def _safe_next(value: str | None) -> str:
    # Only a path of the desk itself: never an open redirect to another site.
    if value and value.startswith("/desk") and not value.startswith("//"):
        return value
    return "/desk/queue"


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    cookies: SessionCookies = request.app.state.desk_sessions
    data = cookies.read(request) or cookies.anonymous()
    response = _render(request, "login", {"csrf": data["c"], "next": _safe_next(next), "error": None})
    cookies.write(response, request, data)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    robot = _robot(request)
    cookies: SessionCookies = request.app.state.desk_sessions
    data = cookies.read(request)
    form = await request.form()
    check_csrf(data["c"] if data else None, _form_text(form, "csrf"))
    login_name = _form_text(form, "login").strip()[:128]
    password = _form_text(form, "password")
    next_url = _safe_next(_form_text(form, "next"))
    now = robot.clock.now()
    ip = client_ip(request)
    with robot.unit_of_work() as session:
        failures = audit.failed_logins(session, login=login_name, ip=ip, since=now - LOGIN_WINDOW)
        if failures >= robot.settings.desk_login_attempts:
            audit.record(session, audit.Actor("-", ip=ip), "login_refused", at=now, target=login_name)
            user = None
            error, status = "too_many", 429
        else:
            user = authenticate(session, login_name, password)
            error, status = (None, 200) if user else ("wrong", 401)
            audit.record(session, audit.Actor(user.login if user else "-", ip=ip),
                         "login" if user else "login_failed", at=now, target=login_name)
        fresh = cookies.for_user(user) if user else None
    if fresh is None:
        response = _render(request, "login", {"csrf": data["c"] if data else "", "next": next_url, "error": error,
                                              "login": login_name}, status=status)
        return response
    response = RedirectResponse(next_url, status_code=303)
    cookies.write(response, request, fresh)
    return response


@router.post("/logout")
def logout(request: Request, staff: Posting) -> Response:
    robot = _robot(request)
    with robot.unit_of_work() as session:
        audit.record(session, staff.actor, "logout", at=robot.clock.now(), target=staff.login)
    response = RedirectResponse("/desk/login", status_code=303)
    request.app.state.desk_sessions.clear(response)
    return response


# --- queues ------------------------------------------------------------------------------------


@router.get("/queue")
def queue_page(request: Request, staff: LoggedIn, queue: str | None = None,
               kind: str | None = None, topic: str | None = None, territory: str | None = None,
               status: str | None = None, channel: str | None = None, q: str | None = None,
               page: int = 1) -> Response:
    robot = _robot(request)
    now = robot.clock.now()
    mine = _visible(request, staff)
    filters = queues.Filters(queue=queue or None, kind=kind or None, topic=topic or None,
                             territory=territory or None, status=status or None, channel=channel or None,
                             search=(q or "").strip()[:200] or None, page=max(page, 1))
    with robot.sessions() as session:
        found = queues.page(session, mine, filters, now)
    with robot.unit_of_work() as session:
        # The list shows customers' names: who looked at which list is part of R26's log.
        audit.record(session, staff.actor, "queue_viewed", at=now, target=queue or "*",
                     detail={k: v for k, v in filters.__dict__.items() if v not in (None, "", 1)})
    directory = _directory(request)
    pages = (found.total + queues.PAGE_SIZE - 1) // queues.PAGE_SIZE
    return _render(request, "queue", {
        "found": found, "filters": filters, "now": now, "is_overdue": queues.is_overdue,
        "queue_title": directory.title, "kinds": KINDS, "topics": TOPICS, "channels": CHANNELS,
        "statuses": STATUSES, "pages": pages, "query": filters.as_query(),
    }, staff=staff)


# --- the appeal --------------------------------------------------------------------------------


@router.get("/appeal/{number}")
def appeal_page(request: Request, number: str, staff: LoggedIn, canned_name: str | None = None,
                done: str | None = None, error: str | None = None) -> Response:
    robot = _robot(request)
    now = robot.clock.now()
    directory = _directory(request)
    canned_name = request.query_params.get("canned") or canned_name
    with robot.sessions() as session:
        appeal = _appeal_for(request, staff, session, number)
        delivery = {m.id: m for m in session.scalars(select(OutboundMail).where(OutboundMail.appeal_id == appeal.id))}
        publications = list(session.scalars(select(Publication).where(Publication.appeal_id == appeal.id)
                                            .order_by(Publication.id)))
        users = list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.login)))
        messages = [{"message": m, "html": _safe_html(m.html) if m.direction == "in" else None,
                     "delivery": delivery.get(m.outbound_id)} for m in appeal.messages]
        draft = ""
        if canned_name:
            try:
                draft = canned.render(robot, canned_name, appeal, author=staff.name)
            except KeyError:
                error = "no_canned"
        page = _render(request, "appeal", {
            "appeal": appeal, "messages": messages, "events": list(reversed(appeal.events)),
            "overdue": queues.is_overdue(appeal, now), "now": now, "publications": publications,
            "canned": canned.available(robot), "canned_name": canned_name, "draft": draft,
            "queues": sorted(directory.queues.values(), key=lambda q: q.name), "users": users,
            "queue_title": directory.title, "kinds": KINDS, "topics": TOPICS, "done": done, "error": error,
            "done_statuses": queues.DONE_STATUSES,
            "upcoming_working_day": robot.calendar.add_working_days(appeal.due_at.astimezone(robot.settings.tz)
                                                                    .date(), 1),
        }, staff=staff)
        appeal_id = appeal.id
    with robot.unit_of_work() as session:
        audit.record(session, staff.actor, "appeal_viewed", at=now, appeal_id=appeal_id, target=number)
    return page


@router.get("/appeal/{number}/attachment/{attachment_id}")
def attachment(request: Request, number: str, attachment_id: int, staff: LoggedIn) -> Response:
    robot = _robot(request)
    with robot.sessions() as session:
        appeal = _appeal_for(request, staff, session, number)
        found = session.scalar(select(Attachment).join(Message).where(Attachment.id == attachment_id,
                                                                      Message.appeal_id == appeal.id))
        if found is None:
            raise HTTPException(status_code=404)
        content, filename, appeal_id = found.content, found.filename, appeal.id
    with robot.unit_of_work() as session:
        audit.record(session, staff.actor, "attachment_downloaded", at=robot.clock.now(), appeal_id=appeal_id,
                     target=f"{number}/{attachment_id}", detail={"filename": filename})
    # Always a download of opaque bytes: an attachment is never rendered in the desk's origin.
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._- ") else "_" for ch in filename)
    response = Response(content, media_type="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name or 'attachment'}\"; "
                               f"filename*=UTF-8''{quote(filename, safe='')}",
    })
    harden(response)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


_ACTIONS = ("answer", "request", "note", "forward", "extend", "delay", "correct", "close", "publish")


@router.post("/appeal/{number}/{action}")
async def act(request: Request, number: str, action: str, staff: Posting) -> Response:
    if action not in _ACTIONS:
        raise HTTPException(status_code=404)
    robot = _robot(request)
    _check_appeal(request, staff, number)
    form = await request.form()
    try:
        return await _act(request, robot, form, number, action, staff)
    finally:
        await form.close()  # uploaded files are spooled to temporary files


async def _act(request: Request, robot: Robot, form, number: str, action: str, staff: Staff) -> Response:
    text = _form_text(form, "text")
    actor = staff.actor
    try:
        if action == "answer":
            uploads = []
            for item in form.getlist("attachments"):
                if isinstance(item, str) or not item.filename:
                    continue
                content = await item.read()
                if len(content) > _MAX_UPLOAD:
                    raise DeskError("attachment_too_large")
                uploads.append(Upload(item.filename, item.content_type or "application/octet-stream", content))
            actions.answer(robot, number, actor, text, uploads)
        elif action == "request":
            actions.request_data(robot, number, actor, text)
        elif action == "note":
            actions.note(robot, number, actor, text)
        elif action == "forward":
            actions.forward(robot, number, actor, queue=_form_text(form, "queue"),
                            assignee=_form_text(form, "assignee").strip() or None, comment=text,
                            known_queues=set(_directory(request).queues))
        elif action == "extend":
            try:
                until = date.fromisoformat(_form_text(form, "until"))
            except ValueError:
                raise DeskError("bad_date") from None
            actions.extend(robot, number, actor, until=until, reason=_form_text(form, "reason"))
        elif action == "delay":
            actions.explain_delay(robot, number, actor, _form_text(form, "reason"))
        elif action == "correct":
            actions.correct(robot, number, actor, kind=_form_text(form, "kind"), topic=_form_text(form, "topic"),
                            scope=_form_text(form, "scope"))
        elif action == "close":
            actions.close(robot, number, actor, measures=_form_text(form, "measures"),
                          delay_reason=_form_text(form, "delay_reason"))
        elif action == "publish":
            actions.publish(robot, number, actor, kind=_form_text(form, "kind"), title=_form_text(form, "title"),
                            text=text)
    except DeskError as problem:
        return _back(number, error=problem.code)
    except NoSuchAppeal:
        raise HTTPException(status_code=404) from None
    if action == "forward" and not _still_visible(request, staff, number):
        return RedirectResponse(f"/desk/queue?{urlencode({'done': 'forwarded', 'number': number})}", status_code=303)
    return _back(number, done=action)


def _still_visible(request: Request, staff: Staff, number: str) -> bool:
    with _robot(request).sessions() as session:
        appeal = session.scalar(select(Appeal).where(Appeal.number == number))
        return appeal is not None and can_see(_user_like(staff), appeal, _directory(request))


# --- journal -----------------------------------------------------------------------------------


def _period(start: str | None, end: str | None) -> journal.Period:
    def parse(value: str | None) -> date | None:
        try:
            return date.fromisoformat(value) if value else None
        except ValueError:
            return None
    return journal.Period(parse(start), parse(end))


@router.get("/journal")
def journal_page(request: Request, staff: LoggedIn, start: str | None = None,
                 end: str | None = None, kind: str | None = None, channel: str | None = None) -> Response:
    robot = _robot(request)
    tz = robot.settings.tz
    period = _period(start, end)
    if period.start is None and period.end is None:
        period = journal.Period(robot.clock.now().astimezone(tz).date().replace(day=1), None)
    with robot.sessions() as session:
        items = list(journal.appeals(session, period, tz, queues=_visible(request, staff), kind=kind or None,
                                     channel=channel or None))[:500]
        table = list(journal.rows(items, tz))
    with robot.unit_of_work() as session:
        audit.record(session, staff.actor, "journal_viewed", at=robot.clock.now(), target="journal",
                     detail={"start": str(period.start), "end": str(period.end), "rows": len(table)})
    query = {k: v for k, v in {"start": period.start and period.start.isoformat(),
                               "end": period.end and period.end.isoformat(), "kind": kind,
                               "channel": channel}.items() if v}
    return _render(request, "journal", {"headers": journal.HEADERS, "table": table, "period": period,
                                        "kind": kind, "channel": channel, "kinds": KINDS, "channels": CHANNELS,
                                        "query": urlencode(query)}, staff=staff)


@router.get("/journal.{fmt}")
def journal_export(request: Request, fmt: str, staff: LoggedIn, start: str | None = None,
                   end: str | None = None, kind: str | None = None, channel: str | None = None) -> Response:
    if fmt not in ("xlsx", "csv"):
        raise HTTPException(status_code=404)
    robot = _robot(request)
    tz = robot.settings.tz
    period = _period(start, end)
    with robot.sessions() as session:
        items = journal.appeals(session, period, tz, queues=_visible(request, staff), kind=kind or None,
                                channel=channel or None)
        if fmt == "xlsx":
            buffer = io.BytesIO()
            count = journal.write_xlsx(items, tz, buffer)
            body, media = buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            text = io.StringIO()
            count = journal.write_csv(items, tz, text)
            body, media = ("\ufeff" + text.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"
    with robot.unit_of_work() as session:
        audit.record(session, staff.actor, "journal_exported", at=robot.clock.now(), target=f"journal.{fmt}",
                     detail={"start": str(period.start), "end": str(period.end), "rows": count})
    name = f"journal-{robot.clock.now().astimezone(tz):%Y%m%d}.{fmt}"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                     "Cache-Control": "no-store"})


# --- operator entry ----------------------------------------------------------------------------


#: A registration number as the journal writes it (robot/pipeline/register.py): year-sequence.
_NUMBER = re.compile(r"\d{4}-\d{6,}")
_ENTRY_FIELDS = ("channel", "kind", "text", "customer_name", "customer_phone", "customer_email", "customer_address",
                 "account_number", "subject", "topic")


@router.get("/operator")
def operator_page(request: Request, staff: LoggedIn, registered: str | None = None, done: str | None = None,
                  ) -> Response:
    """The entry form; after a registration whose appeal went to a queue this operator does not
    see, the form again with the number to tell the customer (``registered``)."""
    return _render(request, "operator", {"values": {"channel": "phone", "kind": "question"}, "error": None,
                                         "kinds": KINDS, "topics": TOPICS, "channels": operator.CHANNELS,
                                         "registered": registered if _NUMBER.fullmatch(registered or "") else None,
                                         "done": done}, staff=staff)


@router.post("/operator")
async def operator_register(request: Request, staff: Posting) -> Response:
    form = await request.form()
    values = {name: _form_text(form, name)[:actions.MAX_TEXT] for name in _ENTRY_FIELDS}
    try:
        done = operator.register(_robot(request), operator.Entry(**values), staff.actor)
    except operator.EntryError as problem:
        return _render(request, "operator", {"values": values, "error": problem.field, "kinds": KINDS,
                                             "topics": TOPICS, "channels": operator.CHANNELS},
                       status=422, staff=staff)
    queues = visible_queues(_user_like(staff), _directory(request))
    if queues is not None and done.queue not in queues:  # another territory's: the number still reaches her
        return RedirectResponse(f"/desk/operator?{urlencode({'registered': done.number, 'done': done.status})}",
                                status_code=303)
    return RedirectResponse(f"/desk/appeal/{quote(done.number)}?done={done.status}", status_code=303)


# --- dashboard and audit -----------------------------------------------------------------------


@router.get("/dashboard")
def dashboard_page(request: Request, staff: LoggedIn, days: int = 30) -> Response:
    _require_role(staff, "manager", "admin")
    robot = _robot(request)
    now = robot.clock.now()
    days = min(max(days, 7), 366)
    with robot.sessions() as session:
        figures = stats.dashboard(session, _visible(request, staff), now, robot.settings.tz, days=days)
        page = _render(request, "dashboard", {"figures": figures, "kinds": stats.KINDS, "now": now, "days": days},
                       staff=staff)
    with robot.unit_of_work() as session:
        audit.record(session, staff.actor, "dashboard_viewed", at=now, target="dashboard")
    return page


@router.get("/audit")
def audit_page(request: Request, staff: LoggedIn, actor: str | None = None,
               number: str | None = None, action: str | None = None) -> Response:
    _require_role(staff, "admin")
    robot = _robot(request)
    with robot.sessions() as session:
        appeal_id = session.scalar(select(Appeal.id).where(Appeal.number == number)) if number else None
        if number and appeal_id is None:
            found = []
        else:
            found = audit.entries(session, actor=actor or None, appeal_id=appeal_id, action=action or None)
        numbers = dict(session.execute(select(Appeal.id, Appeal.number)
                                       .where(Appeal.id.in_({e.appeal_id for e in found if e.appeal_id}))).all())
    return _render(request, "audit", {"entries": found, "numbers": numbers, "actor": actor, "number": number,
                                      "action": action}, staff=staff)

