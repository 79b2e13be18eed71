"""The quiz in a notebook scores and saves through the quiz's own code: typed answers, and the form without a
person (select + submit), with and without ipywidgets."""

import sys

import pytest

from quiz.bank import load_bank
from quiz.grading import load_attempt
from quiz.messages import message
from quiz.notebook import QuizForm, answer, parse_answers
from quiz.session import AnswersError


@pytest.fixture(scope="module")
def bank():
    return load_bank()


def key_text(bank) -> str:
    """The full key as a learner types it: "1d 2a …" (letters in the lab's original order)."""
    return " ".join(f"{n}{q.seed_letter(q.answer)}" for n, q in enumerate(bank.questions, 1))


def test_the_text_route_scores_the_full_key_ten_out_of_ten_and_saves_an_attempt_quiz_grade_reads(
    bank, tmp_path
):
    lines = []
    attempt = answer(
        key_text(bank), lang="en", student="An", out=tmp_path / "a.json", echo=lines.append
    )
    assert (attempt.total, attempt.max_score) == (10, 10)
    assert message("score", "en", score=10, total=10) in lines[0]
    graded = load_attempt(tmp_path / "a.json", bank)
    assert (graded.score, graded.student) == (10, "An")


def test_answers_read_in_every_documented_form(bank):
    letters = [q.seed_letter(q.answer) for q in bank.questions]
    expected = {q.id: q.answer for q in bank.questions}
    assert parse_answers(key_text(bank), bank) == expected
    assert parse_answers(", ".join(f"{n}={x}" for n, x in enumerate(letters, 1)), bank) == expected
    assert parse_answers(letters, bank) == expected
    assert parse_answers({f"Q{n}": x.upper() for n, x in enumerate(letters, 1)}, bank) == expected
    assert parse_answers(["a", None, "b"], bank) == {"Q1": "vicuna", "Q3": "clip"}


@pytest.mark.parametrize(
    "typed, problem",
    [("1a 2e", "not a letter a–d"), ("11a", "no question '11'"), ("1a two", "not of the form")],
)
def test_a_typing_mistake_is_named(bank, typed, problem):
    with pytest.raises(AnswersError, match=problem):
        parse_answers(typed, bank)


def test_the_form_without_a_person_selects_submits_and_saves(bank, tmp_path):
    pytest.importorskip("ipywidgets")
    form = QuizForm(lang="vi", out=tmp_path / "a.json", bank=bank)
    form.select(key_text(bank))
    form.button.click()  # what pressing the button does
    assert (form.attempt.total, load_attempt(tmp_path / "a.json", bank).score) == (10, 10)
    assert all(radio.value == bank.question(qid).answer for qid, radio in form.radios.items())


def test_without_ipywidgets_the_form_prints_the_questions_and_takes_typed_answers(
    bank, tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import fails as if it were not installed
    form = QuizForm(lang="en", out=tmp_path / "a.json", bank=bank)
    form.show()
    shown = capsys.readouterr().out
    assert bank.questions[0].stem["en"] in shown and "MY_ANSWERS" in shown
    assert form.answer("1a 2q") is None and "cannot be read" in capsys.readouterr().out
    assert form.answer(key_text(bank)).total == 10
    assert "Score: 10/10" in capsys.readouterr().out


def test_a_language_the_quiz_does_not_speak_is_refused_not_replaced(bank):
    from catalog import CatalogError

    with pytest.raises(CatalogError, match="unknown language 'fr'; choose one of en, vi"):
        QuizForm(lang="fr", bank=bank)
