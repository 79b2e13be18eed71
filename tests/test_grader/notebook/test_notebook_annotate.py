"""A folder's grade told in the notebook's terms: places become cells and lines, exercises with a problem in
the notebook score 0 with its message, the others keep their grade. Synthetic results: nothing is graded."""

from __future__ import annotations

import io
import os

from nbformat.v4 import new_code_cell, new_markdown_cell
from rich.console import Console

from grader.judge.results import CheckResult, ExerciseResult, GradeResult
from grader.notebook.annotate import annotate, rewrite
from grader.notebook.extract import extract
from grader.reports.writers.terminal import render

from notebook_files import lab, save, writefile


def two_cell_lora(tmp_path):
    """lora.py from cell 2 (lines 1-3 of the file) and cell 4 (-a, lines 4-6), a markdown cell first."""
    nb = save(
        tmp_path / "lab.ipynb",
        [
            new_markdown_cell("# Lab"),
            writefile("lora.py", "import peft\n\n\n"),
            new_code_cell("print('try')"),
            writefile(
                "lora.py",
                "def build_lora_model(model):\n    x = 1\n    return undefined\n",
                append=True,
            ),
        ],
    )
    return extract(nb, tmp_path / "work" / "modules")


def result_for(folder, lang="en", **exercises) -> GradeResult:
    result = GradeResult(lang=lang, submission=str(folder), flags=[])
    for name, (status, summary, checks) in exercises.items():
        result.exercises[name] = ExerciseResult(name, checks=checks, status=status, summary=summary)
    return result


def check(name, passed, message="", hint="", points=5.0, **kw) -> CheckResult:
    return CheckResult(
        name=name,
        score=points if passed else 0.0,
        max_score=points,
        passed=passed,
        message=message,
        hint=hint,
        title=name.split(".")[1].replace("_", " "),
        **kw,
    )


def test_places_in_the_modules_become_cells_and_lines(tmp_path):
    extraction = two_cell_lora(tmp_path)
    folder = extraction.folder
    text = (
        f"build_lora_model(model) raised: NameError: name 'undefined' is not defined "
        f"(at {folder}{os.sep}lora.py:6 in build_lora_model)"
    )
    assert rewrite(text, extraction) == (
        "build_lora_model(model) raised: NameError: name 'undefined' is not defined "
        "(at lab.ipynb cell 4, line 4 in build_lora_model)"
    )
    assert rewrite(f"{folder}{os.sep}lora.py:1", extraction, "vi") == "lab.ipynb ô 2, dòng 2"
    traceback = f'  File "{folder}{os.sep}lora.py", line 5, in build_lora_model\n    x = 1'
    assert (
        rewrite(traceback, extraction)
        == '  File "lab.ipynb cell 4, line 3", in build_lora_model\n    x = 1'
    )
    assert (
        rewrite(f"{folder}{os.sep}lora.py: missing", extraction)
        == "lab.ipynb (%%writefile lora.py): missing"
    )
    assert (
        rewrite(f"{folder}{os.sep}train.py:3", extraction) == "lab.ipynb (%%writefile train.py):3"
    )
    assert (
        rewrite("labels: got shape [1, 8], expected [8]", extraction)
        == "labels: got shape [1, 8], expected [8]"
    )


def test_the_folder_as_the_judge_shows_it_inside_the_working_directory(tmp_path, monkeypatch):
    extraction = two_cell_lora(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert (
        rewrite(f"work{os.sep}modules{os.sep}lora.py:4 in build_lora_model", extraction)
        == "lab.ipynb cell 4, line 2 in build_lora_model"
    )


def test_exercises_with_a_problem_score_0_with_the_notebooks_message(tmp_path):
    body = "import torch\n\n\nclass VQADataset:\n    def __init__(self, records:\n        pass\n"
    nb = save(
        tmp_path / "lab.ipynb", lab("solutions", skip=("lora.py",), replace={"dataset.py": body})
    )
    extraction = extract(nb, tmp_path / "modules")
    folder = extraction.folder
    result = result_for(
        folder,
        dataset=(
            "load_error",
            f"dataset.py cannot be loaded: {folder}/dataset.py:5: syntax error",
            [
                check("dataset.item_keys", False, "dataset.py cannot be loaded"),
                check("dataset.len", False),
            ],
        ),
        lora=(
            "load_error",
            f"lora.py cannot be loaded: {folder}/lora.py: missing",
            [check("lora.returns_peft_model", False, "lora.py cannot be loaded")],
        ),
        train=(
            "graded",
            "",
            [
                check("train.fit_history", True),
                check("train.autocast", False, "autocast on", "use autocast"),
            ],
        ),
    )
    result.flags = ["load_error:dataset", "load_error:lora", "timeout:train"]
    annotate(result, extraction)
    dataset, lora, train = (result.exercises[n] for n in ("dataset", "lora", "train"))
    assert dataset.status == "load_error" and dataset.score == 0
    assert dataset.summary.startswith("lab.ipynb, cell 4 (%%writefile dataset.py), line 6: ")
    assert all(c.message == dataset.summary and not c.hint for c in dataset.checks)
    assert lora.summary.startswith("lab.ipynb has no `%%writefile lora.py` cell")
    assert train.status == "graded" and train.score == 5 and train.checks[1].hint == "use autocast"
    assert result.flags == ["timeout:train", "load_error:dataset", "load_error:lora"]
    assert result.submission == str(nb)
    # the learner's terminal: one line per exercise with a problem
    out = io.StringIO()
    render(result, Console(file=out, color_system=None, width=400))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(
        "✘ dataset 0/10  lab.ipynb, cell 4 (%%writefile dataset.py), line 6: "
    )
    assert lines[1].startswith("✘ lora 0/5  lab.ipynb has no `%%writefile lora.py` cell: ")


def test_a_passing_check_in_an_exercise_with_a_problem_is_not_kept(tmp_path):
    """get_ipython() inside a function loads fine, so some checks pass; the module still cannot run it."""
    body = (
        "def build_lora_model(model):\n    get_ipython().system('nvidia-smi')\n    return model\n"
    )
    extraction = extract(
        save(tmp_path / "lab.ipynb", lab("solutions", replace={"lora.py": body})),
        tmp_path / "modules",
    )
    result = result_for(
        extraction.folder, "vi", lora=("graded", "", [check("lora.no_bias_training", True)])
    )
    annotate(result, extraction)
    lora = result.exercises["lora"]
    assert lora.score == 0 and lora.status == "load_error" and not lora.checks[0].passed
    assert lora.summary.startswith(
        "lab.ipynb, ô 7 (%%writefile lora.py), dòng 3: `get_ipython().system('nvidia-smi')`"
    )
