"""Moodle item statistics on a small set worked out by hand.

Four students, three items (1 = right):

            Q1  Q2  Q3   total
    S1       1   1   1     3
    S2       1   1   0     2
    S3       1   0   0     1
    S4       1   0   0     1

Facility: Q1 100%, Q2 50%, Q3 25%.
Discrimination (corr with the rest of the test):
  Q1: variance 0 -> undefined.
  Q2: x = 1,1,0,0 (dev .5,.5,-.5,-.5, Sxx = 1); rest = Q1+Q3 = 2,1,1,1
      (mean 1.25, dev .75,-.25,-.25,-.25, Syy = .75); Sxy = .375-.125+.125+.125 = .5
      r = .5 / sqrt(1 * .75) = 0.57735 -> 57.735%.
  Q3: x = 1,0,0,0 (Sxx = .75); rest = Q1+Q2 = 2,2,1,1 (Syy = 1); Sxy = .5 -> same 57.735%.
Cronbach's alpha (n-1 variances): Var(Q1)=0, Var(Q2)=1/3, Var(Q3)=.25;
  totals 3,2,1,1: mean 1.75, squares 1.5625+.0625+.5625+.5625 = 2.75, Var = 2.75/3.
  alpha = 3/2 * (1 - (1/3 + 1/4) / (2.75/3)) = 1.5 * (1 - 7/11) = 6/11 = 54.545%.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from quiz import stats
from quiz.bank import load_bank
from quiz.cli import main
from quiz.grading import grade_attempts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "quiz"
MATRIX = [[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 0, 0]]
R = 0.5 / 0.75**0.5


def test_facility():
    got = [s.facility for s in stats.item_statistics(["Q1", "Q2", "Q3"], MATRIX)]
    assert got == pytest.approx([100.0, 50.0, 25.0])


def test_discrimination_and_zero_variance_is_undefined():
    got = stats.item_statistics(["Q1", "Q2", "Q3"], MATRIX)
    assert got[0].discrimination is None
    assert got[1].discrimination == pytest.approx(100 * R) == pytest.approx(57.735, abs=1e-3)
    assert got[2].discrimination == pytest.approx(57.735, abs=1e-3)


def test_cronbach_alpha():
    assert stats.cronbach_alpha(MATRIX) == pytest.approx(100 * 6 / 11)


def test_undefined_with_fewer_than_two_attempts():
    one = [[1, 0, 1]]
    assert stats.cronbach_alpha(one) is None
    assert all(s.discrimination is None for s in stats.item_statistics(["a", "b", "c"], one))
    assert stats.cronbach_alpha([[1, 1], [1, 1]]) is None  # zero total variance


def _write_attempts(folder: Path) -> None:
    ids = {
        "Q1": ("right-one", "wrong-one"),
        "Q2": ("right-two", "wrong-two"),
        "Q3": ("right-three", "wrong-three"),
    }
    for n, row in enumerate(MATRIX, 1):
        answers = {q: ids[q][0] if mark else ids[q][1] for q, mark in zip(ids, row)}
        record = {
            "format": "quiz-attempt/1",
            "quiz": "small",
            "student": f"S{n}",
            "time": f"2025-03-0{n}T09:00:00+00:00",
            "answers": answers,
            "total": sum(row),
        }
        (folder / f"s{n}.json").write_text(json.dumps(record), encoding="utf-8")


def test_grade_attempts_gives_the_hand_computed_statistics(tmp_path):
    _write_attempts(tmp_path)
    result = grade_attempts([tmp_path], load_bank(FIXTURES / "small_bank.toml"))
    d = result.to_dict()
    assert [a["score"] for a in d["attempts"]] == [3, 2, 1, 1]
    items = {s["id"]: s for s in d["item_stats"]}
    assert items["Q1"]["facility"] == pytest.approx(100.0) and items["Q1"]["discrimination"] is None
    assert items["Q3"]["facility"] == pytest.approx(25.0)
    assert items["Q2"]["discrimination"] == pytest.approx(57.735, abs=1e-3)
    assert d["cronbach_alpha"] == pytest.approx(54.545, abs=1e-3)
    assert json.loads(json.dumps(d))["item_stats"][0]["discrimination"] is None  # null in JSON


def test_grade_cli_shows_undefined_as_dash(tmp_path):
    _write_attempts(tmp_path)
    result = CliRunner().invoke(
        main, ["grade", "--bank", str(FIXTURES / "small_bank.toml"), str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    q1 = next(line for line in result.output.splitlines() if line.startswith("Q1 "))
    assert q1.split() == ["Q1", "100.0%", "—"]
    assert "Cronbach's alpha: 54.5%" in result.output
