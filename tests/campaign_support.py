"""Helpers of the auto-informer's tests (tests/test_campaign*.py): customers, a manager, scenarios."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from robot.informer import campaigns as life
from robot.informer.planner import tick
from robot.informer.scenario import load_scenario
from robot.informer.window import SendingWindow
from robot.storage.models import Campaign, CampaignRecipient, Customer, User
from tests.conftest import run_jobs

SCENARIO = """\
name: Задолженность за декабрь
kind: debt
window:
  start: {start}
  end: {end}
recipients:
  {recipients}
subject: "Задолженность по лицевому счёту {{{{ account_number }}}}"
body: |
  Уважаемый(ая) {{{{ name }}}}!
  На {{{{ debt_date | ru_date }}}} задолженность по договору составляет {{{{ amount | rub }}}}.
variables:
  debt_date: 2026-01-10
"""


def add_customers(robot, count: int, *, unit: str = "omsk-1", consent: bool = True, start: int = 1) -> list[Customer]:
    now = robot.clock.now()
    made = []
    with robot.unit_of_work() as session:
        for i in range(start, start + count):
            customer = Customer(account_number=f"11{i:08d}", name=f"Потребитель {i}", email=f"c{i}@example.ru",
                                email_consent_at=now if consent else None, phone=None, address=f"г. Омск, д. {i}",
                                unit=unit, territory=None, source="test", imported_at=now, updated_at=now)
            session.add(customer)
            made.append(customer)
        session.flush()
        session.expunge_all()
    return made


def add_manager(robot, login: str = "boss", *, role: str = "manager", active: bool = True) -> str:
    with robot.unit_of_work() as session:
        session.add(User(login=login, name="Руководитель", role=role, active=active, created_at=robot.clock.now()))
    return login


def scenario_file(tmp_path: Path, *, start: str = "2026-01-12 08:00", end: str = "2026-03-01 17:00",
                  recipients: str = "units: [omsk-1]", text: str | None = None, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text if text is not None else SCENARIO.format(start=start, end=end, recipients=recipients),
                    encoding="utf-8")
    return path


def window(robot) -> SendingWindow:
    return SendingWindow(robot.calendar)


def create(robot, path: Path) -> int:
    spec = load_scenario(path, robot.settings.tz)
    with robot.unit_of_work() as session:
        return life.create(session, spec, actor="specialist", now=robot.clock.now(), source=path.name).id


def write_list(tmp_path: Path, rows: list[tuple[str, str]], name: str = "debts.csv") -> Path:
    path = tmp_path / name
    path.write_text("Лицевой счёт;amount\n" + "\n".join(f"{a};{b}" for a, b in rows) + "\n", encoding="utf-8")
    return path


def approve(robot, campaign_id: int, manager: str = "boss") -> None:
    with robot.unit_of_work() as session:
        life.approve(session, life.get(session, campaign_id), manager=manager, now=robot.clock.now(),
                     window=window(robot), rate_per_s=robot.settings.informer_rate_per_s)


def start(robot, campaign_id: int) -> None:
    with robot.unit_of_work() as session:
        life.start(session, life.get(session, campaign_id), actor="specialist", now=robot.clock.now(),
                   window=window(robot), rate_per_s=robot.settings.informer_rate_per_s)


def launch(robot, tmp_path: Path, *, amounts: dict[str, str] | None = None, **scenario) -> int:
    """Create, import the debts, approve and start a campaign; its id."""
    campaign_id = create(robot, scenario_file(tmp_path, **scenario))
    if amounts:
        with robot.unit_of_work() as session:
            life.import_recipients(session, life.get(session, campaign_id), write_list(tmp_path, list(amounts.items())),
                                   actor="specialist", now=robot.clock.now())
    approve(robot, campaign_id)
    start(robot, campaign_id)
    return campaign_id


def tick_and_deliver(robot):
    done = tick(robot)
    if done.jobs:
        run_jobs(robot)
    return done


def run_until(robot, clock, until: datetime, step: timedelta = timedelta(hours=1)) -> None:
    """Tick (and deliver) every ``step`` of the test clock until ``until``."""
    while clock.now() < until:
        tick_and_deliver(robot)
        clock.advance(step)


def recipients(robot, campaign_id: int) -> dict[str, CampaignRecipient]:
    with robot.sessions() as session:
        rows = session.execute(select(CampaignRecipient, Customer.account_number)
                               .join(Customer, Customer.id == CampaignRecipient.customer_id)
                               .where(CampaignRecipient.campaign_id == campaign_id)).all()
        return {account: r for r, account in rows}


def campaign(robot, campaign_id: int) -> Campaign:
    with robot.sessions() as session:
        return session.get(Campaign, campaign_id)


def by_recipient(sink) -> dict[str, list]:
    found: dict[str, list] = {}
    for message in sink.messages():
        found.setdefault(str(message["To"].addresses[0].addr_spec), []).append(message)
    return found


def confirm_link(message) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(r"https?://\S+/informer/confirm/(\S+)", text).group(1)
