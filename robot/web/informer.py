"""The auto-informer on the web: the customer's confirmation page, and the managers' campaign pages.

``/informer/confirm/{token}`` (public): a GET shows one button and confirms nothing — mail
scanners and link previews fetch every link of a message; the button's POST confirms (R23's
positive result) and thanks the customer. The token is signed per recipient; a forged one gets
the same "link not valid" page as an unknown one.

``/desk/campaigns`` (staff of the desk, D's login): the list, and a campaign's page with live
progress — sent, confirmed, bounced, pending, next resend — polled from ``…/progress.json`` by
/static/informer.js every few seconds (R22); its report in XLSX and CSV; approve (a manager only,
R24), start and stop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from robot.app import Robot
from robot.informer import campaigns as life
from robot.informer.confirm import confirm, lookup
from robot.informer.progress import (
    COLUMNS,
    progress,
    report_rows,
    write_csv,
    write_xlsx,
)
from robot.informer.texts import install_filters, names, refusal_text
from robot.informer.window import SendingWindow
from robot.storage.models import Campaign
from robot.web.auth import Staff, current_staff, staff_page, staff_posting

public = APIRouter(prefix="/informer")
desk = APIRouter(prefix="/desk/campaigns")
LoggedIn = Annotated[Staff, Depends(current_staff)]
Posting = Annotated[Staff, Depends(staff_posting)]
#: Who may see campaigns (customers' personal data, R26): managers and administrators.
VIEWERS = ("manager", "admin")


def install(app: FastAPI) -> None:
    """Mount the informer's pages on ``app`` (create_app calls this after the desk)."""
    robot: Robot = app.state.robot
    install_filters(app.state.templates.env, robot.settings.tz)
    app.include_router(public)
    app.include_router(desk)


def _robot(request: Request) -> Robot:
    return request.app.state.robot


def _render(request: Request, template: str, context: dict[str, Any], *, status: int = 200,
            staff: Staff | None = None) -> HTMLResponse:
    return staff_page(request, f"informer/{template}.html.j2", context, status=status, staff=staff)


# --- the customer's confirmation -------------------------------------------------------------


@public.get("/confirm/{token}")
def confirm_page(request: Request, token: str) -> Response:
    robot = _robot(request)
    with robot.sessions() as session:
        found = lookup(session, robot.signing_key, token)
        if found is None:
            return _render(request, "unknown", {}, status=404)
        recipient, campaign = found
        return _render(request, "confirm", {"token": token, "campaign": campaign,
                                            "confirmed": recipient.state == "positive"})


@public.post("/confirm/{token}")
def confirm_post(request: Request, token: str) -> Response:
    robot = _robot(request)
    with robot.unit_of_work() as session:
        campaign = confirm(session, robot.signing_key, token, robot.clock.now(),
                           ip=request.client.host if request.client else None)
        if campaign is None:
            return _render(request, "unknown", {}, status=404)
        title = campaign.name
    return _render(request, "thanks", {"title": title})


# --- the managers' pages ---------------------------------------------------------------------


def _viewer(staff: Staff) -> None:
    if staff.role not in VIEWERS:
        raise HTTPException(status_code=403, detail="role")


@desk.get("")
def campaigns_page(request: Request, staff: LoggedIn) -> Response:
    _viewer(staff)
    robot = _robot(request)
    with robot.sessions() as session:
        rows = list(session.scalars(select(Campaign).order_by(Campaign.id.desc())))
        summaries = [(c, progress(session, c.id)) for c in rows]
    return _render(request, "campaigns", {"summaries": summaries, "names": names(robot)}, staff=staff)


def _campaign(session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise HTTPException(status_code=404)
    return campaign


@desk.get("/{campaign_id}")
def campaign_page(request: Request, campaign_id: int, staff: LoggedIn) -> Response:
    _viewer(staff)
    return _campaign_view(request, campaign_id, staff)


def _campaign_view(request: Request, campaign_id: int, staff: Staff, refused: str | None = None) -> Response:
    robot = _robot(request)
    with robot.sessions() as session:
        campaign = _campaign(session, campaign_id)
        found = progress(session, campaign_id)
        approved = life.is_approved(campaign)
    return _render(request, "campaign", {"campaign": campaign, "p": found, "names": names(robot),
                                         "approved": approved, "refused": refused}, staff=staff,
                   status=409 if refused else 200)


@desk.get("/{campaign_id}/progress.json")
def campaign_progress(request: Request, campaign_id: int, staff: LoggedIn) -> Response:
    _viewer(staff)
    robot = _robot(request)
    tz = robot.settings.tz
    with robot.sessions() as session:
        _campaign(session, campaign_id)
        data = progress(session, campaign_id).as_json()
    macros = names(robot)
    data["state_name"] = str(macros.state(data["state"]))
    for key in ("next_resend", "last_sent"):
        data[f"{key}_text"] = _local(data[key], tz)
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


def _local(iso: str | None, tz) -> str:
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%d.%m.%Y %H:%M") if iso else "—"


@desk.get("/{campaign_id}/report.{fmt}")
def campaign_report(request: Request, campaign_id: int, fmt: str, staff: LoggedIn) -> Response:
    _viewer(staff)
    if fmt not in ("xlsx", "csv"):
        raise HTTPException(status_code=404)
    robot = _robot(request)
    macros = names(robot)
    headers = {c: str(macros.column(c)) for c in COLUMNS}
    with robot.sessions() as session:
        campaign = _campaign(session, campaign_id)
        rows = report_rows(session, campaign_id, names=macros, tz=robot.settings.tz)
        data = write_csv(rows, headers) if fmt == "csv" else write_xlsx(rows, headers, campaign.name)
    media = "text/csv; charset=utf-8" if fmt == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(data, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="campaign-{campaign_id}.{fmt}"', "Cache-Control": "no-store"})


@desk.post("/{campaign_id}/{action}")
def campaign_action(request: Request, campaign_id: int, action: str, staff: Posting) -> Response:
    _viewer(staff)
    if action not in ("approve", "start", "stop"):
        raise HTTPException(status_code=404)
    robot = _robot(request)
    now, rate = robot.clock.now(), robot.settings.informer_rate_per_s
    try:
        with robot.unit_of_work() as session:
            campaign = _campaign(session, campaign_id)
            if action == "approve":
                life.approve(session, campaign, manager=staff.login, now=now, window=SendingWindow(robot.calendar),
                             rate_per_s=rate)
            elif action == "start":
                life.start(session, campaign, actor=staff.login, now=now, window=SendingWindow(robot.calendar),
                           rate_per_s=rate)
            else:
                life.stop(session, campaign, actor=staff.login, now=now)
    except life.CampaignError as error:
        return _campaign_view(request, campaign_id, staff, refused=refusal_text(robot, error))
    return RedirectResponse(f"/desk/campaigns/{campaign_id}", status_code=303)
