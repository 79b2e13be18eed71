"""``grade PATH``, the learner's command: its help lists only what a learner uses, usage errors are click's
(exit 2, the usage line and the reason), the instructors' old spellings are gone, any folder name is a PATH."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from click.testing import CliRunner

from grader.cli import main

from paths import CACHE
from paths import ROOT as REPO

GRADING = {
    "--exercise",
    "--lang",
    "--device",
    "--sandbox",
    "--timeout",
    "--memory-mb",
    "--cache-dir",
}


def option_names(help_text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][\w-]*", help_text))


def test_help_lists_only_the_learners_options():
    result = CliRunner().invoke(main, ["--help"], prog_name="grade")
    assert result.exit_code == 0
    assert option_names(result.output) == GRADING | {
        "--verbose",
        "--watch",
        "--json",
        "--gradescope",
        "--junit",
        "--no-service",
        "--help",
    }
    assert "[env var: GRADER_NO_SERVICE]" in result.output
    assert "--batch" not in result.output and "bundle" not in result.output
    assert "Instructors grading a whole class: see grader --help." in result.output
    assert "--device [cpu|cuda]" in result.output


def test_usage_errors_exit_2_with_clicks_message(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(main, prog_name="grade", args=[str(tmp_path / "nowhere")])
    assert missing.exit_code == 2
    assert "Usage: grade [OPTIONS] PATH" in missing.output
    assert f"Invalid value for 'PATH': {tmp_path / 'nowhere'}: no such folder" in missing.output
    assert "Traceback" not in missing.output
    assert "Missing argument 'PATH'" in runner.invoke(main, prog_name="grade", args=[]).output
    device = runner.invoke(main, prog_name="grade", args=["solutions", "--device", "tpu"])
    assert device.exit_code == 2 and "'tpu' is not one of 'cpu', 'cuda'" in device.output


def test_the_instructors_old_spellings_are_gone(tmp_path):
    runner = CliRunner()
    batch = runner.invoke(main, prog_name="grade", args=["--batch", str(tmp_path)])
    assert batch.exit_code == 2 and "No such option '--batch'" in batch.output
    bundle = runner.invoke(
        main, prog_name="grade", args=["bundle", "gradescope", str(tmp_path / "ag.zip")]
    )
    assert bundle.exit_code == 2 and not (tmp_path / "ag.zip").exists()


def test_a_folder_named_bundle_is_graded(tmp_path):
    folder = tmp_path / "bundle"
    shutil.copytree(
        REPO / "solutions",
        folder,
        ignore=shutil.ignore_patterns("__pycache__", "__init__.py", "*.ipynb"),
    )
    env = {**os.environ, "GRADER_CACHE": str(CACHE), "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "grader.cli", "bundle", "-e", "lora", "--sandbox", "none"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "Points 15/15"
