"""What the robot does with a classified appeal: R6, R7, R8, R9 and triage."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from classifiers import Classification
from robot.pipeline.decide import decide
from robot.storage.models import Appeal, OutboundMail
from tests.conftest import OMSK, customer_mail, run_jobs, send

pytest_plugins = ["tests.web_fixtures", "tests.desk_fixtures"]

THRESHOLDS = {"kind_threshold": 0.55, "scope_threshold": 0.85}


def _result(kind="complaint", confidence=0.9, scope="in", scope_confidence=0.95, flags=()):
    others = [k for k in ("question", "application", "complaint") if k != kind]
    scores = {kind: confidence, others[0]: (1 - confidence) * 0.6, others[1]: (1 - confidence) * 0.4}
    return Classification(kind=kind, kind_confidence=confidence, kind_scores=scores, scope=scope,
                          scope_confidence=scope_confidence, flags=list(flags))


@pytest.mark.parametrize(("flags", "reason"), [(["obscene"], "obscene"), (["threat"], "threat"),
                                               (["unreadable"], "unreadable"), (["obscene", "threat"], "threat")])
def test_r7_no_action_with_notice(flags, reason):
    decision = decide(_result(flags=flags), has_reply_channel=True, **THRESHOLDS)
    assert (decision.status, decision.reply, decision.reason) == ("no_action", "no_action", reason)


def test_r9_out_of_scope_when_sure():
    decision = decide(_result(scope="out", scope_confidence=0.9), has_reply_channel=True, **THRESHOLDS)
    assert (decision.status, decision.reply) == ("closed", "out_of_scope")


def test_doubtful_scope_is_not_closed_but_triaged():
    """Issue 3: out of scope with high confidence gets the R9 reply, otherwise triage (no R9 on a guess)."""
    decision = decide(_result(scope="out", scope_confidence=0.6), has_reply_channel=True, **THRESHOLDS)
    assert (decision.status, decision.reply, decision.reason) == ("triage", "ack", "doubtful_scope")
    assert (decision.deadline_kind, decision.shown_kind) == ("complaint", "complaint")  # the kind is sure
    # A doubtful kind as well: the kind's doubt decides the wording and the deadline.
    both = decide(_result(kind="question", confidence=0.5, scope="out", scope_confidence=0.6),
                  has_reply_channel=True, **THRESHOLDS)
    assert (both.status, both.reason, both.shown_kind) == ("triage", "low_confidence", None)
    sure_in = decide(_result(scope="in", scope_confidence=0.6), has_reply_channel=True, **THRESHOLDS)
    assert sure_in.status == "registered"


def test_r8_no_contact_and_no_channel_is_not_considered():
    decision = decide(_result(flags=["no_contact"]), has_reply_channel=False, **THRESHOLDS)
    assert (decision.status, decision.reply) == ("not_considered", None)


def test_no_contact_by_email_is_answered_as_usual():
    """R8 for e-mail: the sender's address is a channel; the routing step asks for what is missing."""
    decision = decide(_result(flags=["no_contact"]), has_reply_channel=True, **THRESHOLDS)
    assert (decision.status, decision.reply, decision.shown_kind) == ("registered", "ack", "complaint")


def test_low_confidence_goes_to_triage_with_the_earliest_deadline():
    """A doubt between complaint (14 days) and question (3 days) must not cost a deadline."""
    result = Classification(kind="complaint", kind_confidence=0.45,
                            kind_scores={"complaint": 0.45, "question": 0.4, "application": 0.15})
    decision = decide(result, has_reply_channel=True, **THRESHOLDS)
    assert (decision.status, decision.reply, decision.shown_kind) == ("triage", "ack", None)
    assert decision.deadline_kind == "question"
    assert result.top_two_kinds == [("complaint", 0.45), ("question", 0.4)]



def _answered(robot, gateway, sink, mail, monkeypatch=None, classified: Classification | None = None):
    """Send ``mail`` through the real gateway and pipeline; (the one reply, the appeal). With
    ``classified``, the classifier's output is faked to be that (the rest stays real)."""
    if classified is not None:
        import robot.pipeline.process as process

        monkeypatch.setattr(process, "classify_batch", lambda items: [classified for _ in items])
    send(gateway, mail)
    run_jobs(robot)
    [reply] = sink.wait_for(1)
    with robot.sessions() as session:
        return reply, session.scalars(select(Appeal)).one()


def test_obscene_mail_gets_the_no_action_notice_end_to_end(robot, gateway, sink):
    """R7: registered, no action taken, and the customer is told why."""
    notice, appeal = _answered(robot, gateway, sink, customer_mail(
        subject="Свет", body="Вы там совсем охуели? Третий день нет света, ул. Ленина 5. Иванов"))
    with robot.sessions() as session:
        outbound = session.scalars(select(OutboundMail)).one()
    assert appeal.status == "no_action"
    assert "obscene" in appeal.flags
    assert outbound.purpose == "no_action"
    text = notice.get_body(("plain",)).get_content()
    assert appeal.number in text
    assert "действия не производятся" in text
    assert "нецензурные либо оскорбительные выражения" in text


def test_doubtful_kind_is_acknowledged_in_neutral_words(robot, gateway, sink, monkeypatch):
    """Triage: the classifier's output is faked here to be unsure; the pipeline's handling is real."""
    unsure = Classification(kind="complaint", kind_confidence=0.4,
                            kind_scores={"complaint": 0.4, "question": 0.35, "application": 0.25})
    ack, appeal = _answered(robot, gateway, sink, customer_mail(), monkeypatch, unsure)
    assert appeal.status == "triage"
    assert appeal.classification["top_two_kinds"] == [["complaint", 0.4], ["question", 0.35]]
    # Registered Monday 12 January 2026: the question's 3 working days, not the complaint's 14.
    assert appeal.due_at == datetime(2026, 1, 15, 17, 0, tzinfo=OMSK)
    text = ack.get_body(("plain",)).get_content()
    assert "Вид обращения: обращение" in text
    assert "не позднее 15 января 2026 г." in text


def test_doubtful_scope_goes_to_triage_with_its_reason_on_the_desk(robot, gateway, sink, desk_as, monkeypatch):
    """Issue 3: scope `out` without high confidence is triaged, not closed with R9 on a guess; the
    desk says why. The classifier's output is faked to be unsure of the scope; the rest is real."""
    doubtful = Classification(kind="complaint", kind_confidence=0.95, scope="out", scope_confidence=0.6,
                              kind_scores={"complaint": 0.95, "question": 0.03, "application": 0.02})
    mail = customer_mail(subject="Мусор", body="Около трансформаторной будки свалка мусора, уберите. Сидоров, ул. Мира, 3")
    ack, appeal = _answered(robot, gateway, sink, mail, monkeypatch, doubtful)
    with robot.sessions() as session:
        purposes = session.scalars(select(OutboundMail.purpose)).all()
    assert (appeal.status, appeal.queue, appeal.scope) == ("triage", "triage", "out")
    assert appeal.classification["decision"]["reason"] == "doubtful_scope"
    assert purposes == ["ack"]  # acknowledged as a complaint; no R9 notice on a guess
    assert "14 рабочих дней" in ack.get_body(("plain",)).get_content()
    page = desk_as("router").page(f"/desk/appeal/{appeal.number}").text
    assert "не относится к деятельности компании, уверенность 60%" in page
    assert "возможно, обращение не относится к деятельности компании; решает специалист" in page
    # Decided not ours: the canned R9 answer (Прил. 3, п. 7.1) is one click away.
    composer = desk_as("router").page(f"/desk/appeal/{appeal.number}", canned="not_our_business").text
    assert "не относится\nк деятельности ОАО АК «Омскэнерго»" in composer and appeal.number in composer


def test_hot_water_is_not_our_business_end_to_end(robot, gateway, sink):
    """R9: thanks, and a notice that the question is not the company's business; the appeal is closed."""
    reply, appeal = _answered(robot, gateway, sink, customer_mail(
        subject="Горячая вода", body="Здравствуйте, у нас в доме уже неделю нет горячей воды, управляющая "
                                     "компания не отвечает. Прошу разобраться. Иванов, ул. Ленина 5, кв 3"))
    assert (appeal.status, appeal.scope) == ("closed", "out")
    text = reply.get_body(("plain",)).get_content()
    assert "не относится" in text and "к деятельности ОАО АК «Омскэнерго»" in text
    assert appeal.number in text


def test_the_model_reads_a_complaint_phrased_as_a_question(robot, gateway, sink):
    """R5: «Когда уже дадут свет???» reports a failure: a complaint, 14 working days."""
    send(gateway, customer_mail(subject="", body="Когда уже дадут свет???"))
    run_jobs(robot)
    [ack] = sink.wait_for(1)
    assert "14 рабочих дней" in ack.get_body(("plain",)).get_content()


def test_r7_repeat_is_no_action_naming_the_answered_appeal():
    decision = decide(_result(), has_reply_channel=True, repeat_of="2026-000007", **THRESHOLDS)
    assert (decision.status, decision.reason, decision.repeat_of) == ("no_action", "repeat", "2026-000007")


QUESTION = ("Здравствуйте. Почему у нас в доме на ул. Ленина, 5 каждый вечер отключают свет? "
            "Прошу объяснить причину. Иванов Пётр, тел. 8 913 123-45-67")


def _ask_and_get_an_answer(robot, gateway) -> str:
    """The customer asks QUESTION; a specialist answers it on the merits (standing in for the desk,
    a later issue). Returns the appeal's number."""
    send(gateway, customer_mail(subject="Отключения", body=QUESTION, message_id="<q1@example.ru>"))
    run_jobs(robot)
    with robot.unit_of_work() as session:
        appeal = session.scalars(select(Appeal)).one()
        appeal.answer_text = "Плановые работы на подстанции завершены, электроснабжение восстановлено."
        appeal.status = "closed"
        return appeal.number


def test_repeat_of_an_answered_question_gets_the_no_action_notice(robot, gateway, sink):
    """R7: the same question again, answered on the merits already, with nothing new."""
    first = _ask_and_get_an_answer(robot, gateway)
    reworded = QUESTION.replace("Прошу объяснить причину.", "Объясните, пожалуйста, причину!")
    send(gateway, customer_mail(subject="Отключения", body=reworded, message_id="<q2@example.ru>"))
    run_jobs(robot)
    [_, notice] = sink.wait_for(2)
    with robot.sessions() as session:
        second = session.scalars(select(Appeal).order_by(Appeal.id.desc())).first()
    assert second.status == "no_action"
    assert second.classification["decision"]["repeat_of"] == first
    text = notice.get_body(("plain",)).get_content()
    assert f"уже был дан ответ по существу (обращение № {first})" in text


def test_a_new_circumstance_is_not_a_repeat(robot, gateway, sink):
    _ask_and_get_an_answer(robot, gateway)
    news = ("После вашего ответа ничего не изменилось: вчера при отключении у меня сгорел холодильник, "
            "прошу возместить ущерб. Иванов Пётр, ул. Ленина, 5, тел. 8 913 123-45-67")
    send(gateway, customer_mail(subject="Сгорел холодильник", body=news, message_id="<q3@example.ru>"))
    run_jobs(robot)
    [_, ack] = sink.wait_for(2)
    with robot.sessions() as session:
        second = session.scalars(select(Appeal).order_by(Appeal.id.desc())).first()
    assert second.status == "registered"
    assert "Регистрационный номер" in ack.get_body(("plain",)).get_content()
