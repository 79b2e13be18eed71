"""``grader batch DIR`` and ``grader report OUT`` with the stand-in engine of test_batch_runner: each command's
help lists only its options, usage errors are click's, and ``grader report`` writes the class files again
from the records in OUT without grading anything."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner
from test_batch_runner import ENGINE, engine_on_path, make  # noqa: F401  (engine_on_path: an autouse fixture)

from grader.instructor import main

GRADING = {
    "--exercise",
    "--lang",
    "--device",
    "--sandbox",
    "--timeout",
    "--memory-mb",
    "--cache-dir",
}
BATCH_RUN = {
    "--out",
    "--jobs",
    "--submission-timeout",
    "--force",
    "--retry-failed",
    "--progress",
    "--no-progress",
    "--cluster",
    "--cluster-tls-ca",
    "--cluster-tls-cert",
    "--cluster-tls-key",
}
CLASS_FILES = {
    "--quiz",
    "--lms",
    "--lms-item",
    "--similarity",
    "--no-similarity",
    "--similarity-threshold",
    "--similarity-common-share",
    "--similar-pairs",
}


def grader(*args: str):
    return CliRunner().invoke(main, list(args), prog_name="grader")


def option_names(help_text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][\w-]*", help_text))


def test_the_group_lists_the_instructors_commands():
    done = grader("--help")
    assert done.exit_code == 0
    assert re.findall(r"^  (\w[\w-]*)  ", done.output, re.MULTILINE) == [
        "batch",
        "bundle",
        "report",
    ]


def test_each_command_lists_only_its_options():
    assert option_names(grader("batch", "--help").output) == BATCH_RUN | GRADING | CLASS_FILES | {
        "--help"
    }
    assert option_names(grader("report", "--help").output) == CLASS_FILES | {"--help"}
    assert "--device [cpu|cuda]" in grader("batch", "--help").output


def test_usage_errors_exit_2_with_clicks_message(tmp_path):
    missing = grader("batch", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and "Usage: grader batch [OPTIONS] DIR" in missing.output
    assert "Invalid value for 'DIR'" in missing.output and "does not exist" in missing.output
    device = grader("batch", str(tmp_path), "--device", "tpu")
    assert device.exit_code == 2 and "'tpu' is not one of 'cpu', 'cuda'" in device.output
    empty = grader("report", str(tmp_path))
    assert empty.exit_code == 2 and "Invalid value for 'OUT'" in empty.output
    assert "no batch records" in empty.output and "grader batch DIR --out" in empty.output
    assert "Traceback" not in missing.output + device.output + empty.output


def test_report_writes_the_class_files_again_and_grades_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_BATCH_ENGINE", ENGINE)
    subs = make(tmp_path / "subs", alice="GOOD", bob="BAD")
    out = tmp_path / "out"
    graded = grader("batch", str(subs), "--out", str(out), "--jobs", "1", "--no-progress")
    assert graded.exit_code == 0, graded.output
    assert "2 graded now" in graded.output and not (out / "lms-canvas.csv").exists()
    assert (
        json.loads((out / "report.json").read_text())["similarity"]["settings"]["threshold"] == 0.75
    )
    records = {p.name: p.read_bytes() for p in (out / "students").glob("*.json")}
    feedback = {p.name: p.stat().st_mtime_ns for p in (out / "feedback").iterdir()}

    monkeypatch.setenv(
        "GRADER_BATCH_ENGINE", "test_batch_runner:broken_engine"
    )  # any grading would fail
    done = grader("report", str(out), "--similarity-threshold", "0.3", "--lms", "canvas")
    assert done.exit_code == 0, done.output
    assert "2 records" in done.output and "nothing graded" in done.output
    assert (
        json.loads((out / "report.json").read_text())["similarity"]["settings"]["threshold"] == 0.3
    )
    assert "alice" in (out / "lms-canvas.csv").read_text(encoding="utf-8-sig")
    assert {p.name: p.read_bytes() for p in (out / "students").glob("*.json")} == records
    assert {p.name: p.stat().st_mtime_ns for p in (out / "feedback").iterdir()} == feedback
