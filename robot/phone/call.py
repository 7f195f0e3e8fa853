"""One call on one line: dial, play the message, tell the outcome from baresip's events.

What the calling side sees (../shared/notes/phone-baresip.md, checked on baresip 1.0.0):

=========================  ======================================================  ============
the customer               events                                                  result
=========================  ======================================================  ============
listens to the end         CALL_ESTABLISHED, CALL_CLOSED "end of file"             answered
presses the operator key   CALL_DTMF_START "0" → we send ``transfer`` →            operator
                           CALL_CLOSED "Call transfered"
rejects                    CALL_CLOSED "486 Rejected" (also 600/603, "Busy")       busy
hangs up early             CALL_ESTABLISHED, CALL_CLOSED "Connection reset …"      hung_up
never answers              CALL_RINGING, then nothing: we hang up after the        no_answer
                           ringing timeout
cannot be reached          no CALL_RINGING (a dead host: CALL_CLOSED "Connection   unreachable
                           timed out" after ~32 s); we hang up after the timeout
=========================  ======================================================  ============

If the line's connection is lost mid-call, the outcome is unknown (``interrupted``, negative: the
policy calls again in 1 h 30 min). Timeouts here are of the line, not of the policy, so they use
the event loop's clock.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from robot.informer.phone_plan import AFTER_MESSAGE_S
from robot.phone.ctrl import Ctrl, CtrlError, Event

log = logging.getLogger("robot.phone")

#: How long a hangup waits for baresip to report the call closed.
CLOSE_WAIT_S = 2.0
_BUSY = ("486", "600", "603", "busy", "rejected", "decline")
_NO_ANSWER = ("480", "408", "487")


@dataclass
class CallWatch:
    """The outcome of one call from its events, as a pure state machine (tests feed it events)."""

    operator_key: str = "0"
    call_id: str = ""
    ringing: bool = False
    established: bool = False
    transferring: bool = False
    result: str | None = None
    detail: str = ""
    events: list[str] = field(default_factory=list)

    def feed(self, event: Event) -> str | None:
        """Take one event; returns the action the caller must take: "transfer", or None."""
        if self.result is not None:
            return None
        if event.call_id:
            if not self.call_id:
                self.call_id = event.call_id
            elif event.call_id != self.call_id:
                return None  # another call's (a late event of an earlier one)
        self.events.append(f"{event.type} {event.param}".strip())
        kind, param = event.type, event.param
        if kind in ("CALL_RINGING", "CALL_PROGRESS"):
            self.ringing = True
        elif kind == "CALL_ESTABLISHED":
            self.established = self.ringing = True
        elif kind == "CALL_DTMF_START" and self.established and param == self.operator_key and not self.transferring:
            self.transferring = True
            return "transfer"
        elif kind == "CALL_CLOSED":
            self.detail = param
            self.result = self._closed(param.lower())
        return None

    def _closed(self, reason: str) -> str:
        if "transfer" in reason and self.transferring:
            return "operator"
        if self.established:
            return "answered" if "end of file" in reason else "hung_up"
        if any(code in reason for code in _BUSY):
            return "busy"
        if self.ringing and any(reason.startswith(code) for code in _NO_ANSWER):
            return "no_answer"
        return "unreachable"

    def timed_out(self) -> str:
        """We hung up because nobody answered within the ringing timeout."""
        self.result = "no_answer" if self.ringing else "unreachable"
        self.detail = "ringing timeout" if self.ringing else "no ringing"
        return self.result

    def lost(self, why: str) -> str:
        self.result, self.detail = "interrupted", why
        return self.result


@dataclass(frozen=True)
class Outcome:
    result: str
    detail: str
    call_id: str
    seconds: float
    events: tuple[str, ...]


async def place_call(ctrl: Ctrl, uri: str, wav: str, *, message_s: float, ringing_timeout_s: float,
                     operator_key: str, operator_uri: str | None) -> Outcome:
    """Dial ``uri`` on the line of ``ctrl``, play ``wav`` once answered, and return the outcome."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    watch = CallWatch(operator_key=operator_key)
    ctrl.drain_events()
    try:
        await ctrl.command("ausrc", f"aufile,{wav}")
        await ctrl.command("dial", uri)
    except CtrlError as error:
        return _outcome(watch.lost(str(error)), watch, started, loop)
    ringing_until = started + ringing_timeout_s
    answered_until: float | None = None
    while watch.result is None:
        deadline = answered_until if watch.established else ringing_until
        if watch.established and answered_until is None:
            answered_until = deadline = loop.time() + message_s + AFTER_MESSAGE_S
        try:
            event = await asyncio.wait_for(ctrl.events.get(), max(0.0, deadline - loop.time()))
        except TimeoutError:
            if watch.established:
                watch.lost("no end of the message reported")
            else:
                watch.timed_out()
            await _hangup(ctrl, watch.call_id)
            break
        if event is None:
            watch.lost("baresip ctrl connection lost")
            break
        if watch.feed(event) == "transfer":
            if operator_uri:
                try:
                    await ctrl.command("transfer", operator_uri)
                except CtrlError as error:
                    log.warning("transfer to the operator failed: %s", error)
                    watch.transferring = False
            else:
                watch.transferring = False
    return _outcome(watch.result or "interrupted", watch, started, loop)


async def _hangup(ctrl: Ctrl, call_id: str) -> None:
    """Hang up, and wait for the call's CALL_CLOSED: left in the queue, it would be taken for the
    end of the line's next call (whose id is learnt from its first event)."""
    try:
        await ctrl.command("hangup")
    except CtrlError as error:
        log.warning("hangup failed: %s", error)
        return
    loop = asyncio.get_running_loop()
    until = loop.time() + CLOSE_WAIT_S
    while loop.time() < until:
        try:
            event = await asyncio.wait_for(ctrl.events.get(), until - loop.time())
        except TimeoutError:
            break
        if event is None:
            break
        if event.type == "CALL_CLOSED" and (not call_id or event.call_id in ("", call_id)):
            break


def _outcome(result: str, watch: CallWatch, started: float, loop: asyncio.AbstractEventLoop) -> Outcome:
    return Outcome(result=result, detail=watch.detail[:255], call_id=watch.call_id,
                   seconds=round(loop.time() - started, 2), events=tuple(watch.events))


