"""``quiz grade``: re-scoring, first attempt per student, bad files, CSV/JSON output."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from quiz.cli import main
from quiz.grading import grade_attempts

from quiz_answers import KEY

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "quiz"


def attempt(
    folder: Path, name: str, student: str | None, time: str, wrong: dict | None = None, total=None
) -> Path:
    answers = {**KEY, **(wrong or {})}
    record = {
        "format": "quiz-attempt/1",
        "quiz": "mllm-part4",
        "student": student,
        "time": time,
        "answers": answers,
        "total": 10 if total is None else total,
        "max_score": 10,
    }
    path = folder / name
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def test_rescores_from_answers_not_the_stored_total(tmp_path):
    attempt(
        tmp_path,
        "an.json",
        "An",
        "2025-05-01T10:00:00+00:00",
        wrong={"Q1": "vicuna", "Q2": "llm-backbone"},
        total=10,
    )
    result = grade_attempts([tmp_path])
    assert result.counted[0].score == 8
    assert any("stored total 10 differs from the re-score 8" in w for w in result.warnings)


def test_first_attempt_per_student_counts(tmp_path):
    attempt(tmp_path, "b-later.json", "Bình", "2025-05-02T10:00:00+00:00")
    attempt(
        tmp_path, "a-first.json", "Bình", "2025-05-01T10:00:00+07:00", wrong={"Q5": "zeroscope"}
    )
    attempt(tmp_path, "chi.json", "Chi", "2025-05-01T09:00:00Z")
    d = grade_attempts([tmp_path]).to_dict()
    counted = {a["student"]: a for a in d["attempts"]}
    assert counted["Bình"]["score"] == 9 and counted["Bình"]["file"].endswith("a-first.json")
    assert [a["file"].split("/")[-1] for a in d["later_attempts"]] == ["b-later.json"]
    assert counted["Chi"]["score"] == 10


def test_bad_files_are_named_and_skipped(tmp_path):
    for name in (
        "broken.json",
        "foreign.json",
        "image.json",
        "other_quiz.json",
        "wrong_answers_type.json",
    ):
        shutil.copy(FIXTURES / name, tmp_path / name)
    attempt(tmp_path, "ok.json", "An", "2025-05-01T10:00:00+00:00")
    result = grade_attempts([tmp_path, FIXTURES / "scores.csv", tmp_path / "missing.json"])
    assert [a.student for a in result.counted] == ["An"]
    errors = {Path(f).name: e for f, e in result.skipped}
    assert set(errors) == {
        "broken.json",
        "foreign.json",
        "image.json",
        "other_quiz.json",
        "wrong_answers_type.json",
        "scores.csv",
        "missing.json",
    }
    assert "broken JSON at line 3, column" in errors["broken.json"]
    assert "not a quiz attempt record" in errors["foreign.json"]
    assert "not UTF-8" in errors["image.json"]
    assert "another quiz ('week-2-quiz'" in errors["other_quiz.json"]
    assert "'answers' must be an object" in errors["wrong_answers_type.json"]
    assert "broken JSON at line 1" in errors["scores.csv"]
    assert "cannot read" in errors["missing.json"]
    assert all(Path(f).name in e for f, e in result.skipped)


def test_unknown_option_id_is_reported(tmp_path):
    attempt(tmp_path, "x.json", "X", "2025-05-01T10:00:00+00:00", wrong={"Q3": "wav2vec"})
    result = grade_attempts([tmp_path])
    assert not result.counted
    assert "answer 'wav2vec' to Q3 is not one of its option ids" in result.skipped[0][1]


def test_cli_writes_csv_and_json_and_reports_skips(tmp_path):
    attempt(tmp_path, "an.json", "An", "2025-05-01T10:00:00+00:00", wrong={"Q4": "mlp"})
    attempt(tmp_path, "an2.json", "An", "2025-05-03T10:00:00+00:00")
    attempt(tmp_path, "noname.json", None, "2025-05-01T11:00:00+00:00")
    shutil.copy(FIXTURES / "broken.json", tmp_path / "broken.json")
    out_csv, out_json = tmp_path / "out" / "scores.csv", tmp_path / "out" / "scores.json"
    out_csv.parent.mkdir()
    result = CliRunner().invoke(
        main, ["grade", str(tmp_path), "--csv", str(out_csv), "--json", str(out_json)]
    )
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "broken.json: broken JSON at line 3" in result.output
    assert "An  " in result.output and "9/10" in result.output
    assert "Later attempts (not counted)" in result.output
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert [(r["student"], r["counted"], r["score"], r["Q4"]) for r in rows] == [
        ("An", "yes", "9", "0"),
        ("noname", "yes", "10", "1"),
        ("An", "no", "10", "1"),
    ]
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert data["max_score"] == 10 and len(data["attempts"]) == 2
    assert data["skipped"][0]["file"].endswith("broken.json")
    assert {s["id"] for s in data["item_stats"]} == set(KEY)


def test_cli_fails_when_no_valid_file(tmp_path):
    result = CliRunner().invoke(
        main, ["grade", str(FIXTURES / "broken.json"), str(FIXTURES / "foreign.json")]
    )
    assert result.exit_code == 1
    assert "no valid attempt file" in result.output
    assert "broken.json" in result.output and "foreign.json" in result.output


def test_cli_without_files_is_a_usage_error():
    assert CliRunner().invoke(main, ["grade"]).exit_code == 2


def test_run_then_grade_roundtrip(tmp_path):
    out = tmp_path / "dung.json"
    runner = CliRunner()
    r = runner.invoke(
        main,
        ["run", "--lang", "vi", "--student", "Dũng", "--seed", "3", "--out", str(out)],
        input="a\n" * 10,
    )
    assert r.exit_code == 0
    stored = json.loads(out.read_text(encoding="utf-8"))["total"]
    d = grade_attempts([out]).to_dict()
    assert d["attempts"][0]["student"] == "Dũng"
    assert d["attempts"][0]["score"] == stored
