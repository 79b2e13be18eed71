"""``quiz run``: interactive prompts, feedback, shuffling, answers files, saving."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from quiz.bank import load_bank
from quiz.cli import main
from quiz.session import present

KEY_LETTERS = ["d", "a", "d", "d", "b", "b", "d", "d", "c", "b"]
ALL_RIGHT = "\n".join(KEY_LETTERS) + "\n"
KEY_FILE = ",".join(f"{n}={L}" for n, L in enumerate(KEY_LETTERS, 1))


def run(args, input=None, env=None):
    return CliRunner().invoke(main, ["run", *args], input=input, env=env)


def test_all_right_scores_ten(tmp_path):
    result = run(["--lang", "en"], input=ALL_RIGHT)
    assert result.exit_code == 0, result.output
    assert "Score: 10/10" in result.output
    assert "All your answers are right" in result.output


def test_wrong_answer_shows_right_answer_and_explanation():
    answers = KEY_LETTERS.copy()
    answers[1] = "b"  # Q2: Modality Encoder instead of Contrastive Search
    result = run(["--lang", "en"], input="\n".join(answers) + "\n")
    assert result.exit_code == 0
    assert "Score: 9/10" in result.output
    summary = result.output.split("Score: 9/10")[1]
    assert "You chose: b) Modality Encoder" in summary
    assert "Right answer: a) Contrastive Search" in summary
    assert "Contrastive search is a decoding method" in summary
    assert "arXiv:2401.13601" in summary
    # immediate feedback (not --exam) right after the wrong answer
    assert "Not quite. The right answer is a) Contrastive Search." in result.output


def test_vietnamese_wrong_answer():
    answers = KEY_LETTERS.copy()
    answers[0] = "a"
    result = run(["--lang", "vi"], input="\n".join(answers) + "\n")
    assert "Điểm: 9/10" in result.output
    assert "Đáp án đúng: d) ResNet" in result.output
    assert "Giải thích: ResNet là mô hình phân loại ảnh" in result.output


def test_invalid_letter_is_asked_again():
    result = run(["--lang", "en"], input="x\ne\n\n" + ALL_RIGHT)
    assert result.exit_code == 0
    assert result.output.count("Please type one letter from a to d.") == 3
    assert "Score: 10/10" in result.output


def test_exam_mode_hides_feedback_until_the_end():
    answers = KEY_LETTERS.copy()
    answers[4] = "a"
    result = run(["--lang", "en", "--exam"], input="\n".join(answers) + "\n")
    before, after = result.output.split("Score: 9/10")
    assert "Correct!" not in before and "Not quite" not in before
    assert "Right answer: b) AudioLDM" in after


@pytest.mark.parametrize("partial", ["", "d\na\n"])
def test_eof_ends_cleanly_and_saves_nothing(tmp_path, partial):
    out = tmp_path / "attempt.json"
    result = run(["--lang", "en", "--out", str(out)], input=partial)
    assert result.exit_code == 1
    assert "Quiz stopped. Nothing was saved." in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temp file left behind either


def test_out_record_has_order_answers_and_scores(tmp_path):
    out = tmp_path / "an.json"
    answers = KEY_LETTERS.copy()
    answers[9] = "a"
    result = run(
        ["--lang", "en", "--student", "An", "--out", str(out)], input="\n".join(answers) + "\n"
    )
    assert result.exit_code == 0
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["student"] == "An"
    assert record["question_order"] == [f"Q{i}" for i in range(1, 11)]
    assert record["option_order"]["Q1"] == ["vicuna", "llama", "palm", "resnet"]
    assert record["answers"]["Q1"] == "resnet" and record["answers"]["Q10"] == "flan-t5"
    assert record["scores"]["Q10"] == 0 and record["scores"]["Q1"] == 1
    assert record["total"] == 9 and record["max_score"] == 10
    assert record["time"].endswith("+00:00")


def test_shuffled_prompt_letters_follow_the_displayed_order(tmp_path):
    bank = load_bank()
    shown = present(bank.questions, shuffle=True, seed=42)
    letters = [p.letter_of(p.question.answer) for p in shown]
    assert [p.question.id for p in shown] != bank.ids  # really shuffled
    out = tmp_path / "a.json"
    result = run(
        ["--lang", "en", "--seed", "42", "--out", str(out)], input="\n".join(letters) + "\n"
    )
    assert "Score: 10/10" in result.output
    record = json.loads(out.read_text())
    assert record["shuffled"] is True and record["seed"] == 42
    assert record["question_order"] == [p.question.id for p in shown]


def test_shuffle_is_reproducible_and_scores_the_same(tmp_path):
    answers = tmp_path / "answers.txt"
    answers.write_text(KEY_FILE.replace("3=d", "3=a"))
    records = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        out = tmp_path / f"{name}.json"
        result = run(
            [
                "--lang",
                "en",
                "--shuffle",
                "--seed",
                str(seed),
                "--answers",
                str(answers),
                "--out",
                str(out),
            ]
        )
        assert result.exit_code == 0, result.output
        records[name] = json.loads(out.read_text())
    a, b, c = records["a"], records["b"], records["c"]
    assert a["question_order"] == b["question_order"] and a["option_order"] == b["option_order"]
    assert a["question_order"] != c["question_order"]
    assert a["answers"] == c["answers"] and a["answers"]["Q3"] == "vit"
    assert a["total"] == c["total"] == 9


@pytest.mark.parametrize("lang, line", [("en", "Score: 10/10"), ("vi", "Điểm: 10/10")])
def test_answers_file_with_the_key_scores_ten(tmp_path, lang, line):
    answers = tmp_path / "key.txt"
    answers.write_text(KEY_FILE + "\n")
    result = run(["--lang", lang, "--answers", str(answers)])
    assert result.exit_code == 0
    assert line in result.output


def test_answers_json_with_option_ids(tmp_path):
    answers = tmp_path / "key.json"
    answers.write_text(json.dumps({"Q1": "resnet", "2": "a", "q3": "bert"}))
    result = run(["--lang", "en", "--only", "Q1,Q2,Q3", "--answers", str(answers)])
    assert "Score: 2/3" in result.output
    assert "Answer: c) BERT" in result.output


def test_bad_answers_file_is_a_usage_error(tmp_path):
    answers = tmp_path / "key.txt"
    answers.write_text("1=d,11=a\n")
    result = run(["--lang", "en", "--answers", str(answers)])
    assert result.exit_code == 2
    assert "key.txt" in result.output and "no question '11'" in result.output


def test_only_unknown_question_is_a_usage_error():
    result = run(["--lang", "en", "--only", "Q1,Q42"])
    assert result.exit_code == 2 and "Q42" in result.output


def test_only_asks_the_chosen_questions():
    result = run(["--lang", "en", "--only", "Q1,Q3"], input="d\nd\n")
    assert "Question 2/2" in result.output and "Score: 2/2" in result.output
    assert "LLaVA" not in result.output


def test_the_quiz_speaks_english_unless_told_whatever_the_locale():
    for locale in ("vi_VN.UTF-8", "C.UTF-8", "en_GB.UTF-8"):
        result = run([], input=ALL_RIGHT, env={"LANG": locale, "LC_ALL": None, "LC_MESSAGES": None})
        assert "Score: 10/10" in result.output, locale
    assert "Điểm: 10/10" in run(["--lang", "vi"], input=ALL_RIGHT).output


def test_an_unknown_language_is_a_usage_error():
    result = run(["--lang", "fr"], input=ALL_RIGHT)
    assert result.exit_code == 2 and "'fr' is not one of 'en', 'vi'" in result.output
