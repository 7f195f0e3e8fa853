"""The reception's JSON API for the company's own site (R2): the same intake, validation and acknowledgement."""

from __future__ import annotations

import base64
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from robot.app import Robot
from robot.storage.models import Appeal, Attachment, RawMessage, WebSubmission
from tests.conftest import Sink, run_jobs


@pytest.fixture(autouse=True)
def _registered_by_the_test(robot: Robot) -> None:
    robot.settings.web_confirmation_wait_s = 0  # the test runs the workers' jobs itself (run_jobs)


def consent(http: httpx.Client) -> dict[str, object]:
    return {"given": True, "version": http.get("/api/v1/consent").json()["version"]}


def body(http: httpx.Client, **changes: object) -> dict[str, object]:
    return {"form": "complaint", "name": "Петров Иван", "email": "petrov@example.ru", "phone": "+7 913 000-00-00",
            "address": "г. Тара, ул. Советская, 1", "territory": "г. Тара", "account": "4100987654",
            "text": "Третий раз за неделю отключают свет, прошу разобраться и сделать перерасчёт.",
            "consent": consent(http)} | changes


def appeals(robot: Robot) -> int:
    run_jobs(robot)
    with robot.sessions() as session:
        return session.scalar(select(func.count()).select_from(Appeal))


def stored(robot: Robot) -> bool:
    with robot.sessions() as session:
        return session.scalar(select(func.count()).select_from(RawMessage)) > 0


def test_the_openapi_document_describes_the_api_only(http):
    document = http.get("/api/openapi.json")
    assert document.status_code == 200
    spec = document.json()
    assert {"/v1/submissions", "/v1/submissions/{token}", "/v1/status", "/v1/territories", "/v1/consent",
            "/v1/forms"} <= set(spec["paths"])
    assert not any(path.startswith(("/forms", "/desk", "/status")) for path in spec["paths"])
    assert spec["servers"] == [{"url": "/api"}]
    assert "SubmissionIn" in spec["components"]["schemas"]


def test_a_submission_is_registered_and_acknowledged(robot, http, sink: Sink):
    """R2: answered 201 after the commit, with the number and due date; the same acknowledgement e-mail."""
    robot.settings.web_confirmation_wait_s = 10
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(http.post, "/api/v1/submissions", json=body(http))
        while not answer.done() and not stored(robot):  # the API answers once a worker has registered it
            time.sleep(0.01)
        run_jobs(robot)
        response = answer.result(timeout=30)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["state"] == "registered" and result["kind"] == "complaint"
    assert result["due_at"].startswith("2026-01-30T")  # 14 working days after Mon 12 Jan
    with robot.sessions() as session:
        appeal = session.scalars(select(Appeal)).one()
        submission = session.scalars(select(WebSubmission)).one()
    assert result["number"] == appeal.number and appeal.unit == "Тарский РЭС"
    assert (submission.source, submission.consent_ip) == ("api", "127.0.0.1")
    ack = sink.wait_for(1)[0]
    assert appeal.number in ack.get_body(("plain",)).get_content()
    assert http.get(f"/api/v1/submissions/{result['token']}").json()["number"] == appeal.number


def test_validation_errors_name_the_field_in_russian(robot, http):
    response = http.post("/api/v1/submissions", json=body(http, email="nope", address="", territory="Атлантида"))
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["email"]["code"] == "email" and "электронной почты" in errors["email"]["message"]
    assert errors["address"]["code"] == "required"
    assert errors["territory"]["code"] == "territory"
    assert appeals(robot) == 0


def test_consent_must_be_given_to_the_wording_in_force(robot, http):
    """152-FZ: the recorded consent is the text the customer saw; an old wording is refused."""
    assert http.post("/api/v1/submissions", json=body(http, consent={"given": False, "version": "x"})
                     ).json()["errors"]["consent"]["code"] == "consent"
    stale = http.post("/api/v1/submissions", json=body(http, consent={"given": True, "version": "0123456789ab"}))
    assert stale.status_code == 422 and stale.json()["errors"]["consent"]["code"] == "consent_version"
    assert appeals(robot) == 0


def test_an_idempotency_key_makes_a_retry_safe(robot, http, sink: Sink):
    first = http.post("/api/v1/submissions", json=body(http), headers={"Idempotency-Key": "site-order-17"})
    assert first.json()["state"] == "pending"  # nobody ran the workers' jobs yet
    run_jobs(robot)
    again = http.post("/api/v1/submissions", json=body(http), headers={"Idempotency-Key": "site-order-17"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["repeated"] and again.json()["token"] == first.json()["token"]
    assert again.json()["number"] is not None
    assert appeals(robot) == 1
    sink.wait_for(1)
    assert len(sink.received) == 1


def test_attachments_travel_base64(robot, http):
    files = [{"filename": "акт.pdf", "content_type": "application/pdf",
              "content_base64": base64.b64encode(b"%PDF-1.4 act").decode()}]
    assert http.post("/api/v1/submissions", json=body(http, attachments=files)).status_code == 201
    run_jobs(robot)
    with robot.sessions() as session:
        assert session.execute(select(Attachment.filename, Attachment.content)).one() == ("акт.pdf", b"%PDF-1.4 act")
    bad = [{"filename": "x.pdf", "content_base64": "***"}]
    assert http.post("/api/v1/submissions", json=body(http, attachments=bad)).status_code == 422


def test_the_site_authenticates_to_pass_the_customers_address(robot, http):
    robot.settings.web_api_token = "site-secret"
    wrong = http.post("/api/v1/submissions", json=body(http, customer_ip="203.0.113.7"),
                      headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401
    ok = http.post("/api/v1/submissions", json=body(http, customer_ip="203.0.113.7"),
                   headers={"Authorization": "Bearer site-secret"})
    assert ok.status_code == 201
    # Without the token the customer_ip field is ignored: the recorded address is the caller's.
    assert http.post("/api/v1/submissions", json=body(http, customer_ip="198.51.100.1",
                                                      text="Второй раз прошу сделать перерасчёт за январь.")
                     ).status_code == 201
    with robot.sessions() as session:
        assert session.scalars(select(WebSubmission.consent_ip).order_by(WebSubmission.id)).all() == [
            "203.0.113.7", "127.0.0.1"]


def test_submissions_without_a_token_are_limited_per_address(robot, http):
    robot.settings.web_submit_limit = 1
    assert http.post("/api/v1/submissions", json=body(http)).status_code == 201
    assert http.post("/api/v1/submissions", json=body(http, text="Ещё одна жалоба на отключения света.")
                     ).status_code == 429
    with robot.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RawMessage)) == 1


@pytest.mark.parametrize("email_case", ["petrov@example.ru", "PETROV@example.ru"])
def test_status_by_number_and_email(robot, http, email_case):
    token = http.post("/api/v1/submissions", json=body(http)).json()["token"]
    run_jobs(robot)
    number = http.get(f"/api/v1/submissions/{token}").json()["number"]
    found = http.post("/api/v1/status", json={"number": number, "email": email_case})
    assert found.status_code == 200
    assert set(found.json()) == {"number", "status", "status_text", "due_at"}
    wrong = http.post("/api/v1/status", json={"number": number, "email": "other@example.ru"})
    unknown = http.post("/api/v1/status", json={"number": "2026-999999", "email": "petrov@example.ru"})
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()
