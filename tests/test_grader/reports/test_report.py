"""Class outputs from batch records: grades.csv, the LMS exports, report.html/json and feedback pages."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

from grader.batch import Record
from grader.reports import class_report as report
from grader.reports import feedback
from vqa import course

from paths import ROOT as REPO
from quiz_answers import KEY

POINTS = course.POINTS


def result(
    failing: dict[str, tuple[str, str]] | None = None,
    *,
    status: dict[str, str] | None = None,
    flags: list[str] | None = None,
) -> dict:
    """A grade result: two checks per exercise; ``failing`` maps a check name to (message, hint)."""
    failing, status = failing or {}, status or {}
    exercises = {}
    for ex, pts in POINTS.items():
        checks = []
        for i, part in enumerate((pts - pts // 3, pts // 3)):
            name = f"{ex}.check{i}"
            bad = name in failing or ex in status
            message, hint = (
                failing.get(name, (f"not implemented yet: write {ex}", "")) if bad else ("", "")
            )
            checks.append(
                {
                    "name": name,
                    "title": f"{ex} check {i}",
                    "score": 0 if bad else part,
                    "max_score": part,
                    "passed": not bad,
                    "message": message,
                    "hint": hint,
                    "output": "",
                }
            )
        exercises[ex] = {
            "score": sum(c["score"] for c in checks),
            "max_score": pts,
            "status": status.get(ex, "graded"),
            "summary": "",
            "checks": checks,
        }
    score = sum(e["score"] for e in exercises.values())
    return {
        "score": score,
        "max_score": 100,
        "exercises": exercises,
        "flags": flags or [],
        "versions": {},
        "lang": "en",
    }


def sample_records(code_root: Path):
    """Six students (full marks, shared failures, a stub, a timeout, an unreadable zip), similar pairs, a quiz."""
    shape = (
        "labels: got shape [1, 8], expected [8]",
        "pad the answer to answer_max_length and squeeze(0)",
    )
    folders = {}
    for name, src in (("alice", "solutions"), ("bob", "solutions"), ("dave", "exercises")):
        folders[name] = code_root / name
        shutil.copytree(REPO / src, folders[name], ignore=shutil.ignore_patterns("__pycache__"))
    records = [
        Record("alice", "alice", "graded", folder=str(folders["alice"]), result=result()),
        Record(
            "bob",
            "bob.zip",
            "graded",
            folder=str(folders["bob"]),
            result=result({"dataset.check0": shape}),
        ),
        Record(
            "carol",
            "carol",
            "graded",
            result=result(
                {
                    "dataset.check0": shape,
                    "train.check1": ("valid loss 2.3456 did not fall below 2.1234", ""),
                }
            ),
        ),
        Record(
            "dave",
            "dave",
            "graded",
            folder=str(folders["dave"]),
            result=result(
                status={e: "not_implemented" for e in POINTS},
                flags=[f"not_implemented:{e}" for e in POINTS],
            ),
        ),
        Record(
            "eve <script>",
            "eve",
            "graded",
            result=result(
                {
                    "lora.check0": ("timed out after 8 s (an endless loop?)", ""),
                    "train.check0": ("valid loss 9.9 did not fall below 1.0", ""),
                },
                flags=["timeout:lora"],
            ),
        ),
        Record(
            "mallory",
            "mallory.zip",
            "failed",
            reason="mallory.zip: refused: path '../evil.py' points outside the folder ('..')",
        ),
    ]
    from grader.reports.similarity import find_similar

    pairs = find_similar(folders)
    quiz_dir = code_root / "quiz"
    quiz_dir.mkdir()
    for i, (student, wrong) in enumerate(
        (
            ("alice", {}),
            ("bob", {"Q1": "vicuna"}),
            ("carol", {"Q1": "vicuna", "Q2": "llm-backbone"}),
        )
    ):
        (quiz_dir / f"{student}.json").write_text(
            json.dumps(
                {
                    "format": "quiz-attempt/1",
                    "quiz": "mllm-part4",
                    "student": student,
                    "time": f"2025-05-0{i + 1}T10:00:00+00:00",
                    "answers": {**KEY, **wrong},
                }
            ),
            encoding="utf-8",
        )
    from quiz.grading import grade_attempts

    return records, pairs, grade_attempts([quiz_dir]).to_dict()


def test_grades_csv_has_one_row_per_student_and_opens_in_excel(tmp_path):
    records, pairs, quiz = sample_records(tmp_path)
    report.write_class_outputs(records, tmp_path / "out", similar=pairs, quiz=quiz)
    raw = (tmp_path / "out" / "grades.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "no UTF-8 BOM: Excel would garble non-ASCII names"
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["student"] for r in rows] == [r.student for r in records]
    assert list(rows[0]) == [
        "student",
        *course.EXERCISES,
        "total",
        "max_score",
        "quiz",
        "status",
        "flags",
        "reason",
    ]
    by = {r["student"]: r for r in rows}
    assert (
        by["alice"]["total"] == "100" and by["alice"]["quiz"] == "10" and by["bob"]["quiz"] == "9"
    )
    assert by["bob"]["dataset"] == "8" and by["bob"]["total"] == "83"
    assert by["mallory"]["status"] == "failed" and by["mallory"]["total"] == "0"
    assert (
        "outside the folder" in by["mallory"]["reason"] and "not_graded" in by["mallory"]["flags"]
    )
    assert "similar" in by["alice"]["flags"] and "timeout:lora" in by["eve <script>"]["flags"]
    assert by["dave"]["quiz"] == ""


def test_lms_exports_have_the_expected_headers(tmp_path):
    records, _, _ = sample_records(tmp_path)
    summary = report.summarize(records)
    moodle = list(csv.reader(io.StringIO(report.lms_csv(summary, "moodle", "Lab 3"))))
    assert moodle[0] == ["ID number", "Lab 3", "Feedback"]
    assert moodle[1][:2] == ["alice", "100"] and len(moodle) == 1 + len(records)
    assert moodle[-1][2].startswith("Not graded: mallory.zip")
    canvas = list(csv.reader(io.StringIO(report.lms_csv(summary, "canvas", "Lab 3"))))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 3"]
    assert canvas[1][0].strip() == "Points Possible" and canvas[1][-1] == "100"
    assert canvas[2] == ["alice", "", "", "alice", "", "100"]


def test_summary_counts_what_to_reteach(tmp_path):
    records, pairs, _ = sample_records(tmp_path)
    summary = report.summarize(records, similar=pairs)
    top = summary.failures[0]
    assert (top.check, top.message, top.count) == (
        "dataset.check0",
        "labels: got shape [1, 8], expected [8]",
        2,
    )
    assert top.students == ["bob", "carol"]
    # losses that differ only in decimals are one failure; the stub's "not implemented" is not re-teaching
    losses = [f for f in summary.failures if f.check == "train.check1"]
    assert len(losses) == 1 and losses[0].message == "valid loss … did not fall below …"
    assert not any("not implemented" in f.message for f in summary.failures)
    assert not any(f.check.startswith("lora.") for f in summary.failures), (
        "a hung exercise is a flag, not re-teaching"
    )
    rates = {c.name: c for c in summary.checks}
    assert (rates["dataset.check0"].passed, rates["dataset.check0"].total) == (2, 5)
    assert summary.checks[0].rate <= summary.checks[-1].rate
    assert summary.flags["timeout"] == ["eve <script>"] and summary.flags["not_graded"] == [
        "mallory"
    ]
    assert sorted(summary.flags["similar"]) == ["alice", "bob"]
    stats = summary.stats()
    assert (stats["students"], stats["graded"], stats["not_graded"], stats["full_marks"]) == (
        6,
        5,
        1,
        1,
    )
    dataset = next(e for e in summary.exercises if e.name == "dataset")
    assert (dataset.full, dataset.zero, dataset.not_attempted) == (2, 1, 1)
    assert sum(n for _, _, n in summary.histogram) == 6


def test_report_html_is_one_self_contained_file(tmp_path):
    records, pairs, quiz = sample_records(tmp_path)
    report.write_class_outputs(records, tmp_path / "out", similar=pairs, quiz=quiz, lms="moodle")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), (
        "the report links outside"
    )
    assert "@import" not in html and "<link" not in html
    assert "<svg" in html and "<style>" in html and "<details" in html
    assert "eve &lt;script&gt;" in html and "<script>" not in html.replace(
        "<script>\n(function", ""
    )
    assert "Item statistics" in html and "Q10" in html
    assert "<mark>" in html, "similar pairs are not shown side by side"
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["stats"]["students"] == 6 and data["similar"][0]["left"] == "alice"
    assert (tmp_path / "out" / "lms-moodle.csv").is_file()


def test_feedback_pages_carry_the_messages_and_hints(tmp_path):
    records, _, _ = sample_records(tmp_path)
    bob, mallory, eve = records[1], records[5], records[4]
    md = feedback.render_markdown(bob)
    assert "**Score: 83 / 100**" in md
    assert (
        "labels: got shape [1, 8], expected [8]" in md
        and "pad the answer to answer_max_length" in md
    )
    assert "| dataset | 8 / 25 |" in md
    html = feedback.render_html(bob)
    assert "labels: got shape [1, 8], expected [8]" in html and "Hint: pad the answer" in html
    assert "<script" not in feedback.render_html(eve), "a student id must be escaped"
    assert "could not be graded" in feedback.render_markdown(mallory)
    assert "outside the folder" in feedback.render_html(mallory)
    vi = feedback.render_markdown(bob, lang="vi")
    assert "Gợi ý" in vi or "**Điểm" in vi
    feedback.write_student_files(bob, tmp_path / "out")
    gs = json.loads((tmp_path / "out" / "gradescope" / "bob.json").read_text())
    assert gs["score"] == 83 and len(gs["tests"]) == 8
    assert {t["status"] for t in gs["tests"]} == {"passed", "failed"}
    failed_gs = feedback.gradescope_results(mallory)
    assert failed_gs["score"] == 0 and "outside the folder" in failed_gs["output"]
