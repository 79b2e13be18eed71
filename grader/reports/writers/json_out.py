"""The JSON result: score, max_score, exercises{name: {score, max_score, checks[]}}, flags, versions."""

from __future__ import annotations

import json
from pathlib import Path

from grader.judge.results import GradeResult


def dumps(result: GradeResult, *, timings: bool = True) -> str:
    return json.dumps(
        result.to_dict(timings=timings), indent=2, ensure_ascii=False, sort_keys=False
    )


def write_json(result: GradeResult, path: str | Path) -> None:
    Path(path).write_text(dumps(result) + "\n", encoding="utf-8")
