"""The reception as a JSON API, so the company's existing site can post to it (R2).

Mounted at ``/api``; the OpenAPI document is ``/api/openapi.json``. Same validation, same intake,
same acknowledgement as the forms. The customer's consent travels with each submission: the
site shows the wording ``GET /v1/consent`` returns and sends back its version, so the consent
recorded is the text the customer saw. With ``MAILROBOT_WEB_API_TOKEN`` set, the site
authenticates and may pass the customer's address (``customer_ip``); without it the API is open
and limited per client address like the forms.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
from datetime import datetime
from typing import Annotated, Literal

from fastapi import FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from jinja2 import Environment
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError

from robot.app import Robot
from robot.intake.web import current_consent
from robot.web.fields import FORM_KINDS, REQUIRED, Upload, validate
from robot.web.receipt import await_outcome, outcome
from robot.web.reception import (
    attachment_limits,
    find_appeal,
    limiter,
    store,
    territory_choices,
)
from robot.web.security import client_address

log = logging.getLogger("robot.web.api")

FormName = Literal["question", "application", "complaint", "review"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttachmentIn(Strict):
    filename: str = Field(max_length=255, examples=["schema.pdf"])
    content_type: str = Field("application/octet-stream", max_length=127)
    content_base64: str = Field(description="The file's bytes, base64-encoded.")


class ConsentIn(Strict):
    given: bool = Field(description="The customer ticked the separate personal-data consent box.")
    version: str = Field(max_length=32, description="The version of the wording shown (GET /v1/consent).")


class SubmissionIn(Strict):
    form: FormName = Field(description="question | application | complaint | review: the kind the customer chose.")
    name: str = Field(max_length=1000)
    email: str = Field(max_length=1000)
    phone: str = Field("", max_length=1000)
    address: str = Field("", max_length=2000)
    territory: str = Field("", max_length=1000, description="A value of GET /v1/territories, or empty.")
    account: str = Field("", max_length=1000, description="Personal account number (лицевой счёт).")
    text: str = Field(max_length=20000)
    consent: ConsentIn
    attachments: list[AttachmentIn] = Field(default_factory=list)
    customer_ip: str | None = Field(None, max_length=64,
                                    description="The customer's address as the site saw it (token required).")


class SubmissionOut(BaseModel):
    token: str = Field(description="Names this submission; GET /v1/submissions/{token} tells what became of it.")
    state: Literal["registered", "pending", "held"]
    number: str | None = Field(None, description="Registration number, e.g. 2026-000123.")
    due_at: datetime | None = None
    kind: str | None = None
    repeated: bool = Field(False, description="The same Idempotency-Key was sent before: this is that submission.")


class FieldError(BaseModel):
    code: str
    message: str


class ErrorsOut(BaseModel):
    errors: dict[str, FieldError]


class StatusIn(Strict):
    number: str = Field(max_length=64)
    email: str = Field(max_length=320)


class StatusOut(BaseModel):
    number: str
    status: str = Field(description="The status code of the appeal (registered, answered, closed, …).")
    status_text: str = Field(description="The status in the customer's words (Russian).")
    due_at: datetime


class Territory(BaseModel):
    value: str
    label: str


class ConsentOut(BaseModel):
    version: str
    text: str


class FormOut(BaseModel):
    form: str
    kind: str
    required: list[str]


def create_api(robot: Robot) -> FastAPI:
    api = FastAPI(title="mailrobot — Интернет-приёмная API", version="1", docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json",
                  description="Submissions of the Internet reception's four forms and the status of an appeal.")
    api.state.robot = robot

    def errors_response(errors: dict[str, str], status_code: int = 422) -> JSONResponse:
        words = _error_words(robot.templates, attachment_limits(robot))
        body = {"errors": {name: {"code": code, "message": words(code, name)} for name, code in errors.items()}}
        return JSONResponse(body, status_code=status_code)

    def authorised(authorization: str | None) -> bool:
        expected = robot.settings.web_api_token
        return bool(expected and authorization and secrets.compare_digest(authorization, f"Bearer {expected}"))

    @api.get("/v1/forms", response_model=list[FormOut], summary="The four forms and the fields each requires")
    def forms() -> list[FormOut]:
        return [FormOut(form=form, kind=kind, required=sorted(REQUIRED[form])) for form, kind in FORM_KINDS.items()]

    @api.get("/v1/territories", response_model=list[Territory], summary="Values of the territory field")
    def territories() -> list[Territory]:
        return [Territory(value=value, label=label) for value, label in territory_choices(robot)]

    @api.get("/v1/consent", response_model=ConsentOut, summary="The personal-data consent wording to show")
    def consent() -> ConsentOut:
        current = current_consent(robot)
        return ConsentOut(version=current.version, text=current.text)

    @api.post("/v1/submissions", status_code=201, response_model=SubmissionOut,
              responses={422: {"model": ErrorsOut}, 401: {"model": ErrorsOut}, 429: {"model": ErrorsOut},
                         503: {"model": ErrorsOut}},
              summary="Submit a form: answered once it is stored, with the number if registered within "
                      "MAILROBOT_WEB_CONFIRMATION_WAIT_S (else state \"pending\": poll GET /v1/submissions/{token})")
    async def submit(body: SubmissionIn, request: Request,
                     authorization: Annotated[str | None, Header()] = None,
                     idempotency_key: Annotated[str | None, Header(max_length=100)] = None):
        settings = robot.settings
        trusted = authorised(authorization)
        if authorization and not trusted:
            return errors_response({"authorization": "invalid"}, 401)
        ip = (body.customer_ip if trusted and body.customer_ip
              else client_address(request, settings.web_trusted_proxies))
        uploads: list[Upload] = []
        for item in body.attachments:
            try:
                uploads.append(Upload(item.filename, item.content_type,
                                      base64.b64decode(item.content_base64, validate=True)))
            except (binascii.Error, ValueError):
                return errors_response({"attachments": "invalid"})
        current = current_consent(robot)
        values = body.model_dump(include={"name", "email", "phone", "address", "territory", "account", "text"})
        submission, errors = validate(body.form, values, uploads, consent=body.consent.given, settings=settings,
                                      territories=[value for value, _ in territory_choices(robot)])
        if body.consent.given and body.consent.version != current.version:
            errors["consent"] = "consent_version"
        if submission is None or errors:
            return errors_response(errors)
        if not trusted and not await run_in_threadpool(limiter(robot).hit, "submit", ip,
                                                       limit=settings.web_submit_limit,
                                                       window_s=settings.web_limit_window_s, now=robot.clock.now()):
            return errors_response({"request": "limit"}, 429)
        nonce = f"api:{idempotency_key}" if idempotency_key else f"api-random:{secrets.token_urlsafe(18)}"
        try:
            receipt = await run_in_threadpool(store, request, submission, nonce=nonce, source="api", client_ip=ip,
                                              user_agent=request.headers.get("user-agent"))
        except SQLAlchemyError:
            log.exception("API submission not stored")
            return errors_response({"request": "unavailable"}, 503)
        found = await await_outcome(robot, receipt.token, settings.web_confirmation_wait_s)
        assert found is not None
        result = SubmissionOut(token=receipt.token, state=found.state, number=found.number, due_at=found.due_at,
                               kind=found.kind, repeated=receipt.repeated)
        return JSONResponse(result.model_dump(mode="json"), status_code=200 if receipt.repeated else 201)

    @api.get("/v1/submissions/{token}", response_model=SubmissionOut, responses={404: {"model": ErrorsOut}},
             summary="What became of a submission: its number and due date once registered")
    def submission(token: str):
        found = outcome(robot, token) if len(token) <= 64 else None
        if found is None:
            return errors_response({"token": "not_found"}, 404)
        return SubmissionOut(token=token, state=found.state, number=found.number, due_at=found.due_at,
                             kind=found.kind)

    @api.post("/v1/status", response_model=StatusOut, responses={404: {"model": ErrorsOut}, 429: {"model": ErrorsOut}},
              summary="Status and due date of an appeal, by its number and the customer's e-mail")
    async def status(body: StatusIn, request: Request):
        settings = robot.settings
        ip = client_address(request, settings.web_trusted_proxies)
        if not await run_in_threadpool(limiter(robot).hit, "status", ip, limit=settings.web_status_limit,
                                       window_s=settings.web_limit_window_s, now=robot.clock.now()):
            return errors_response({"request": "limit"}, 429)
        found = await run_in_threadpool(find_appeal, robot, body.number, body.email)
        if found is None:
            # The same answer for an unknown number and a wrong e-mail: no enumeration.
            return errors_response({"appeal": "not_found"}, 404)
        text = robot.templates.get_template("web/reception/_status_name.j2").render(found=found).strip()
        return StatusOut(number=found.number, status=found.status, status_text=text, due_at=found.due_at)

    return api


def _error_words(env: Environment, limits: dict[str, object]):
    module = env.get_template("web/reception/_errors.j2").make_module(limits)

    def words(code: str, field: str) -> str:
        return str(module.error_text(code, field)).strip()

    return words
