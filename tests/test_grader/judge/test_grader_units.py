"""Fast checks of the grader's parts that need no worker."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from grader.worker import guard
from grader.judge import messages
from vqa import course
from vqa.course import EXERCISES
from grader.judge.results import CheckResult, ExerciseResult, GradeResult

POINTS = course.POINTS


def check_functions(exercise):
    module = importlib.import_module(f"grader.checks.test_{exercise}")
    return {f"{exercise}.{name[5:]}": fn for name, fn in vars(module).items()
            if name.startswith("test_") and callable(fn)}


@pytest.mark.parametrize("exercise", EXERCISES)
def test_points_add_up(exercise):
    checks = check_functions(exercise)
    assert all(hasattr(fn, "points") for fn in checks.values()), "every check declares its points"
    assert sum(fn.points for fn in checks.values()) == POINTS[exercise]


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_check_has_title_and_hint_in_both_languages(exercise):
    table = messages.table()["checks"]
    for name in check_functions(exercise):
        assert name in table, f"{name} missing from hints.toml"
        for lang in messages.LANGS:
            assert table[name]["title"][lang] and table[name]["hint"][lang], (name, lang)


def test_scan_source_finds_reference_imports(tmp_path):
    cases = {
        "from solutions.lora import build_lora_model\n": ["solutions"],
        "import grader.checks\n": ["grader"],
        "import importlib\nm = importlib.import_module('solutions.lora')\n": ["solutions"],
        "import solutionsx\nfrom .solutions import y\n": [],
        "def f():\n    import solutions\n": ["solutions"],
    }
    for n, (source, expected) in enumerate(cases.items()):
        path = tmp_path / f"m{n}.py"
        path.write_text(source)
        assert guard.scan_source(path) == expected, source


def test_result_round_trip():
    result = GradeResult(exercises={"lora": ExerciseResult("lora", [
        CheckResult("lora.a", 2, 2, True, title="A"), CheckResult("lora.b", 0, 3, False, "got x, expected y", "hint")])},
        flags=["timeout:lora"], versions={"torch": "2"})
    data = result.to_dict()
    assert data["score"] == 2 and data["max_score"] == 5
    assert GradeResult.from_dict(data).to_dict() == data
    assert "execution_time" not in result.to_dict(timings=False)


def test_judge_does_not_import_torch():
    code = ("import sys, grader.cli, grader.judge.grade, grader.judge.session, grader.reports.writers, grader.checks.test_train; "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[3])
    assert proc.returncode == 0, proc.stderr


def test_sandbox_keeps_a_python_installed_under_tmp_visible(tmp_path, monkeypatch):
    """/tmp is a private tmpfs in the sandbox: a virtualenv or checkout there must be bound back in."""
    import sys

    from grader.worker import sandbox

    if not str(tmp_path.resolve()).startswith("/tmp/"):
        pytest.skip("the temporary folder is not under /tmp here")
    venv = tmp_path / "venv"
    venv.mkdir()
    monkeypatch.setattr(sys, "prefix", str(venv))
    paths = sandbox.python_paths()
    assert str(venv.resolve()) in paths
    assert all(p == "/tmp" or p.startswith("/tmp/") for p in paths)
    args = sandbox.prefix("bwrap", writable=[str(tmp_path / "work")])
    bound = [args[i + 1] for i, a in enumerate(args) if a == "--ro-bind"]
    assert str(venv.resolve()) in bound
    assert args.index("--tmpfs") < args.index(str(venv.resolve()))  # bound after /tmp is emptied


def test_root_causes_point_dependent_failures_at_one_root():
    from grader.judge.grade import root_causes
    from grader.judge.results import CheckResult

    def checks():
        return [CheckResult("train.a", 0, 2, False, "mask missing", hint="pass the mask", title="A"),
                CheckResult("train.b", 0, 5, False, "weights differ", hint="own hint", title="B"),
                CheckResult("train.c", 0, 1, False, "mask missing", hint="own hint", title="C"),
                CheckResult("train.d", 1, 1, True, title="D"),
                CheckResult("train.e", 0, 1, False, "other", hint="own hint", title="E")]

    result = checks()
    same = "error|KeyError: 'mask'|train.py:3 in f"
    root_causes(result, {"train.b": ["train.a", "train.d"], "train.e": ["train.a"]}, "en", {},
                {"train.a": same, "train.c": same, "train.e": "error|ValueError: x|train.py:9 in g"})
    a, b, c, d, e = result
    assert (a.caused_by, a.hint) == ("", "pass the mask")  # the root keeps its hint
    assert b.caused_by == "train.a" and b.hint.startswith("follows from ✘ “A”")  # declared
    assert c.caused_by == "train.a"  # the same exception as an earlier failure
    # its own exception: a root of its own although it declares a dependency on a failed check
    assert e.caused_by == "" and e.hint == "own hint"
    assert [x.score for x in result] == [0, 0, 0, 1, 0]
    # two checks naming each other: the first stays a root, so the learner always has a place to start
    result = checks()
    root_causes(result, {"train.a": ["train.b"]}, "en", {"train.b": "train.a"})
    assert result[0].caused_by == "train.b" and result[1].caused_by == ""
