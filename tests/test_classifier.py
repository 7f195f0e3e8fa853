"""The shipped classifier: kind (R5), scope (R9), its artifact and its command line."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pytest

from classifiers.corpus import Example, is_heldout, load_corpus, read_jsonl
from classifiers.evaluate import evaluate
from classifiers.model import ARTIFACT, ModelMismatch, load
from classifiers.predict import classifier_at


def test_held_out_part_never_overlaps_training():
    train, heldout = load_corpus()
    assert len(train) + len(heldout) >= 2000
    assert not {r.id for r in train} & {r.id for r in heldout}
    assert all(is_heldout(r.id) for r in heldout)
    assert 0.15 < len(heldout) / (len(train) + len(heldout)) < 0.25


def test_corpus_labels_are_from_the_known_sets():
    from classifiers import KINDS, TOPICS

    train, heldout = load_corpus()
    for row in train + heldout:
        assert row.kind in KINDS, row.id
        assert row.topic in TOPICS, row.id
        assert row.scope in ("in", "out"), row.id


def test_shipped_model_reaches_the_held_out_target():
    """R5: kind macro-F1 >= 0.90 on the held-out part, which training never saw."""
    _, heldout = load_corpus()
    reports = evaluate(heldout, classifier_at().classify_batch)
    assert reports["kind"].macro_f1 >= 0.90
    assert reports["scope"].accuracy >= 0.90


def test_artifact_from_another_scikit_learn_is_refused(tmp_path):
    with open(ARTIFACT, "rb") as handle:
        payload = pickle.load(handle)
    payload["sklearn"] = "0.0.1"
    stale = tmp_path / "stale.pkl"
    stale.write_bytes(pickle.dumps(payload))
    with pytest.raises(ModelMismatch, match="scikit-learn 0.0.1.*mailrobot classifier train"):
        load(stale)


def test_missing_artifact_says_how_to_build_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="mailrobot classifier train"):
        load(tmp_path / "none.pkl")


# Two trainings (each ~20 s on a quiet core, with the length-balanced copies): more than the
# suite's 120 s default when the shared box is busy.
@pytest.mark.timeout(600)
def test_training_replaces_the_model_only_when_not_worse(tmp_path):
    from classifiers.train import train

    path = tmp_path / "model.pkl"
    first = train(path=path)
    assert first.replaced and path.exists()
    assert first.heldout["kind"].macro_f1 >= 0.90
    # A model trained on wrong labels is worse on the held-out part and is not taken: half of the
    # training rows again, each with another kind. (Thousands of copies of one made-up note were
    # used before; they no longer move a model trained on 4,000 varied rows.)
    from dataclasses import replace

    rotate = {"question": "application", "application": "complaint", "complaint": "question"}
    train_rows, _ = load_corpus()
    noise = [replace(row, id=f"{row.id}+wrong", kind=rotate[row.kind]) for row in train_rows[::2]]
    second = train(noise, path=path)
    assert not second.replaced
    assert load(path).metadata["heldout_kind_macro_f1"] == first.heldout["kind"].macro_f1


def test_a_model_is_judged_on_real_mail_too():
    """Specialists' corrections are real mail: a fifth of them is never trained on, and a model
    worse on that fifth is not taken (once there are enough to judge by), whatever the corpus says."""
    from classifiers.train import CORRECTIONS_TO_JUDGE, Scores, split_corrections

    corpus_only, judged = Scores(0.95), Scores(0.95, 0.80)
    assert Scores(0.95).not_worse_than(None)
    assert Scores(0.95).not_worse_than(corpus_only) and not Scores(0.94).not_worse_than(corpus_only)
    assert Scores(0.95, 0.80).not_worse_than(judged)
    assert not Scores(0.96, 0.79).not_worse_than(judged)  # better on the corpus, worse on real mail
    assert not Scores(0.94, 0.90).not_worse_than(judged)  # and the other way round
    assert CORRECTIONS_TO_JUDGE >= 20

    examples = [Example(id=f"correction:2026-{n:06d}", subject="", text="x", kind="question") for n in range(500)]
    trained_on, judging = split_corrections(examples)
    assert {e.id for e in judging} == {e.id for e in examples if is_heldout(e.id)}
    assert 60 <= len(judging) <= 140 and len(trained_on) + len(judging) == 500
    assert split_corrections(examples[::-1])[1] == judging[::-1]  # an appeal stays on its side


def _status_enquiries(numbers):
    """This company's real mail labels a status enquiry about one's application as an application
    (the corpus calls such a text a question)."""
    return [Example(id=f"correction:2026-{n:06d}", subject="", kind="application", topic="connection", scope="in",
                    text=f"Подскажите, на каком этапе моя заявка на технологическое присоединение дачи № {1000 + n} "
                         f"в СНТ «Рассвет-{n}»? Петров И. И., тел. 8913{5550000 + n}") for n in numbers]


@pytest.mark.timeout(600)
def test_held_out_corrections_are_not_trained_on_and_judge_the_new_model(tmp_path):
    from classifiers.train import CORRECTIONS_TO_JUDGE, train

    held = [n for n in range(3000) if is_heldout(f"correction:2026-{n:06d}")][:CORRECTIONS_TO_JUDGE + 10]
    taught = [n for n in range(3000) if not is_heldout(f"correction:2026-{n:06d}")][:len(held)]
    path = tmp_path / "model.pkl"
    # The active model learnt the company's convention from corrections on the training side.
    first = train(_status_enquiries(taught), path=path)
    assert first.replaced and first.corrections is None and first.scores.corrections is None
    assert load(path).metadata["extra_rows"] == len(taught)
    # A new model whose corrections are all on the judging side never sees them: it reads them
    # as the corpus does, is worse on real mail than the active model, and is not taken.
    second = train(_status_enquiries(held), path=path)
    assert second.corrections["kind"].rows == len(held)
    assert second.classifier.model.metadata["extra_rows"] == 0
    assert second.classifier.model.metadata["corrections_heldout"] == len(held)
    read = [c.kind for c in second.classifier.classify_batch([(e.subject, e.text) for e in _status_enquiries(held)])]
    assert read.count("application") < len(held) // 2  # not learnt: it was never trained on
    assert second.previous.corrections > second.scores.corrections
    assert not second.replaced
    assert load(path).metadata["trained_at"] == first.classifier.model.metadata["trained_at"]


def _mailrobot(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "robot.cli.main", *args], check=False, input=stdin, capture_output=True,
                          text=True, timeout=120)


def test_classify_command_reads_json_lines_and_plain_text():
    result = _mailrobot("classify", stdin='{"subject": "Свет", "text": "Когда уже дадут свет???"}\n'
                                          '{"text": "Прошу заключить договор энергоснабжения на гараж"}\n')
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["kind"] for row in rows] == ["complaint", "application"]
    for row in rows:
        assert 0.0 <= row["kind_confidence"] <= 1.0
        assert row["scope"] in ("in", "out")
        assert set(row["flags"]) <= {"no_contact", "obscene", "threat", "unreadable"}
    plain = _mailrobot("classify", "--plain", stdin="Какие документы нужны для подключения дачи?\n")
    assert json.loads(plain.stdout)["kind"] == "question"


def test_classify_command_refuses_bad_input_clearly():
    result = _mailrobot("classify", stdin='{"subject": "no text"}\n')
    assert result.returncode != 0
    assert "line 1" in result.stderr


def test_eval_command_shows_model_and_baseline(tmp_path):
    data = tmp_path / "eval.jsonl"
    _, heldout = load_corpus()
    with data.open("w", encoding="utf-8") as handle:
        for row in heldout[:60]:
            handle.write(json.dumps({"text": row.text, "kind": row.kind, "scope": row.scope}, ensure_ascii=False) + "\n")
    result = _mailrobot("classifier", "eval", str(data), stdin="")
    assert result.returncode == 0, result.stderr
    assert "model    kind: 60 rows, macro-F1" in result.stdout
    assert "baseline kind: 60 rows, macro-F1" in result.stdout
    assert "confusion" in result.stdout
    assert read_jsonl(data)[0].kind == heldout[0].kind


def test_reduced_heads_say_what_scikit_learn_says():
    """The shipped heads are scikit-learn's calibrated SVMs reduced to numbers; same probabilities."""
    import numpy as np
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    from classifiers.model import LinearHead

    rng = np.random.default_rng(7)
    features = rng.normal(size=(300, 20))
    for labels in (rng.choice(["a", "b", "c"], size=300), rng.choice(["in", "out"], size=300)):
        head = CalibratedClassifierCV(LinearSVC(), method="sigmoid", cv=3, ensemble=False).fit(features, labels)
        reduced = LinearHead.from_calibrated(head)
        assert reduced.classes == list(head.classes_)
        assert np.allclose(reduced.predict_proba(features), head.predict_proba(features), atol=1e-9)


def test_specialists_corrections_are_kept_and_feed_training(robot, gateway, sink):
    """Learning from specialists: a correction changes the appeal (and its due date) and is kept."""
    from datetime import datetime

    from sqlalchemy import select

    from robot.pipeline.correct import correct, corrected_examples
    from robot.storage.models import Appeal, Correction, Event
    from tests.conftest import OMSK, customer_mail, run_jobs, send

    send(gateway, customer_mail(subject="Вопрос", body="Подскажите, какие документы нужны для договора? Иванов"))
    run_jobs(robot)
    with robot.sessions() as session:
        number = session.scalars(select(Appeal.number)).one()
    result = correct(robot, number, actor="petrova", kind="complaint", scope="in")
    assert result.changed == {"kind": ("question", "complaint")}
    with robot.sessions() as session:
        appeal = session.scalars(select(Appeal)).one()
        [stored] = session.scalars(select(Correction)).all()
        actions = session.scalars(select(Event.action).where(Event.appeal_id == appeal.id)).all()
    assert appeal.kind == "complaint"
    assert appeal.due_at == datetime(2026, 1, 30, 17, 0, tzinfo=OMSK)  # 14 working days now
    assert (stored.actor, stored.field, stored.old, stored.new) == ("petrova", "kind", "question", "complaint")
    assert "corrected" in actions
    [example] = corrected_examples(robot)
    assert (example.kind, example.text) == ("complaint", "Подскажите, какие документы нужны для договора? Иванов")
    with pytest.raises(ValueError, match="kind must be one of"):
        correct(robot, number, actor="petrova", kind="wish")


def test_reduced_vectorizers_say_what_scikit_learn_says():
    """The shipped TF-IDF is scikit-learn's reduced to vocabulary and idf; the same matrix, to float32."""
    from classifiers.model import Tfidf, _vectorizers
    from classifiers.text import normalise

    train, heldout = load_corpus()
    docs = [normalise(r.subject, r.text) for r in train[:400]]
    others = [normalise(r.subject, r.text) for r in heldout[:100]] + ["", "   ", "!!!", "net sveta", "Ёлка  \t ёж",
                                                                       "свет свет СВЕТ свет, ааааа ааааа"]
    for vectorizer in _vectorizers():
        vectorizer.fit(docs)
        reduced = Tfidf.from_sklearn(vectorizer)
        assert abs(reduced.transform(others) - vectorizer.transform(others)).max() < 1e-6
        # Again, from the words' cached columns (char n-grams), in another order: the same numbers.
        again = reduced.transform(others[::-1])
        assert abs(again - vectorizer.transform(others[::-1])).max() < 1e-6
        assert "_word_columns" not in pickle.loads(pickle.dumps(reduced)).__dict__  # the cache is not saved


def test_loading_the_model_does_not_import_scikit_learn():
    """A worker's start: importing scikit-learn alone costs about 0.9 s, the load target is 1 s."""
    code = ("import sys; from classifiers.predict import classifier_at; classifier_at().classify('', 'нет света'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_domain_cues_do_not_depend_on_length():
    """Scope cues: one «электроснабжение» in a long letter weighs what it weighs in a short note."""
    from classifiers.cues import NAMES, cue_matrix
    from classifiers.text import normalise

    short = normalise("", "Нет электроснабжения")
    long = normalise("", "Здравствуйте! " + "Пишу вам как житель микрорайона. " * 30 + "Нет электроснабжения.")
    stairwell = normalise("", "В подъезде не горит свет на лестнице")
    benefit = normalise("", "Когда придёт пособие на ребёнка?")
    matrix = cue_matrix([short, long, stairwell, benefit]).toarray()
    column = {name: i for i, name in enumerate(NAMES)}
    assert (matrix[0] == matrix[1]).all()
    assert matrix[0, column["grid_strong"]] == matrix[0, column["grid_any"]] == 1
    assert matrix[2, column["grid_only_in_building"]] == 1
    assert matrix[3, column["grid_any"]] == 0 and matrix[3, column["public_services"]] == 1


def test_letters_balance_length_without_touching_labels_or_held_out():
    """Training copies wrap a short row in a letter; kind, scope and topic stay; ids stay in training."""
    from classifiers.augment import LONG_CHARS, length_balanced

    train, heldout = load_corpus()
    letters = length_balanced(train)
    originals = {r.id: r for r in train}
    assert letters and not {r.id for r in letters} & {r.id for r in heldout}
    for copy in letters:
        source = originals[copy.id.removesuffix("+letter")]
        assert source.text in copy.text and len(source.text) < LONG_CHARS
        assert (copy.kind, copy.scope, copy.topic) == (source.kind, source.scope, source.topic)
    rows = train + letters
    shares = {}
    for cell in {(r.kind, r.scope) for r in rows}:
        members = [r for r in rows if (r.kind, r.scope) == cell]
        shares[cell] = sum(len(r.text) >= LONG_CHARS for r in members) / len(members)
    assert max(shares.values()) - min(shares.values()) < 0.2


def test_real_looking_out_of_scope_letters_are_not_ours():
    """R9: a polite letter about another body's business is `out`, a terse grid note `in`."""
    benefit_text = ("Уважаемая администрация! Меня зовут Зуева Т. Г. Подскажите, пожалуйста, когда будет "
                    "рассмотрено моё заявление на ежемесячную выплату на ребёнка? Подавала в марте. С уважением, Зуева")
    stairwell_text = ("Добрый день. В подъезде № 3 на лестнице не горят лампы с 5 по 9 этаж, управляющая компания "
                      "не меняет уже месяц.")
    [benefit, stairwell, outage] = classifier_at().classify_batch([
        ("", benefit_text), ("", stairwell_text), ("", "нет электричества на ул. Садовой с утра, когда дадут свет"),
    ])
    assert (benefit.scope, benefit.kind) == ("out", "question")
    assert (stairwell.scope, stairwell.kind) == ("out", "complaint")
    assert (outage.scope, outage.kind) == ("in", "complaint")


def test_label_offsets_shift_the_calibrated_probabilities_as_documented():
    """p'(c) ∝ p(c)·e^offset: the shipped offsets are train.OPTIONS', and no offsets give the heads' own numbers."""
    import dataclasses

    import numpy as np

    from classifiers.train import OPTIONS

    model = classifier_at().model
    assert model.offsets == OPTIONS["offsets"]
    texts = ["нет света на ул. Садовой с утра", "Подскажите, когда будет ремонт дороги?",
             "Прошу подключить мой новый дом к электросети, договор готов заключить."]
    shifted = model.predict_proba([""] * 3, texts)
    plain = dataclasses.replace(model, offsets={}).predict_proba([""] * 3, texts)
    matrix = model.features([""] * 3, texts)
    for name, head in model.heads.items():
        raw = head.predict_proba(matrix)
        assert np.allclose([[row[c] for c in head.classes] for row in plain[name]], raw)
        weights = raw * np.exp([model.offsets.get(name, {}).get(c, 0.0) for c in head.classes])
        expected = weights / weights.sum(axis=1, keepdims=True)
        assert np.allclose([[row[c] for c in head.classes] for row in shifted[name]], expected)
        assert all(abs(sum(row.values()) - 1.0) < 1e-9 for row in shifted[name])


def test_requests_for_something_new_with_a_grievance_behind_them_are_applications():
    """R5: past troubles in the background do not make a request for a new thing a complaint."""
    connection = ("Добрый день. Сколько можно ходить по кабинетам, меня три раза отправляли из окна в окно! "
                  "Прошу наконец принять заявку на технологическое присоединение моего нового дома к электросети, "
                  "мощность 15 кВт, документы прилагаю. Иванова А. П., тел. +7 913 111-22-33")
    crossing = ("Уважаемая администрация! Мы много лет просим, и нас не слышат. Прошу установить пешеходный переход "
                "у школы на улице Лесной, его там никогда не было. Петров В. В.")
    [grid, town] = classifier_at().classify_batch([("", connection), ("", crossing)])
    assert (grid.kind, grid.scope) == ("application", "in")
    assert (town.kind, town.scope) == ("application", "out")


def test_a_nul_in_a_letter_reads_as_a_space():
    """Broken mail may carry NUL characters; the vocabulary (a NumPy string array) cannot hold
    one, so the text reader turns it into a space: the same reading, no error."""
    from classifiers import classify

    broken = classify("Нет\x00света", "Третий день\x00 нет света, ул. Ленина 5.\x00")
    spaced = classify("Нет света", "Третий день  нет света, ул. Ленина 5. ")
    assert broken.kind_scores == spaced.kind_scores
    assert (broken.topic, broken.scope) == (spaced.topic, spaced.scope)
