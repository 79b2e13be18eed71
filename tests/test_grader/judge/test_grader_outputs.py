"""The command line, the result model and its writers (JSON, Gradescope, JUnit, terminal)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.judge.grade import Grader
from grader.judge.results import GradeResult
from grader.reports import writers
from vqa import course

from paths import CACHE, ROOT

SOLUTIONS = ROOT / "solutions"


def grade_cli(*args, cwd=ROOT):
    exe = shutil.which("grade") or str(Path(sys.executable).parent / "grade")
    cmd = [exe, *args] if os.path.exists(exe) else [sys.executable, "-m", "grader.cli", *args]
    return subprocess.run(
        cmd,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "GRADER_CACHE": str(CACHE), "COLUMNS": "200"},
    )


@pytest.fixture(scope="module")
def solutions_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("outs")
    proc = grade_cli(
        "solutions/",
        "--sandbox",
        "none",
        "--json",
        str(out / "r.json"),
        "--gradescope",
        str(out / "gs.json"),
        "--junit",
        str(out / "j.xml"),
    )
    return proc, out


@pytest.fixture(scope="module")
def grader():
    with Grader(sandbox="none", cache_dir=CACHE) as g:
        yield g


def test_solutions_full_marks(solutions_run):
    proc, _ = solutions_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == "Points 100/100"
    assert "Score" not in proc.stdout  # one score line
    assert "✔" in proc.stdout and "✘" not in proc.stdout


def test_exercises_not_implemented(tmp_path):
    proc = grade_cli("exercises/", "--sandbox", "none", "--json", str(tmp_path / "r.json"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == "Points 0/100"
    flagged = [line for line in lines if "not implemented yet" in line]
    assert len(flagged) == 4, proc.stdout
    for exercise in course.EXERCISES:
        assert sum(exercise in line for line in flagged) >= 1
    assert len(lines) <= 8, "an unimplemented exercise is one line, not a wall of failures"
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["score"] == 0 and data["max_score"] == 100
    assert {f"not_implemented:{e}" for e in course.EXERCISES} <= set(data["flags"])


def test_usage_errors():
    assert grade_cli("/no/such/folder", "--sandbox", "none").returncode == 2
    assert grade_cli("solutions/", "--exercise", "nope").returncode == 2
    assert grade_cli("solutions/", "--lang", "fr").returncode == 2


def test_json_schema(solutions_run):
    _, out = solutions_run
    data = json.loads((out / "r.json").read_text())
    for key in ("score", "max_score", "exercises", "flags", "versions"):
        assert key in data
    assert data["score"] == data["max_score"] == 100
    assert set(data["exercises"]) == set(course.EXERCISES)
    assert {n: e["max_score"] for n, e in data["exercises"].items()} == course.POINTS
    for exercise in data["exercises"].values():
        assert exercise["checks"]
        for check in exercise["checks"]:
            assert set(check) >= {"name", "score", "max_score", "passed", "message", "hint"}
    assert {"torch", "transformers", "peft", "python"} <= set(data["versions"])
    again = GradeResult.from_dict(data)
    assert again.to_dict() == data


def test_gradescope_fields(solutions_run):
    _, out = solutions_run
    data = json.loads((out / "gs.json").read_text())
    assert data["score"] == 100 and "execution_time" in data and "output" in data
    assert len(data["tests"]) == 40
    for test in data["tests"]:
        assert set(test) >= {
            "name",
            "number",
            "score",
            "max_score",
            "status",
            "output",
            "visibility",
        }
        assert test["status"] == "passed" and test["visibility"] == "visible"
    assert sum(t["max_score"] for t in data["tests"]) == 100


def test_junit_parses(solutions_run):
    junitparser = pytest.importorskip("junitparser")
    _, out = solutions_run
    xml = junitparser.JUnitXml.fromfile(str(out / "j.xml"))
    suites = list(xml)
    assert [s.name for s in suites] == list(course.EXERCISES)
    cases = [case for suite in suites for case in suite]
    assert len(cases) == 40 and all(case.is_passed for case in cases)


def test_failed_check_in_every_writer(grader, tmp_path):
    sub = tmp_path / "sub"
    shutil.copytree(SOLUTIONS, sub, ignore=shutil.ignore_patterns("__pycache__"))
    path = sub / "lora.py"
    path.write_text(path.read_text().replace('bias="none",', 'bias="all",'))
    result = grader.grade(sub)
    n_failed = sum(not c.passed for c in result.checks())
    assert result.exercises["lora"].score < 15 and n_failed >= 2
    gs = writers.to_gradescope(result)
    failed = [t for t in gs["tests"] if t["status"] == "failed"]
    assert len(failed) == n_failed and all("hint" in t["output"] for t in failed)
    assert gs["score"] == result.score
    junitparser = pytest.importorskip("junitparser")
    (tmp_path / "j.xml").write_text(writers.to_junit_xml(result))
    cases = [
        case for suite in junitparser.JUnitXml.fromfile(str(tmp_path / "j.xml")) for case in suite
    ]
    assert sum(not case.is_passed for case in cases) == n_failed
    from rich.console import Console

    console = Console(record=True, width=200)
    writers.render(result, console)
    text = console.export_text()
    assert text.strip().splitlines()[-1] == f"Points {int(result.score)}/100"
    assert "bias parameters are trainable" in text and "hint:" in text


def test_same_submission_same_result(grader, tmp_path):
    sub = tmp_path / "sub"
    shutil.copytree(SOLUTIONS, sub, ignore=shutil.ignore_patterns("__pycache__"))
    path = sub / "train.py"
    path.write_text(path.read_text().replace("        optimizer.zero_grad()\n", ""))
    first = grader.grade(sub).to_dict(timings=False)
    second = grader.grade(sub).to_dict(timings=False)
    assert first == second
    assert first["score"] < 100


def test_exercise_filter_and_language(grader):
    result = grader.grade(SOLUTIONS, ["lora"])
    assert list(result.exercises) == ["lora"] and result.max_score == 15
    with Grader(sandbox="none", cache_dir=CACHE, lang="vi") as vi:
        assert vi.lang == "vi"
    from grader.judge import messages

    title, hint = messages.check_text("train.attention_mask_passed", "vi")
    assert "attention_mask" in title and "Bản gốc" in hint
