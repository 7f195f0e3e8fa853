"""Routing conditions, actions, required fields and evidence (R10, R12), on a small rules file."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from robot.config import PROJECT_ROOT
from robot.routing import Earlier, Facts, RulesError, Table, load_rules
from robot.routing.actions import ACTIONS, action
from robot.routing.conditions import CONDITIONS, condition
from robot.routing.schema import Actions, Conditions
from tests.conftest import OMSK
from tests.test_routing import CALENDAR, SMALL

#: Before the rules of SMALL: what each test adds to the top of the table.
_RULES_ANCHOR = "rules:\n"


def _rules(tmp_path: Path, rules: str, head: str = "") -> Table:
    """SMALL with ``rules`` (YAML, rule items) tried before its own, and ``head`` top-level keys."""
    assert SMALL.count(_RULES_ANCHOR) == 1
    text = SMALL.replace(_RULES_ANCHOR, _RULES_ANCHOR + textwrap.indent(textwrap.dedent(rules), "  "))
    path = tmp_path / "rules.yaml"
    path.write_text(textwrap.dedent(head) + text, encoding="utf-8")
    return Table(load_rules(path, PROJECT_ROOT / "templates"), CALENDAR)


def _facts(text: str = "Когда дадут свет?", kind: str = "question", **extra) -> Facts:
    base = {"subject": "", "text": text, "kind": kind, "topic": "other", "scope": "in", "flags": [],
            "status": "registered", "channel": "email"}
    return Facts(**base | extra)


def _omsk(*args: int) -> datetime:
    return datetime(*args, tzinfo=OMSK)


AFTER_HOURS = """\
- name: after hours
  when: {working_hours: false}
  then: {reply: after_hours, priority: low}
  continue: true
"""


@pytest.mark.parametrize(("moment", "working"), [
    (_omsk(2026, 1, 12, 10, 0), True),  # Monday
    (_omsk(2026, 1, 12, 7, 59), False),  # before opening
    (_omsk(2026, 1, 12, 17, 0), False),  # closing time
    (_omsk(2026, 1, 17, 11, 0), False),  # Saturday
    (_omsk(2026, 1, 7, 11, 0), False),  # Christmas: a Wednesday, a holiday of the production calendar
    # 03:30 UTC is 09:30 in Omsk: company time, not the server's.
    (datetime(2026, 1, 12, 3, 30, tzinfo=UTC), True),
    (datetime(2026, 1, 12, 11, 30, tzinfo=UTC), False),
])
def test_working_hours_follow_the_company_calendar_and_time_zone(tmp_path, moment, working):
    table = _rules(tmp_path, AFTER_HOURS, head='working_hours: {from: "08:00", to: "17:00"}\n')
    routing = table.route(_facts(received_at=moment))
    assert (routing.reply == "after_hours") is not working
    step = routing.trace[0]
    if working:
        assert step["verdict"] == "miss"
        assert "within working hours" in step["reason"]
    else:
        assert step == {"rule": "after hours", "verdict": "hit", "queue": "routing",
                        "actions": ["reply after_hours", "priority low"]}
        assert routing.priority == "low"


def test_time_conditions_weekday_hours_and_dates(tmp_path):
    table = _rules(tmp_path, """\
        - name: new year holidays
          when: {dates: {from: 2026-12-31, to: 2027-01-11}}
          then: {priority: low}
          continue: true
        - name: night
          when: {hours: {from: "22:00", to: "06:00"}, weekday: [fri, sat, sun]}
          then: {queue: triage}
        """)
    night = table.route(_facts(received_at=_omsk(2026, 1, 17, 23, 30)))  # Saturday night
    assert night.queue == "triage"
    early = table.route(_facts(received_at=_omsk(2026, 1, 18, 5, 59)))  # Sunday, before six
    assert early.queue == "triage"
    monday = table.route(_facts(received_at=_omsk(2026, 1, 19, 23, 30)))
    assert monday.trace[1]["reason"] == "received mon 2026-01-19 23:30"
    day = table.route(_facts(received_at=_omsk(2026, 1, 17, 12, 0)))
    assert day.trace[1]["reason"] == "received sat 2026-01-17 12:00, not 22:00–06:00"
    assert table.route(_facts(received_at=_omsk(2027, 1, 11, 9, 0))).priority == "low"
    assert table.route(_facts(received_at=_omsk(2027, 1, 12, 9, 0))).priority == "normal"
    unknown = table.route(_facts())
    assert unknown.trace[0]["reason"] == "the time of receipt is unknown"


def test_sender_keywords_and_subject_conditions(tmp_path):
    table = _rules(tmp_path, """\
        - name: the regional ministry
          when: {sender_domain: omskportal.ru}
          then: {queue: triage, assign: petrov, priority: high}
        - name: a known sender
          when: {sender: Boss@Example.RU}
          then: {assign: ivanova}
        - name: words
          when: {keywords: [опора линии, провод], subject_matches: "^срочно"}
          then: {topic: equipment, priority: urgent}
        """)
    ministry = table.route(_facts(sender="minenergo@mail.omskportal.ru"))  # a subdomain counts
    assert (ministry.queue, ministry.assignee, ministry.priority) == ("triage", "petrov", "high")
    boss = table.route(_facts(sender="boss@example.ru"))
    assert boss.assignee == "ivanova"
    assert boss.trace[0]["reason"] == "sender's domain is 'example.ru'"
    wires = table.route(_facts("Упала  ОПОРА\nлинии во дворе", subject="Срочно!"))
    assert (wires.topic, wires.priority) == ("equipment", "urgent")
    not_a_word = table.route(_facts("Проводим ремонт", subject="Срочно"))  # «провод» inside «проводим»
    assert not_a_word.trace[2]["reason"].startswith("none of the keywords")
    assert not_a_word.topic is None


def test_first_match_stops_unless_continue_and_later_rules_override(tmp_path):
    table = _rules(tmp_path, """\
        - name: everything is high
          then: {priority: high, assign: ivanova}
          continue: true
        - name: complaints urgent
          when: {kind: complaint}
          then: {priority: urgent, triage: true, stop: false}
        - name: complaints to triage
          when: {kind: complaint}
          then: {queue: triage}
        - name: never reached for complaints
          when: {kind: complaint}
          then: {queue: omsk-1}
        """)
    routing = table.route(_facts("Нет света", kind="complaint"))
    assert (routing.queue, routing.priority, routing.assignee, routing.triage) == ("triage", "urgent", "ivanova", True)
    assert [step["verdict"] for step in routing.trace[:4]] == ["hit", "hit", "hit", "miss"]
    assert routing.trace[3]["reason"] == "not reached: an earlier rule stopped"


REQUIRED = """\
required:
  application: [account, address]
  complaint: [address, phone]
"""
ASK = """\
- name: ask for what is missing
  when: {kind: [application, complaint], data_complete: false}
  then: {queue: routing, ask_customer: true}
"""


@pytest.mark.parametrize(("text", "kind", "missing"), [
    ("Прошу заключить договор энергоснабжения", "application", ["account", "address"]),
    ("Прошу заключить договор, ул. Ленина, д. 5", "application", ["account"]),
    ("Прошу заключить договор, лицевой счёт 1112345678", "application", ["address"]),
    ("Прошу заключить договор, ул. Ленина 5, л/с 1112345678", "application", []),
    ("Третий день нет света! Тел. 8 913 123-45-67", "complaint", ["address"]),
    ("Когда дадут свет?", "question", []),  # a question requires nothing
])
def test_required_fields_per_kind(tmp_path, text, kind, missing):
    """R10: what the routing specialist needs is declared per kind; what an appeal lacks is listed."""
    table = _rules(tmp_path, ASK, head=REQUIRED)
    routing = table.route(_facts(text, kind=kind))
    assert routing.missing == missing
    if missing:
        assert (routing.queue, routing.reply, routing.ask_customer) == ("routing", "ask_missing", True)
        assert routing.trace[0]["actions"] == ["queue routing", f"ask the customer for: {', '.join(missing)}"]
    else:
        assert routing.reply is None
        assert routing.trace[0]["verdict"] == "miss"


def test_form_fields_complete_the_data(tmp_path):
    table = _rules(tmp_path, ASK, head=REQUIRED)
    routing = table.route(_facts("Прошу подключить дом", kind="application", channel="web",
                                 form={"address": "с. Екатерининское, ул. Мира, 3", "account": "4212345678"}))
    assert routing.missing == []
    assert routing.territory.unit == "tara"


def test_web_form_territory_is_the_best_evidence(tmp_path):
    table = _rules(tmp_path, "")
    # The text names a street of Omsk, but the customer chose the territory on the form.
    routing = table.route(_facts("Когда включат свет на ул. Ленина?", channel="web", form={"territory": "Тара"}))
    assert (routing.territory.unit, routing.territory.confidence, routing.territory.source) == ("tara", 1.0, "form")
    assert routing.territory.evidence == ["web form: territory «Тара» → settlement «г. Тара», unit tara"]
    assert routing.queue == "tara"
    by_code = table.route(_facts("Нет света", form={"territory": "omsk-1"}))
    assert by_code.territory.district == "Центральный административный округ"
    # A territory the file does not know is said so, and the text is read instead.
    unknown = table.route(_facts("ул. Ленина, 5", form={"territory": "Атлантида"}))
    assert unknown.territory.unit == "omsk-1"
    assert unknown.territory.evidence[0] == "web form: territory «Атлантида» is not a place of the rules file"


def test_form_choices_list_districts_and_settlements(tmp_path):
    choices = dict(_rules(tmp_path, "").gazetteer.choices())
    assert choices["Тарский район"] == "Омская область, Тарский район"
    assert choices["с. Екатерининское"] == "с. Екатерининское (Тарский район)"
    assert "улица Ленина" not in choices


def test_earlier_appeal_is_weaker_evidence_than_the_text(tmp_path):
    table = _rules(tmp_path, "")
    earlier = Earlier("2026-000007", "Омская область", "Тарский район", "Тарский РЭС")
    routing = table.route(_facts("Опять нет света", earlier=earlier))
    territory = routing.territory
    assert (territory.unit, territory.source, territory.confidence) == ("tara", "earlier", 0.4)
    assert territory.evidence == ["the customer's earlier appeal 2026-000007 was in Тарский район → unit tara"]
    assert routing.queue == "tara"
    assert table.route(_facts("Нет света на ул. Ленина", earlier=earlier)).territory.unit == "omsk-1"
    # A unit renamed or removed since: no evidence.
    gone = Earlier("2026-000008", None, None, "Старый РЭС")
    assert not table.route(_facts("Нет света", earlier=gone)).territory.known


def _refused(tmp_path: Path, rules: str, head: str = "") -> list[str]:
    with pytest.raises(RulesError) as error:
        _rules(tmp_path, rules, head)
    text = (tmp_path / "rules.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    return [f"{lines[p.line - 1].strip()} | {p.message}" for p in error.value.problems]


@pytest.mark.parametrize(("rules", "expected"), [
    ("- name: x\n  then: {assign: sidorov}\n",
     "then: {assign: sidorov} | rule 'x': no person 'sidorov' (not a member or supervisor of any queue)"),
    ("- name: x\n  then: {reply: no_such_template}\n",
     "then: {reply: no_such_template} | rule 'x': no template mail/no_such_template.subject.j2"),
    ("- name: x\n  then: {topic: weather}\n", "then: {topic: weather} | rule 'x': no topic 'weather'"),
    ("- name: x\n  when: {status: lost}\n  then: {queue: triage}\n", "when: {status: lost} | rule 'x': no status 'lost'"),
    ("- name: x\n  when: {hours: {from: 9:30, to: '18:00'}}\n  then: {queue: triage}\n",
     "when: {hours: {from: 9:30, to: '18:00'}} | rules.0.when.hours.from: Value error, write a time of day in quotes"),
    ("- name: x\n  when: {colour: red}\n  then: {queue: triage}\n", "when: {colour: red} | unknown key 'rules.0.when.colour'"),
    ("- name: x\n  then: {sms: hello}\n", "then: {sms: hello} | unknown key 'rules.0.then.sms'"),
    ("- name: doubtful kind\n  then: {queue: triage}\n  continue: true\n",
     "- name: doubtful kind | rule 'doubtful kind' is defined twice"),
])
def test_unknown_names_are_refused_with_their_line(tmp_path, rules, expected):
    """R12: unknown condition, action, queue, person, topic or template names are errors, located."""
    problems = _refused(tmp_path, rules)
    assert any(p.startswith(expected) for p in problems), problems


def test_every_schema_key_is_a_registered_condition_or_action():
    """The registries and the schema name the same things; a name registered twice is refused."""
    assert set(CONDITIONS) == set(Conditions.model_fields)
    assert set(ACTIONS) == set(Actions.model_fields)
    with pytest.raises(ValueError, match="registered twice"):
        condition("kind", "again")(lambda wanted, seen: None)
    with pytest.raises(ValueError, match="registered twice"):
        action("queue", "again")(lambda value, routing, seen: "")
