"""``grade lab.ipynb`` end to end: the solutions' notebook scores 100, the stubs' 0 with one line per exercise,
a syntax error and a missing cell cost only their exercise and say where, a broken file is a usage error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell

from notebook_files import REPO, lab, module_text, save, writefile
from paths import CACHE


def grade(*args, cwd):
    exe = shutil.which("grade") or str(Path(sys.executable).parent / "grade")
    cmd = [exe, *args] if os.path.exists(exe) else [sys.executable, "-m", "grader.cli", *args]
    env = {
        **os.environ,
        "GRADER_CACHE": str(CACHE),
        "COLUMNS": "400",
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.slow
def test_the_solutions_notebook_scores_100(tmp_path):
    save(tmp_path / "lab.ipynb", lab("solutions"))
    proc = grade("lab.ipynb", "--sandbox", "none", "--json", "r.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "Points 100/100"
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["score"] == 100 and data["submission"] == str(tmp_path / "lab.ipynb")


@pytest.mark.slow
def test_the_stubs_notebook_in_a_folder_scores_0_with_one_line_per_exercise(tmp_path):
    (tmp_path / "handed-in").mkdir()
    save(tmp_path / "handed-in" / "lab.ipynb", lab("exercises"))
    proc = grade("handed-in", "--sandbox", "none", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == "Points 0/100"
    assert [line.split("  ")[0] for line in lines[:-1]] == [
        "✘ dataset 0/25",
        "✘ lora 0/15",
        "✘ train 0/35",
        "✘ predict 0/25",
    ]
    assert all("not implemented yet: write " in line for line in lines[:-1])


@pytest.mark.slow
def test_a_syntax_error_and_a_missing_cell_cost_only_their_exercise(tmp_path):
    broken_dataset = module_text("solutions", "dataset.py").replace(
        "class VQADataset(", "for x in\nclass VQADataset(", 1
    )
    lora = module_text("solutions", "lora.py").replace(
        "    # BEGIN SOLUTION\n", "    # BEGIN SOLUTION\n    undefined_name\n", 1
    )
    cut = lora.index("def build_lora_model")
    cells = lab("solutions", skip=("predict.py", "lora.py"), replace={"dataset.py": broken_dataset})
    cells += [
        writefile("lora.py", lora[:cut]),
        new_code_cell("print('between')"),
        writefile("lora.py", lora[cut:], append=True),
    ]
    save(tmp_path / "lab.ipynb", cells)
    dataset_line = broken_dataset[: broken_dataset.index("for x in")].count("\n") + 2
    lora_line = lora[cut:][: lora[cut:].index("undefined_name")].count("\n") + 2
    proc = grade("lab.ipynb", "--sandbox", "none", "--json", "r.json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert (
        f"✘ dataset 0/25  lab.ipynb, cell 4 (%%writefile dataset.py), line {dataset_line}: invalid syntax\n"
        in out
    )
    assert (
        "✘ predict 0/25  lab.ipynb has no `%%writefile predict.py` cell: the predict exercise is graded from a "
        "code cell whose first line is %%writefile predict.py." in out
    )
    assert (
        f"(at lab.ipynb cell 15, line {lora_line} in build_lora_model)" in out
    )  # the -a cell, its own line
    assert "train 35/35" in out
    assert out.strip().splitlines()[-1] == "Points 35/100"
    data = json.loads((tmp_path / "r.json").read_text())
    assert (
        data["exercises"]["dataset"]["status"]
        == data["exercises"]["predict"]["status"]
        == "load_error"
    )
    assert str(tmp_path) not in json.dumps(
        data["exercises"]
    )  # no temporary folder leaks into a message


def test_a_truncated_notebook_is_a_usage_error_with_no_traceback(tmp_path):
    text = save(tmp_path / "full.ipynb", lab("solutions")).read_text()
    (tmp_path / "lab.ipynb").write_text(text[:4000])
    proc = grade("lab.ipynb", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith(
        "Error: lab.ipynb is not a readable notebook: its JSON breaks at line "
    )
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    proc = grade("lab.ipynb", "--lang", "vi", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith(
        "Error: lab.ipynb không đọc được như một notebook"
    )


def test_paths_that_are_neither_folders_nor_notebooks(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    proc = grade("notes.txt", cwd=tmp_path)
    assert proc.returncode == 2 and "notes.txt: not a folder or a notebook" in proc.stderr
    proc = grade("nowhere.ipynb", cwd=tmp_path)
    assert proc.returncode == 2 and "nowhere.ipynb: no such notebook" in proc.stderr


def test_watch_follows_the_notebook_file(tmp_path):
    from grader.cli import snapshot_mtimes

    path = save(tmp_path / "lab.ipynb", lab("solutions"))
    before = snapshot_mtimes(path)
    assert list(before) == [str(path)]
    os.utime(path, ns=(1, 1))
    assert snapshot_mtimes(path) != before
