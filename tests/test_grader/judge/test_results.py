"""The result model every writer reads."""

from __future__ import annotations

from grader.judge.results import CheckResult, ExerciseResult, GradeResult


def test_result_round_trip():
    result = GradeResult(
        exercises={
            "lora": ExerciseResult(
                "lora",
                [
                    CheckResult("lora.a", 2, 2, True, title="A"),
                    CheckResult("lora.b", 0, 3, False, "got x, expected y", "hint"),
                ],
            )
        },
        flags=["timeout:lora"],
        versions={"torch": "2"},
    )
    data = result.to_dict()
    assert data["score"] == 2 and data["max_score"] == 5
    assert GradeResult.from_dict(data).to_dict() == data
    assert "execution_time" not in result.to_dict(timings=False)
