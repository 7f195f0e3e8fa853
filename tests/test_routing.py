"""Routing by territory and kind (R10, R11, R12): a checked, testable, explainable rules file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from robot.config import PROJECT_ROOT
from robot.deadlines.calendar import WorkCalendar
from robot.routing import Facts, Gazetteer, Router, RulesError, Table, load_rules
from tests.conftest import OMSK

CALENDAR = WorkCalendar(OMSK)

SMALL = textwrap.dedent("""\
    version: 1
    default_queue: routing
    branches:
      - {code: ЗЭС, name: Западные электрические сети}
      - {code: СЭС, name: Северные электрические сети}
    units:
      - {code: omsk-1, name: Омский городской РЭС-1, branch: ЗЭС, account_prefixes: ["11"]}
      - {code: tara, name: Тарский РЭС, branch: СЭС, account_prefixes: ["42"]}
    regions:
      - name: г. Омск
        aliases: [Омск]
        districts:
          - name: Центральный административный округ
            aliases: [ЦАО, Центральный округ]
            unit: omsk-1
            streets:
              - {name: улица Ленина, aliases: [Ленина]}
              - {name: проспект Карла Маркса, aliases: [К. Маркса, Карла Маркса]}
      - name: Омская область
        districts:
          - name: Тарский район
            aliases: [Тарский р-н]
            unit: tara
            settlements:
              - {name: г. Тара, aliases: [Тара]}
              - {name: с. Екатерининское, aliases: [Екатерининское]}
    queues:
      - {name: routing, title: Маршрутизация, members: [ivanova], supervisor: petrov}
      - {name: triage, title: Разбор}
      - {name: omsk-1, title: Омский городской РЭС-1}
      - {name: tara, title: Тарский РЭС}
    rules:
      - name: doubtful kind
        when: {status: triage}
        then: {queue: triage}
      - name: applications and complaints first to the routing specialist
        when: {kind: [application, complaint]}
        then: {queue: routing}
      - name: questions by territory
        when: {kind: question, territory_known: true}
        then: {queue_of_unit: true}
    tests:
      - {text: "Когда плановое отключение на ул. Ленина?", kind: question, expect_queue: omsk-1}
      - {text: "Нет света в Таре третий день", kind: complaint, expect_queue: routing}
    """)


def _facts(text: str, kind: str = "question", status: str = "registered", **extra) -> Facts:
    return Facts(subject="", text=text, kind=kind, topic="other", scope="in", flags=[], status=status,
                 channel="email", **extra)


def route(loaded, facts: Facts):
    return Table(loaded, CALENDAR).route(facts)


@pytest.fixture
def rules_path(tmp_path) -> Path:
    path = tmp_path / "routing_rules.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def test_question_goes_to_its_unit_with_evidence(rules_path):
    """R10: by territory — the street names the okrug, the okrug names the unit."""
    loaded = load_rules(rules_path)
    routing = route(loaded, _facts("Подскажите, когда плановое отключение на ул. Ленина, д. 5?"))
    assert routing.queue == "omsk-1"
    assert (routing.territory.region, routing.territory.branch) == ("г. Омск", "ЗЭС")
    assert routing.territory.unit_name == "Омский городской РЭС-1"
    assert any("улица Ленина" in line for line in routing.territory.evidence)
    assert [hit["rule"] for hit in routing.hits] == ["questions by territory"]
    assert routing.misses[0] == {"rule": "doubtful kind", "verdict": "miss",
                                 "reason": "status is 'registered', not 'triage'"}
    assert routing.hits[0]["actions"] == ["queue omsk-1 (the unit's)"]
    assert routing.rules_version == loaded.version


@pytest.mark.parametrize("text", ["пр. К.Маркса 18", "проспект Карла Маркса, 18", "ПР-Т КАРЛА МАРКСА"])
def test_abbreviations_and_case_do_not_matter(rules_path, text):
    loaded = load_rules(rules_path)
    assert Gazetteer(loaded.rules).detect("", text).unit == "omsk-1"


def test_settlement_and_account_prefix(rules_path):
    gazetteer = Gazetteer(load_rules(rules_path).rules)
    assert gazetteer.detect("", "с. Екатерининское, нет света").district == "Тарский район"
    by_account = gazetteer.detect("", "Лицевой счёт 4212345678, прошу пересчитать")
    assert (by_account.unit, by_account.confidence) == ("tara", 0.7)
    unknown = gazetteer.detect("", "Нет света")
    assert not unknown.known


def test_applications_and_complaints_pass_the_routing_specialist_first(rules_path):
    """R10: applications and complaints are checked by a routing specialist before going on."""
    loaded = load_rules(rules_path)
    routing = route(loaded, _facts("Нет света в Таре", kind="complaint"))
    assert routing.queue == "routing"
    assert routing.territory.unit == "tara"  # known already; the specialist forwards by it


def test_unknown_territory_goes_to_the_default_queue(rules_path):
    loaded = load_rules(rules_path)
    routing = route(loaded, _facts("Когда дадут справку?"))
    assert routing.queue == "routing"
    assert routing.hits == []


def _line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("then: {queue: triage}", "then: {queue: triage, qeue: x}", "unknown key 'rules.0.then.qeue'"),
    ("then: {queue: triage}", "then: {queue: nowhere}", "no queue 'nowhere'"),
    ("    unit: tara\n", "    unit: taraa\n", "no unit 'taraa'"),
    ("- name: doubtful kind", "- name: [doubtful kind", "YAML"),
    ("when: {kind: question,", "when: {kind: wish,", "rules.2.when.kind"),
    ("- {name: tara, title: Тарский РЭС}", "- {name: triage, title: x}", "queue 'triage' is defined twice"),
    ("when: {status: triage}", "when: {status: triage, text_matches: '(unclosed'}", "bad regular expression"),
])
def test_broken_files_are_refused_with_line_numbers(tmp_path, old, new, message):
    """R12: an admin is told exactly what is wrong, and where, before anything takes effect."""
    assert old in SMALL
    text = SMALL.replace(old, new)
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as error:
        load_rules(path)
    line = _line_of(text, new.strip().splitlines()[0])
    problems = error.value.problems
    # A YAML parser notices a syntax error where the next token begins: that line or the next.
    lines = {line, line + 1} if message == "YAML" else {line}
    assert any(message in p.message and p.line in lines for p in problems), [str(p) for p in problems]
    assert str(problems[0]).startswith(f"{path}:{problems[0].line}:")


def test_street_in_two_districts_of_one_city_is_an_error(tmp_path):
    anchor = "  - name: Омская область\n"
    assert anchor in SMALL
    second_okrug = ("      - name: Советский административный округ\n        unit: omsk-1\n"
                    "        streets:\n          - {name: улица Ленина}\n")
    path = tmp_path / "twice.yaml"
    path.write_text(SMALL.replace(anchor, second_okrug + anchor), encoding="utf-8")
    with pytest.raises(RulesError, match="улица Ленина is assigned to both"):
        load_rules(path)


def test_same_street_name_in_another_town_is_fine(tmp_path):
    """Every town has its улица Ленина; only within one town must a street have one district."""
    old = "        settlements:\n          - {name: г. Тара"
    assert old in SMALL
    path = tmp_path / "other_town.yaml"
    path.write_text(SMALL.replace(old, "        streets:\n          - {name: улица Ленина}\n" + old), encoding="utf-8")
    assert load_rules(path).warnings == []


def test_rule_after_a_catch_all_is_a_warning(tmp_path):
    text = SMALL.replace("tests:\n", "  - name: everything\n    then: {queue: triage}\n"
                                      "  - name: never\n    when: {kind: question}\n    then: {queue: triage}\n"
                                      "tests:\n")
    path = tmp_path / "catch_all.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_rules(path)
    assert [w.message for w in loaded.warnings] == [
        "rule 'never' can never match: rule 'everything' before it matches everything"]


def test_router_reloads_a_valid_change_and_refuses_a_broken_one(rules_path):
    """Hot reload: a valid file takes effect; an invalid one is refused and the old rules stay."""
    import os

    router = Router(rules_path, CALENDAR)
    question = _facts("Когда плановое отключение на ул. Ленина?")
    assert router.route(question).queue == "omsk-1"
    first_version = router.version

    rules_path.write_text(SMALL.replace("then: {queue_of_unit: true}", "then: {queue: triage}"), encoding="utf-8")
    os.utime(rules_path, ns=(1, 1))  # a change the router can see even within one clock tick
    assert router.route(question).queue == "triage"
    assert router.version != first_version

    rules_path.write_text("rules: [this is: not valid", encoding="utf-8")
    os.utime(rules_path, ns=(2, 2))
    assert router.route(question).queue == "triage"  # the rules in force stay
    assert router.last_error is not None


def test_shipped_rules_file_is_valid_and_its_own_tests_pass():
    """R12: the shipped routing_rules.yaml passes `routes check` and `routes test`."""
    from typer.testing import CliRunner

    from robot.cli.main import app

    path = PROJECT_ROOT / "routing_rules.yaml"
    check = CliRunner().invoke(app, ["routes", "check", str(path)])
    assert check.exit_code == 0, check.output
    assert "OK, version" in check.output
    tested = CliRunner().invoke(app, ["routes", "test", str(path)])
    assert tested.exit_code == 0, tested.output
    assert " 0 failed" in tested.output


def test_registered_appeal_carries_its_queue_territory_and_reasons(robot, gateway, sink, rules_path):
    """R10, R19: the journal gets the territory columns; the appeal keeps why it went where it did."""
    from sqlalchemy import select

    from robot.storage.models import Appeal, Event
    from tests.conftest import customer_mail, run_jobs, send

    robot.settings.routing_rules = rules_path
    send(gateway, customer_mail(subject="Плановое отключение",
                                body="Подскажите, пожалуйста, когда закончится плановое отключение на ул. Ленина, 12? "
                                     "Иванов Пётр"))
    run_jobs(robot)
    with robot.sessions() as session:
        appeal = session.scalars(select(Appeal)).one()
        routed = session.scalars(select(Event).where(Event.action == "routed")).one()
    assert appeal.kind == "question"
    assert appeal.queue == "omsk-1"
    assert (appeal.region, appeal.city_district, appeal.branch, appeal.unit) == (
        "г. Омск", "Центральный административный округ", "ЗЭС", "Омский городской РЭС-1")
    assert appeal.routing["rules_version"] == load_rules(rules_path).version
    assert [step["verdict"] for step in appeal.routing["trace"]] == ["miss", "miss", "hit"]
    assert appeal.routing["territory"]["evidence"]
    assert routed.detail["queue"] == "omsk-1"


def test_explain_says_why(rules_path):
    """R12: `routes explain` prints the classifier's view, the territory with evidence, every rule's verdict."""
    from typer.testing import CliRunner

    from robot.cli.main import app

    result = CliRunner().invoke(app, ["routes", "explain", "--rules", str(rules_path), "--text",
                                      "Подскажите, когда закончится плановое отключение на ул. Ленина, 12?"])
    assert result.exit_code == 0, result.output
    assert "territory:  г. Омск / Центральный административный округ / ЗЭС / omsk-1" in result.output
    assert "evidence: street «улица Ленина»" in result.output
    assert "miss  doubtful kind: status is 'registered', not 'triage'" in result.output
    assert "HIT   questions by territory → omsk-1" in result.output
    assert "decision:   queue omsk-1" in result.output


def test_check_command_rejects_a_broken_file_with_its_line(tmp_path):
    from typer.testing import CliRunner

    from robot.cli.main import app

    path = tmp_path / "broken.yaml"
    path.write_text(SMALL.replace("then: {queue: triage}", "then: {queue: nowhere}"), encoding="utf-8")
    result = CliRunner().invoke(app, ["routes", "check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:{_line_of(SMALL, 'then: {queue: triage}')}:" in result.output
    assert "no queue 'nowhere'" in result.output


def test_reload_parses_changed_sections_and_still_locates_errors(rules_path):
    """A reload re-reads only the sections that changed; errors keep their file line; a new street counts."""
    import os

    router = Router(rules_path, CALENDAR)
    places = router.table.gazetteer
    rules_path.write_text(SMALL.replace("then: {queue: triage}", "then: {queue: omsk-1}"), encoding="utf-8")
    os.utime(rules_path, ns=(1, 1))
    assert router.table.gazetteer is places  # only the rules changed: the places index is kept

    broken = SMALL.replace("- name: doubtful kind", "- name: doubtful kind: [")
    rules_path.write_text(broken, encoding="utf-8")
    os.utime(rules_path, ns=(2, 2))
    router.route(_facts("ул. Ленина"))
    assert router.last_error is not None
    line = _line_of(broken, "doubtful kind: [")
    assert router.last_error.problems[0].line in {line, line + 1}, str(router.last_error)

    added = SMALL.replace("- {name: улица Ленина, aliases: [Ленина]}",
                          "- {name: улица Ленина, aliases: [Ленина]}\n          - {name: улица Тюленева}")
    rules_path.write_text(added, encoding="utf-8")
    os.utime(rules_path, ns=(3, 3))
    assert router.route(_facts("Нет света на ул. Тюленева")).territory.unit == "omsk-1"
    assert router.table.gazetteer is not places


def test_a_street_edit_in_the_shipped_file_reparses_its_district_and_errors_keep_their_line(tmp_path):
    """R12: the shipped places are parsed district by district; a reload after a street edit gives
    the same rules as a full parse, and a broken line inside a district is reported at its line."""
    import os

    import yaml

    shipped = (PROJECT_ROOT / "routing_rules.yaml").read_text(encoding="utf-8")
    path = tmp_path / "routing_rules.yaml"
    path.write_text(shipped, encoding="utf-8")
    router = Router(path, CALENDAR)
    assert router.route(_facts("Нет света на ул. Ленина")).territory.unit == "omsk-1"
    compiled = router.table.compiled

    added = shipped.replace("          - name: улица Ленина\n",
                            "          - name: улица Новостроечная\n          - name: улица Ленина\n", 1)
    assert added != shipped
    path.write_text(added, encoding="utf-8")
    os.utime(path, ns=(5, 5))
    assert router.route(_facts("Нет света на ул. Новостроечная")).territory.unit == "omsk-1"
    assert router.table.compiled is compiled  # the rules did not change: their conditions are kept
    assert router.table.loaded.rules == load_rules(path).rules  # the same as a full parse
    assert router.table.loaded.rules.model_dump() == type(router.table.loaded.rules).model_validate(
        yaml.safe_load(added)).model_dump()

    broken = added.replace("          - name: улица Новостроечная\n", "          - name: [улица Новостроечная\n", 1)
    path.write_text(broken, encoding="utf-8")
    os.utime(path, ns=(6, 6))
    router.route(_facts("ул. Ленина"))
    assert router.last_error is not None
    line = _line_of(broken, "- name: [улица Новостроечная")
    assert router.last_error.problems[0].line in {line, line + 1}, str(router.last_error)


def test_a_street_edit_after_a_rule_edit_parses_only_that_district(tmp_path, monkeypatch):
    """R12 (reload <= 1 s): a reload that keeps the places section whole keeps its districts' parses
    too, so the next street edit parses one district, not all of them."""
    import os

    from robot.routing import load

    shipped = (PROJECT_ROOT / "routing_rules.yaml").read_text(encoding="utf-8")
    path = tmp_path / "routing_rules.yaml"
    path.write_text(shipped, encoding="utf-8")
    router = Router(path, CALENDAR)
    parsed: list[str] = []
    real_load = load._load
    monkeypatch.setattr(load, "_load", lambda chunk, before: parsed.append(chunk) or real_load(chunk, before))

    rule_edit = shipped.replace("The classifier was not sure of the kind", "The classifier was unsure of the kind", 1)
    assert rule_edit != shipped
    path.write_text(rule_edit, encoding="utf-8")
    os.utime(path, ns=(7, 7))
    router.route(_facts("ул. Ленина"))
    assert router.last_error is None
    assert [chunk.split(":", 1)[0] for chunk in parsed] == ["rules"]

    parsed.clear()
    street_edit = rule_edit.replace("          - name: улица Ленина\n",
                                    "          - name: улица Новостроечная\n          - name: улица Ленина\n", 1)
    path.write_text(street_edit, encoding="utf-8")
    os.utime(path, ns=(8, 8))
    assert router.route(_facts("Нет света на ул. Новостроечная")).territory.unit == "omsk-1"
    assert len(parsed) == 1 and "улица Новостроечная" in parsed[0]


def test_a_rule_misses_on_its_cheap_conditions_before_its_text_is_searched(tmp_path):
    """Explanations (R12): a rule for another unit misses because of the unit, whatever its regular
    expression would say; the text search runs only for rules whose other conditions hold."""
    text = SMALL.replace("rules:\n", "rules:\n  - name: tara words\n"
                                     "    when: {text_matches: 'свет', unit: tara}\n"
                                     "    then: {queue: tara}\n", 1)
    assert text != SMALL
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    table = Table(load_rules(path), CALENDAR)
    omsk = table.route(_facts("Вопрос о тарифе, ул. Ленина"))  # no «свет»: the unit decides the miss
    assert omsk.trace[0] == {"rule": "tara words", "verdict": "miss", "reason": "unit is 'omsk-1', not 'tara'"}
    tara = table.route(_facts("В Таре всё хорошо, вопрос о тарифе"))
    assert tara.trace[0]["verdict"] == "miss" and "does not match /свет/" in tara.trace[0]["reason"]
    assert table.route(_facts("Нет света в Таре")).queue == "tara"


def test_a_street_named_like_an_okrug_is_not_the_okrug():
    """R12: «г. Тара, ул. Советская» is in Tara; the street's word is not the Soviet okrug of Omsk, and
    a place named in the subject and the text again is one piece of evidence, not two."""
    loaded = load_rules(PROJECT_ROOT / "routing_rules.yaml")
    gazetteer = Gazetteer(loaded.rules)
    territory = gazetteer.detect("Нет света в Таре", "Третий день нет света в г. Таре, ул. Советская, 5.")
    assert (territory.unit, territory.confidence) == ("tara", 0.9)
    assert territory.evidence == ["settlement «г. Тара» (written «таре») → Тарский район"]
    okrug = gazetteer.detect("", "Живу в Советском округе, нет света")
    assert okrug.district == "Советский административный округ"
