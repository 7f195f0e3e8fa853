"""When the phone channel calls a recipient again (R23, R24, R16) — pure decisions, time passed in.

After a negative call (no answer, busy, hung up early, unreachable) the next try is 1 h 30 min
later; after a positive one (the message played to the end, or the customer switched to the
operator) no sooner than 7 days, and only while the campaign still needs it; at most
``max_attempts`` calls in all; only inside the sending window (R16); only to the phone number of
the customer's contract (R24). Asterisk call files only retry unanswered calls, so the policy is
ours: the planner asks ``next_call_at`` and stores the answer as a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from robot.informer.customers import normalise_phone as russian_number
from robot.informer.window import SendingWindow

RETRY_AFTER_NEGATIVE = timedelta(hours=1, minutes=30)
NEXT_AFTER_POSITIVE = timedelta(days=7)
#: Call results (CampaignAttempt.result for channel "phone").
POSITIVE = frozenset({"answered", "operator"})
#: ``interrupted``: the call's outcome was lost (the dialler or its line died mid-call); it counts as
#: negative, so the customer is called again in 1 h 30 min, never twice at once and never forgotten.
NEGATIVE = frozenset({"no_answer", "busy", "hung_up", "unreachable", "interrupted"})
#: A call placed and not yet finished: no next call is planned until its outcome is stored.
PENDING = frozenset({"queued", "calling"})
#: Kinds whose need ends only when its condition clears (a "paid" list, a mark): after a positive
#: call the customer is called again in 7 days. For the others a positive call is the result.
NEEDED_UNTIL_CLEARED = frozenset({"debt", "suspension", "action"})


@dataclass(frozen=True)
class Call:
    """One earlier call to the recipient in this campaign."""

    at: datetime
    result: str


def next_call_at(calls: Sequence[Call], *, now: datetime, window: SendingWindow, max_attempts: int,
                 still_needed: bool = True) -> datetime | None:
    """The moment of the next call to a recipient, or None when there is to be none (the campaign
    no longer needs it, the attempts are used up, or a call is still in progress)."""
    if not still_needed or len(calls) >= max_attempts:
        return None
    if not calls:
        return window.next_allowed(now)
    last = max(calls, key=lambda call: call.at)
    if last.result in PENDING:
        return None
    if last.result in NEGATIVE:
        earliest = last.at + RETRY_AFTER_NEGATIVE
    elif last.result in POSITIVE:
        earliest = last.at + NEXT_AFTER_POSITIVE
    else:
        raise ValueError(f"unknown call result {last.result!r} (known: "
                         f"{', '.join(sorted(POSITIVE | NEGATIVE | PENDING))})")
    return window.next_allowed(max(now, earliest))


def normalise_phone(text: str) -> str:
    """A Russian phone number as +7XXXXXXXXXX: «8 (3812) 40-05-00» and «+7 3812 400500» are one number."""
    number = russian_number(text)
    if number is None:
        raise ValueError(f"not a Russian phone number with its area code: {text!r}")
    return number


def contract_number(contract_phone: str | None) -> str | None:
    """The number the robot may call (R24: only the contract's), or None when the contract has
    none or an unusable one; the robot never dials a number from anywhere else."""
    return russian_number(contract_phone) if contract_phone else None
