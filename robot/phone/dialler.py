"""The dialler: claims queued calls, places them on free lines, stores every outcome.

One asyncio task per line keeps that line's ctrl_tcp connection open (reconnecting with growing
pauses when baresip restarts) and carries one call at a time: claim the oldest queued call of a
running, approved campaign inside the sending window (``queued`` → ``calling``, a conditional
update, so two dialler tasks never take one call), speak its message into a WAV, dial, and store
the outcome with the next call's moment in one transaction. A dialler killed mid-call leaves the
row ``calling``; ``plan.resolve_stale`` settles it later (``interrupted``, called again in 1 h 30 min).
Database work runs in threads so the lines' events are never held up by a write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, update

from robot.app import Robot
from robot.config import Settings
from robot.informer import campaigns as life
from robot.informer import phone_message as message
from robot.informer.campaigns import CampaignError
from robot.informer.phone_plan import apply_outcome, resolve_stale, stale_after
from robot.informer.phone_policy import normalise_phone
from robot.informer.sound import Sound, SpeechToolError
from robot.informer.window import SendingWindow
from robot.phone.baresip import Line
from robot.phone.call import Outcome, place_call
from robot.phone.ctrl import Ctrl
from robot.storage.models import Campaign, CampaignAttempt, CampaignRecipient, Customer

log = logging.getLogger("robot.phone")


def lines_from_settings(settings: Settings) -> list[Line]:
    """The robot's lines: ``settings.phone_lines`` baresip instances with their dirs in the data dir."""
    account = settings.phone_account or "<sip:robot@127.0.0.1>"
    root = settings.data_dir.resolve() / "phone"
    return [Line(name=f"line{i}", directory=root / f"line{i}", sip_port=settings.phone_sip_port + 2 * i,
                 ctrl_port=settings.phone_ctrl_port + i, rtp_first=settings.phone_rtp_port + 10 * i,
                 account=_account_on_port(account, settings.phone_sip_port + 2 * i))
            for i in range(settings.phone_lines)]


def _account_on_port(account: str, port: int) -> str:
    """Without a registrar each line is reached on its own port: ``<sip:robot@127.0.0.1>`` becomes
    ``<sip:robot@127.0.0.1:5061>``; an account with a port or a registrar is left as it is."""
    aor, _, rest = account.partition(">")
    if ";auth_pass" in rest or "outbound" in rest or aor.count(":") > 1:
        return account
    return f"{aor}:{port}>{rest}"


def trunk(settings: Settings) -> Callable[[str], str]:
    """The SIP URI a contract number is dialled as (``phone_dial_uri``)."""
    def uri(number: str) -> str:
        return settings.phone_dial_uri.format(number=number, digits=number.lstrip("+"))
    return uri


def operator_uri(settings: Settings) -> str | None:
    if not settings.phone_operator:
        return None
    if settings.phone_operator.startswith("sip:"):
        return settings.phone_operator
    return trunk(settings)(normalise_phone(settings.phone_operator))


@dataclass
class Claimed:
    attempt_id: int
    number: str
    wav: Path


@dataclass
class Dialled:
    """What a dialler run did (the bench and tests read it)."""

    outcomes: dict[int, Outcome] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class Dialler:
    def __init__(self, robot: Robot, lines: list[Line], *, dial_uri: Callable[[str], str] | None = None,
                 keep_messages: bool = False) -> None:
        self.robot = robot
        self.lines = lines
        self.dial_uri = dial_uri or trunk(robot.settings)
        self.operator = operator_uri(robot.settings)
        self.keep_messages = keep_messages
        self.messages = robot.settings.data_dir.resolve() / "phone" / "messages"
        self.done = Dialled()

    # --- the lines ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, *, until_idle: bool = False, poll_s: float = 1.0) -> Dialled:
        """Work the lines until ``stop`` is set (or, with ``until_idle``, until no call is left)."""
        await asyncio.to_thread(self._sweep)
        await asyncio.gather(*(self._line(line, stop, until_idle, poll_s) for line in self.lines))
        return self.done

    async def _line(self, line: Line, stop: asyncio.Event, until_idle: bool, poll_s: float) -> None:
        ctrl: Ctrl | None = None
        pause = 0.5
        try:
            while not stop.is_set():
                if ctrl is None or not ctrl.connected:
                    ctrl = Ctrl(*line.ctrl_address)
                    try:
                        await ctrl.connect()
                        pause = 0.5
                        log.info("line %s: connected to baresip at %s:%s", line.name, *line.ctrl_address)
                    except (OSError, TimeoutError) as error:
                        log.warning("line %s: no baresip at %s:%s (%s); retrying in %.0f s", line.name,
                                    *line.ctrl_address, error, pause)
                        ctrl = None
                        await _wait(stop, pause)
                        pause = min(pause * 2, 30.0)
                        continue
                claimed = await asyncio.to_thread(self._claim, line.name)
                if claimed is None:
                    if until_idle:
                        return
                    await _wait(stop, poll_s)
                    continue
                await self._call(ctrl, line, claimed)
        finally:
            if ctrl is not None:
                await ctrl.close()

    async def _call(self, ctrl: Ctrl, line: Line, claimed: Claimed) -> None:
        try:
            sound = await asyncio.to_thread(self._render, claimed)
        except CampaignError as error:  # the message became too long: never played
            await asyncio.to_thread(self._refuse, claimed.attempt_id, error)
            claimed.wav.unlink(missing_ok=True)
            return
        except (SpeechToolError, ValueError) as error:
            log.error("call %s: the message could not be spoken: %s", claimed.attempt_id, error)
            self.done.errors.append(f"{claimed.attempt_id}: {error}")
            outcome = Outcome("interrupted", f"speech: {error}"[:255], "", 0.0, ())
        else:
            outcome = await place_call(ctrl, self.dial_uri(claimed.number), str(claimed.wav),
                                       message_s=sound.seconds,
                                       ringing_timeout_s=self.robot.settings.phone_ringing_timeout_s,
                                       operator_key=self.robot.settings.phone_operator_key,
                                       operator_uri=self.operator)
        log.info("call %s on %s: %s (%s, %.1f s)", claimed.attempt_id, line.name, outcome.result, outcome.detail,
                 outcome.seconds)
        await asyncio.to_thread(self._store, claimed.attempt_id, outcome)
        self.done.outcomes[claimed.attempt_id] = outcome
        if not self.keep_messages:
            claimed.wav.unlink(missing_ok=True)  # it holds personal data (names, amounts)

    # --- the database (in threads) -----------------------------------------------------------

    def _window(self) -> SendingWindow:
        return SendingWindow(self.robot.calendar)

    def _sweep(self) -> None:
        settings = self.robot.settings
        with self.robot.unit_of_work() as session:
            resolve_stale(session, self.robot.clock.now(), stale_after(settings.phone_ringing_timeout_s),
                          self._window(), settings.phone_max_attempts)

    def _claim(self, line: str) -> Claimed | None:
        now = self.robot.clock.now()
        if not self._window().allows(now):
            return None
        with self.robot.unit_of_work() as session:
            candidates = session.execute(
                select(CampaignAttempt.id, CampaignAttempt.address, Campaign)
                .join(Campaign, Campaign.id == CampaignAttempt.campaign_id)
                .where(CampaignAttempt.channel == "phone", CampaignAttempt.result == "queued",
                       Campaign.state == "running", Campaign.ends_at > now)
                .order_by(CampaignAttempt.id).limit(8)).all()
            for attempt_id, number, campaign in candidates:
                if not life.is_approved(campaign):
                    continue  # changed behind the life cycle's back: the tick revokes it (R24)
                taken = session.execute(update(CampaignAttempt).where(
                    CampaignAttempt.id == attempt_id, CampaignAttempt.result == "queued")
                    .values(result="calling", started_at=now, line=line)
                    .execution_options(synchronize_session=False))
                if taken.rowcount == 1:
                    return Claimed(attempt_id, number, self.messages / f"attempt-{attempt_id}.wav")
        return None

    def _render(self, claimed: Claimed) -> Sound:
        with self.robot.sessions() as session:
            attempt = session.get(CampaignAttempt, claimed.attempt_id)
            assert attempt is not None
            recipient = session.get(CampaignRecipient, attempt.recipient_id)
            campaign = session.get(Campaign, attempt.campaign_id)
            assert recipient is not None and campaign is not None
            customer = session.get(Customer, recipient.customer_id)
            assert customer is not None
            return message.render(campaign, customer, recipient.variables, self.robot.settings.tz, claimed.wav,
                                  sounds=self.robot.settings.phone_sounds)

    def _store(self, attempt_id: int, outcome: Outcome) -> None:
        settings = self.robot.settings
        with self.robot.unit_of_work() as session:
            attempt = session.get(CampaignAttempt, attempt_id)
            assert attempt is not None
            if attempt.result != "calling":
                return  # settled meanwhile (resolve_stale): an outcome is stored once
            apply_outcome(session, attempt, outcome.result, self.robot.clock.now(), window=self._window(),
                          max_attempts=settings.phone_max_attempts, detail=outcome.detail,
                          call_id=outcome.call_id)

    def _refuse(self, attempt_id: int, error: CampaignError) -> None:
        now = self.robot.clock.now()
        with self.robot.unit_of_work() as session:
            attempt = session.get(CampaignAttempt, attempt_id)
            assert attempt is not None
            attempt.result, attempt.result_at, attempt.detail = "refused", now, error.code
            recipient = session.get(CampaignRecipient, attempt.recipient_id)
            assert recipient is not None
            if recipient.state == "pending":
                recipient.state, recipient.reason, recipient.next_due_at = "excluded", error.code[:64], None


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass

