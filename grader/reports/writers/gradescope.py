"""Gradescope's results.json (autograder specification): one test per check."""

from __future__ import annotations

import json
from pathlib import Path

from grader.judge import messages
from grader.judge.results import GradeResult, fmt_points


def to_gradescope(result: GradeResult, visibility: str = "visible") -> dict:
    tests = []
    for n_ex, exercise in enumerate(result.exercises.values(), start=1):
        for n_check, check in enumerate(exercise.checks, start=1):
            lines = []
            if check.skipped:
                lines.append(f"{messages.message('skipped', result.lang)}: {check.message}")
            elif not check.passed:
                lines.append(check.message)
                if check.hint:
                    lines.append(f"{messages.message('hint', result.lang)}: {check.hint}")
                if check.output:
                    lines.append(f"{messages.message('output', result.lang)}:\n{check.output}")
            test = {
                "name": f"{exercise.name}: {check.title}",
                "number": f"{n_ex}.{n_check}",
                "score": check.score,
                "max_score": check.max_score,
                "status": "passed" if check.passed else "failed",
                "output": "\n".join(lines),
                "tags": [exercise.name],
                "visibility": visibility,
            }
            if check.skipped:  # Gradescope knows only passed and failed: a skipped check (0/0) says so in its output
                del test["status"]
            tests.append(test)
    summary = [
        f"{name}: {fmt_points(ex.score)}/{fmt_points(ex.max_score)}"
        + (f" ({ex.summary})" if ex.summary else "")
        for name, ex in result.exercises.items()
    ]
    return {
        "score": result.score,
        "execution_time": round(result.execution_time, 3),
        "output": "\n".join(summary + list(result.notes)),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def write_gradescope(result: GradeResult, path: str | Path) -> None:
    Path(path).write_text(
        json.dumps(to_gradescope(result), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
