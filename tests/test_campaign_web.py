"""The auto-informer on the web: the one-click confirmation (a GET confirms nothing), and the
managers' campaign page with live progress, report and actions (R22–R24)."""

from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path

from openpyxl import load_workbook

from robot.informer.planner import tick
from tests.campaign_support import (
    add_customers,
    add_manager,
    by_recipient,
    confirm_link,
    create,
    launch,
    recipients,
    scenario_file,
    tick_and_deliver,
    write_list,
)
from tests.desk_fixtures import PASSWORD

AMOUNTS = {"1100000001": "100", "1100000002": "200"}


def _launch(robot, tmp_path) -> int:
    add_customers(robot, 2)
    add_manager(robot)
    campaign_id = launch(robot, tmp_path, amounts=AMOUNTS)
    tick_and_deliver(robot)
    return campaign_id


def test_confirmation_link_needs_the_button_and_thanks_the_customer(robot, anonymous, sink, tmp_path):
    campaign_id = _launch(robot, tmp_path)
    token = confirm_link(by_recipient(sink)["c1@example.ru"][0])
    shown = anonymous.get(f"/informer/confirm/{token}")
    assert shown.status_code == 200 and "Подтверждаю получение" in shown.text
    # A mail scanner fetching the link (twice, even) confirms nothing.
    anonymous.get(f"/informer/confirm/{token}")
    assert recipients(robot, campaign_id)["1100000001"].state == "pending"
    done = anonymous.post(f"/informer/confirm/{token}")
    assert done.status_code == 200 and "Спасибо! Получение сообщения" in done.text
    assert recipients(robot, campaign_id)["1100000001"].reason == "confirmed"
    assert "уже подтвердили" in anonymous.get(f"/informer/confirm/{token}").text
    forged = token.split(".")[0] + "." + "0" * 24
    assert anonymous.get(f"/informer/confirm/{forged}").status_code == 404
    assert anonymous.post(f"/informer/confirm/{forged}").status_code == 404
    assert "Ссылка недействительна" in anonymous.post("/informer/confirm/garbage").text


def test_campaign_pages_for_managers_only_with_progress_report_and_actions(robot, desk_as, anonymous, sink, clock,
                                                                           tmp_path):
    campaign_id = _launch(robot, tmp_path)
    assert anonymous.get(f"/desk/campaigns/{campaign_id}").status_code == 303  # to the login
    assert desk_as("ivanova").page(f"/desk/campaigns/{campaign_id}").status_code == 403
    manager = desk_as("omsk-1-head")
    page = manager.page(f"/desk/campaigns/{campaign_id}")
    assert page.status_code == 200 and "Задолженность за декабрь" in page.text and "/static/informer.js" in page.text
    progress = manager.page(f"/desk/campaigns/{campaign_id}/progress.json").json()
    assert {k: progress[k] for k in ("sent", "pending", "positive", "bounced")} == {
        "sent": 2, "pending": 2, "positive": 0, "bounced": 0}
    anonymous.post(f"/informer/confirm/{confirm_link(by_recipient(sink)['c2@example.ru'][0])}")
    progress = manager.page(f"/desk/campaigns/{campaign_id}/progress.json").json()
    assert (progress["positive"], progress["confirmed"], progress["pending"]) == (1, 1, 1)
    assert progress["next_resend_text"] == "19.01.2026 10:00"

    sheet = load_workbook(BytesIO(manager.page(f"/desk/campaigns/{campaign_id}/report.xlsx").content)).active
    assert [row[:4] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        ("1100000001", "Потребитель 1", "c1@example.ru", "ждёт подтверждения"),
        ("1100000002", "Потребитель 2", "c2@example.ru", "получено")]

    # A new campaign approved, started and stopped from the page; a specialist cannot approve (R24).
    draft = create(robot, scenario_file(tmp_path, name="second.yaml"))
    from robot.informer import campaigns as life
    with robot.unit_of_work() as session:
        life.import_recipients(session, life.get(session, draft), write_list(tmp_path, list(AMOUNTS.items())),
                               actor="t", now=clock.now())
    ivanova = desk_as("ivanova")
    assert ivanova.post(f"/desk/campaigns/{draft}/approve").status_code == 403
    assert manager.post(f"/desk/campaigns/{draft}/start").status_code == 409
    assert manager.post(f"/desk/campaigns/{draft}/approve").status_code == 303
    assert manager.post(f"/desk/campaigns/{draft}/start").status_code == 303
    assert manager.post(f"/desk/campaigns/{draft}/stop", csrf="forged").status_code == 403
    assert manager.post(f"/desk/campaigns/{draft}/stop").status_code == 303
    listed = manager.page("/desk/campaigns").text
    assert "остановлена" in listed and "идёт" in listed


def test_live_page_updates_without_reloading(robot, desk_url, anonymous, page, sink, tmp_path):
    """R22: the browser's figures change as customers confirm, with no reload (a real Chromium)."""
    campaign_id = _launch(robot, tmp_path)
    page.goto(f"{desk_url}/desk/login")
    page.fill("input[name=login]", "omsk-1-head")
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url("**/desk/**")
    page.goto(f"{desk_url}/desk/campaigns/{campaign_id}")
    page.wait_for_selector("#live-status:has-text('Обновлено')")
    assert page.inner_text("[data-field=positive]") == "0"
    page.evaluate("window.__marker = 'same page'")
    anonymous.post(f"/informer/confirm/{confirm_link(by_recipient(sink)['c1@example.ru'][0])}")
    page.wait_for_selector(".kpi[data-field=positive]:text-is('1')")
    assert page.evaluate("window.__marker") == "same page"  # no reload happened
    assert page.inner_text(".kpi[data-field=pending]") == "1"
    assert tick(robot).planned == 0
    if os.environ.get("INFORMER_SCREENSHOTS"):  # the README's picture: INFORMER_SCREENSHOTS=docs
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(Path(os.environ["INFORMER_SCREENSHOTS"]) / "informer-campaign.png"), full_page=True)
