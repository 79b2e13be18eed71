"""Autograder bundles, generated and their scripts run locally: Gradescope's setup.sh / run_autograder
against an /autograder-like folder, GitHub Classroom's workflow and grading script."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from grader.bundles import build as bundle

from paths import CACHE
from paths import ROOT as REPO

pytestmark = pytest.mark.slow  # grades many submissions end to end: `pytest -m "not slow"` skips it

BIN = Path(sys.executable).parent
GRADE = shutil.which("grade", path=str(BIN)) or shutil.which("grade")
needs_grade = pytest.mark.skipif(
    GRADE is None, reason="the grade command is not installed (pip install -e .)"
)


def fake_pip(tmp_path: Path) -> tuple[str, Path]:
    """A pip stand-in that logs its arguments, one call per line."""
    log = tmp_path / "pip.log"
    script = tmp_path / "pip"
    script.write_text(f'#!/usr/bin/env bash\necho "$*" >> {log}\n')
    script.chmod(0o755)
    return str(script), log


def script_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADER_", "PYTEST_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture(scope="module")
def gradescope_zip(tmp_path_factory):
    return bundle.write_gradescope(tmp_path_factory.mktemp("gs") / "autograder.zip", timeout=30)


def unpack(archive: Path, dest: Path) -> Path:
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)
        for info in zf.infolist():
            mode = info.external_attr >> 16
            if mode:
                (dest / info.filename).chmod(stat.S_IMODE(mode))
    return dest


def test_gradescope_zip_holds_the_scripts_and_the_source(gradescope_zip):
    with zipfile.ZipFile(gradescope_zip) as zf:
        names = set(zf.namelist())
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in zf.infolist()}
        setup = zf.read("setup.sh").decode()
    assert {
        "setup.sh",
        "run_autograder",
        "source/pyproject.toml",
        "source/solutions/dataset.py",
        "source/grader/reports/templates/report.html.j2",
        "source/grader/bundles/templates/run_autograder.j2",
    } <= names
    assert not [
        n
        for n in names
        if "__pycache__" in n or n.endswith(".pyc") or n.startswith("source/tests/")
    ]
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert (
        "$PIP install --no-cache-dir torch --index-url https://download.pytorch.org/whl/cpu"
        in setup
    )


def test_gradescope_setup_installs_cpu_torch_then_the_grader(gradescope_zip, tmp_path):
    root = unpack(gradescope_zip, tmp_path / "autograder")
    pip, log = fake_pip(tmp_path)
    env = script_env(AUTOGRADER_ROOT=root, PIP=pip, PYTHON=sys.executable, GRADE="true")
    proc = subprocess.run(
        ["bash", str(root / "setup.sh")], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    assert (
        calls[0] == "install --no-cache-dir torch --index-url https://download.pytorch.org/whl/cpu"
    )
    assert calls[1] == f"install --no-cache-dir {root}/source"
    log.unlink()
    env.update(GRADER_SOURCE="mllm-vqa-lab==0.1.0", SKIP_TORCH="1")
    subprocess.run(
        ["bash", str(root / "setup.sh")], env=env, check=True, capture_output=True, timeout=120
    )
    assert log.read_text().splitlines() == ["install --no-cache-dir mllm-vqa-lab==0.1.0"]


def test_the_bundled_source_builds_a_complete_wheel(gradescope_zip, tmp_path):
    root = unpack(gradescope_zip, tmp_path / "autograder")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "wheels"),
            str(root / "source"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next((tmp_path / "wheels").glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "grader/reports/templates/report.html.j2",
        "grader/reports/templates/feedback.md.j2",
        "grader/bundles/templates/setup.sh.j2",
        "solutions/train.py",
        "exercises/train.py",
        "grader/cli.py",
    } <= names


@needs_grade
def test_run_autograder_writes_results_json_for_a_submission(gradescope_zip, tmp_path):
    root = unpack(gradescope_zip, tmp_path / "autograder")
    nested = root / "submission" / "my-lab"  # uploaded as a folder: the script finds dataset.py
    shutil.copytree(
        REPO / "solutions", nested, ignore=shutil.ignore_patterns("__pycache__", "__init__.py")
    )
    env = script_env(AUTOGRADER_ROOT=root, GRADE=GRADE, GRADER_CACHE=CACHE)
    proc = subprocess.run(
        ["bash", str(root / "run_autograder")], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 100
    assert len(results["tests"]) > 10 and all(t["status"] == "passed" for t in results["tests"])
    assert sum(t["max_score"] for t in results["tests"]) == 100
    assert (root / "submission" / "my-lab" / "dataset.py").is_file(), (
        "the submission must be left as it was"
    )


def test_run_autograder_reports_a_grader_failure_to_the_learner(gradescope_zip, tmp_path):
    root = unpack(gradescope_zip, tmp_path / "autograder")
    (root / "submission").mkdir()
    env = script_env(AUTOGRADER_ROOT=root, GRADE="false")
    proc = subprocess.run(
        ["bash", str(root / "run_autograder")], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and "could not grade" in results["output"]


def test_classroom_workflow_is_what_github_classroom_expects(tmp_path):
    paths = bundle.write_github_classroom(
        tmp_path, source="git+https://example.org/course/lab-grader.git"
    )
    workflow = yaml.safe_load((tmp_path / ".github/workflows/classroom.yml").read_text())
    assert workflow["name"] == "Autograding Tests"
    assert list(workflow["jobs"]) == ["run-autograding-tests"]
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    grade_step = next(s for s in steps if s.get("id") == "vqalab")
    assert grade_step["run"] == "bash .github/classroom/grade.sh ."
    reporter = steps[-1]
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter")
    assert reporter["with"]["runners"] == "vqalab"
    assert reporter["env"]["VQALAB_RESULTS"] == "${{ steps.vqalab.outputs.result }}"
    install = next(s for s in steps if s.get("name") == "Install the grader")
    assert (
        install["env"]["GRADER_SOURCE"]
        == "${{ secrets.GRADER_SOURCE || 'git+https://example.org/course/lab-grader.git' }}"
    )
    assert all(p.is_file() for p in paths)
    assert os.access(tmp_path / ".github/classroom/grade.sh", os.X_OK)


def test_classroom_setup_installs_cpu_torch_then_the_source(tmp_path):
    bundle.write_github_classroom(tmp_path, source="git+https://example.org/lab.git")
    pip, log = fake_pip(tmp_path)
    env = script_env(PIP=pip, GRADER_SOURCE="/opt/grader-src")
    subprocess.run(
        ["bash", str(tmp_path / ".github/classroom/setup.sh")], env=env, check=True, timeout=60
    )
    assert log.read_text().splitlines() == [
        "install --no-cache-dir torch --index-url https://download.pytorch.org/whl/cpu",
        "install --no-cache-dir /opt/grader-src",
    ]


@needs_grade
def test_classroom_grading_script_reports_points(tmp_path):
    bundle.write_github_classroom(tmp_path / "repo", source="git+https://example.org/lab.git")
    repo = tmp_path / "repo"
    for path in (REPO / "exercises").glob("[a-z]*.py"):
        shutil.copy(path, repo / path.name)
    lora = repo / "lora.py"  # a learner who solved one exercise
    lora.write_text((REPO / "solutions" / "lora.py").read_text())
    output = tmp_path / "github_output"
    env = script_env(GITHUB_OUTPUT=output, GRADE=GRADE, PYTHON=sys.executable, GRADER_CACHE=CACHE)
    proc = subprocess.run(
        ["bash", ".github/classroom/grade.sh", "."],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Points 15/100" in proc.stdout
    key, _, value = output.read_text().strip().partition("=")
    assert key == "result"
    result = json.loads(base64.b64decode(value))
    assert result["max_score"] == 100 and sum(t["score"] for t in result["tests"]) == 15
    assert result["status"] == "fail" and {t["status"] for t in result["tests"]} == {"pass", "fail"}
