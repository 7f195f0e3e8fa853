"""What the robot does with a classified appeal — decided here, applied in one place.

The Standard's cases, in order:
- R7: obscene or abusive words, threats to staff, unreadable text, a repeat of a question already
  answered on the merits with nothing new → registered, no action taken, and the customer is told why;
- R9: clearly not the company's business → thanks and a notice that the company cannot answer,
  and the appeal is closed;
- R8: no contact details and no channel to answer through → registered, not considered, nothing
  sent (an e-mail always has a channel: its sender);
- a doubtful kind → a human triages it; the customer is acknowledged in neutral words with the
  earliest due date either likely kind would have, so the doubt never costs a deadline;
- probably not the company's business, but not surely (below ``scope_threshold``) → a human
  triages it: no R9 notice is sent on a guess, and the customer is acknowledged as its kind;
- otherwise → registered and acknowledged as its kind (R6).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from classifiers import Classification
from robot.deadlines.limits import ANSWER_LIMITS
from robot.routing import Routing

#: The reasons of R7, most serious first: a threat outranks swearing.
NO_ACTION_FLAGS = ("threat", "obscene", "unreadable", "repeat")


@dataclass(frozen=True)
class Decision:
    status: str  # registered | triage | no_action | closed | not_considered
    reply: str | None  # template of the reply: ack | no_action | out_of_scope, or None
    deadline_kind: str  # the kind whose answer limit sets the due date
    shown_kind: str | None  # the kind named to the customer; None: neutral words
    reason: str | None = None
    repeat_of: str | None = None  # the number of the appeal already answered, for a repeat

    def as_dict(self) -> dict[str, str | None]:
        return {"status": self.status, "reply": self.reply, "deadline_kind": self.deadline_kind,
                "shown_kind": self.shown_kind, "reason": self.reason, "repeat_of": self.repeat_of}


def decide(result: Classification, *, kind_threshold: float, scope_threshold: float,
           has_reply_channel: bool, repeat_of: str | None = None) -> Decision:
    """``repeat_of``: the number of an appeal of this customer, answered on the merits, that this
    one repeats with nothing new (found by the pipeline, which knows the customer's history)."""
    flags = [*result.flags, *(["repeat"] if repeat_of else [])]
    for flag in NO_ACTION_FLAGS:
        if flag in flags:
            return Decision("no_action", "no_action", result.kind, result.kind, reason=flag,
                            repeat_of=repeat_of if flag == "repeat" else None)
    if result.scope == "out" and (result.scope_confidence or 0.0) >= scope_threshold:
        return Decision("closed", "out_of_scope", result.kind, result.kind, reason="out_of_scope")
    if "no_contact" in result.flags and not has_reply_channel:
        return Decision("not_considered", None, result.kind, result.kind, reason="no_contact")
    if result.kind_confidence < kind_threshold:
        likely = [kind for kind, _ in result.top_two_kinds]
        earliest = min(likely, key=lambda kind: ANSWER_LIMITS[kind])
        return Decision("triage", "ack", earliest, None, reason="low_confidence")
    if result.scope == "out":
        return Decision("triage", "ack", result.kind, result.kind, reason="doubtful_scope")
    return Decision("registered", "ack", result.kind, result.kind)


def with_routing(decision: Decision, routing: Routing) -> Decision:
    """The decision after the routing rules: their triage, and their reply instead of the acknowledgement.

    Only the acknowledgement is replaced — the R7 and R9 notices are the Standard's, not the
    rules' — so a message still gets exactly one automatic reply.
    """
    if routing.triage and decision.status == "registered":
        decision = replace(decision, status="triage", shown_kind=None, reason="routing_rule")
    if routing.reply and decision.reply == "ack":
        decision = replace(decision, reply=routing.reply)
    return decision
