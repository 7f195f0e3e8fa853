"""The actions a rule may take under ``then:``, found by name in one registry.

An action changes the decision being built (a :class:`Routing`) and says in words what it did;
the words go into the rule's "hit" in the trace. Actions of one rule apply in registry order;
a later rule (after ``continue: true``) overrides what an earlier one set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from robot.routing.conditions import Seen
from robot.routing.facts import Routing

#: (value, the decision so far, the appeal) → what was done, in words.
Apply = Callable[[Any, Routing, Seen], str]


@dataclass(frozen=True)
class Action:
    name: str
    description: str
    apply: Apply


ACTIONS: dict[str, Action] = {}
#: The reply template that asks the customer for what is missing (templates/mail/ask_missing.*.j2).
ASK_TEMPLATE = "ask_missing"


def action(name: str, description: str) -> Callable[[Apply], Apply]:
    def register(apply: Apply) -> Apply:
        if name in ACTIONS:
            raise ValueError(f"action {name!r} is registered twice")
        ACTIONS[name] = Action(name, description, apply)
        return apply

    return register


@action("queue", "Route to this queue.")
def _queue(name: str, routing: Routing, seen: Seen) -> str:
    routing.queue = name
    return f"queue {name}"


@action("queue_of_unit", "Route to the queue named after the territory's unit (when the territory is known).")
def _queue_of_unit(_: bool, routing: Routing, seen: Seen) -> str:
    if seen.territory.unit is None:
        return "no unit: the queue stays " + routing.queue
    routing.queue = seen.territory.unit
    return f"queue {routing.queue} (the unit's)"


@action("assign", "Assign to this person (a login among the queues' members and supervisors).")
def _assign(login: str, routing: Routing, seen: Seen) -> str:
    routing.assignee = login
    return f"assigned to {login}"


@action("triage", "A person decides the kind first: the appeal's status becomes triage.")
def _triage(_: bool, routing: Routing, seen: Seen) -> str:
    routing.triage = True
    return "triage"


@action("topic", "Set the topic (one of the classifier's topics).")
def _topic(topic: str, routing: Routing, seen: Seen) -> str:
    routing.topic = topic
    return f"topic {topic}"


@action("priority", "Set the priority: low, normal, high or urgent.")
def _priority(priority: str, routing: Routing, seen: Seen) -> str:
    routing.priority = priority
    return f"priority {priority}"


@action("reply", "Send this automatic reply (templates/mail/NAME.*.j2) instead of the acknowledgement.")
def _reply(template: str, routing: Routing, seen: Seen) -> str:
    routing.reply, routing.ask_customer = template, False
    return f"reply {template}"


@action("ask_customer", "Ask the customer for the fields the kind requires and the appeal lacks; "
                        "the appeal waits for the customer.")
def _ask_customer(_: bool, routing: Routing, seen: Seen) -> str:
    if not seen.missing:
        return "nothing to ask: the data is complete"
    routing.reply, routing.ask_customer = ASK_TEMPLATE, True
    return f"ask the customer for: {', '.join(seen.missing)}"


@action("stop", "Stop here (the default); `stop: false` or the rule's `continue: true` tries the next rules.")
def _stop(_: bool, routing: Routing, seen: Seen) -> str:
    return "stop"
