"""``grader batch`` end to end with the real grader: the reference, the stubs, known-wrong and hostile
submissions (unsafe zips, an endless loop, a crash, an import of the reference, an output flood) in one
batch that finishes with every result on disk and the right grades.  One batch run for the module."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.batch.cli import batch_command
from vqa import course

from mutants import copy_impl
from paths import CACHE
from paths import ROOT as REPO
from quiz_answers import KEY

pytestmark = pytest.mark.slow  # grades many submissions end to end: `pytest -m "not slow"` skips it

CALL_TIMEOUT, SUBMISSION_TIMEOUT = 10, 40


def zip_folder(folder: Path, archive: Path, top: str | None = None) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, f"{top}/{path.name}" if top else path.name)
    shutil.rmtree(folder)
    return archive


LORA_START = "    # BEGIN SOLUTION\n    config = LoraConfig("


def make_class(root: Path) -> Path:
    """Eighteen submissions and a stray file; see the expectations in the tests below."""
    root.mkdir()
    copy_impl("solutions", root / "ref")
    copy_impl("exercises", root / "stub")
    zip_folder(copy_impl("solutions", root / "tmp-zip"), root / "ref_zip.zip", top="my-lab")
    copy_impl(
        "solutions",
        root / "maxlen",
        {"dataset.py": [("            max_length=self.question_max_length,\n", "")]},
    )
    copy_impl(
        "solutions",
        root / "grad_eval",
        {"train.py": [("    with torch.no_grad():\n", "    with torch.enable_grad():\n")]},
    )
    segfault = "    import os, signal\n    os.kill(os.getpid(), signal.SIGSEGV)\n"
    copy_impl("solutions", root / "crash", {"lora.py": [(LORA_START, segfault + LORA_START)]})
    copy_impl(
        "solutions",
        root / "hang_call",
        {"lora.py": [(LORA_START, "    while True:\n        pass\n" + LORA_START)]},
    )
    hang = copy_impl("solutions", root / "hang_import")
    for path in hang.glob("*.py"):
        path.write_text(path.read_text() + "\nwhile True:\n    pass\n")
    hog = "    hog = [bytearray(256 * 1024 * 1024) for _ in range(1000)]  # more than any limit\n"
    copy_impl("solutions", root / "oom", {"lora.py": [(LORA_START, hog + LORA_START)]})
    copy_impl(
        "solutions",
        root / "exits",
        {"lora.py": [(LORA_START, "    import sys\n    sys.exit(2)\n" + LORA_START)]},
    )
    garble = (
        "    import os, stat\n    for fd in range(3, 64):  # the worker's channel to the judge: garbled\n"
        "        try:\n            if stat.S_ISSOCK(os.fstat(fd).st_mode):\n"
        "                os.write(fd, b'\\xff' * 8)\n"
        "        except OSError:\n            pass\n"
    )
    copy_impl("solutions", root / "channel", {"lora.py": [(LORA_START, garble + LORA_START)]})
    copy_impl(
        "solutions",
        root / "syntax",
        {"predict.py": [("import torch\n", "import torch\ndef broken(:\n")]},
    )
    cheat = "import torch\nfrom solutions.dataset import VQADataset as _Ref  # noqa\n"
    copy_impl("solutions", root / "imports_ref", {"dataset.py": [("import torch\n", cheat)]})
    flood = copy_impl("solutions", root / "flood")
    (flood / "predict.py").write_text(
        (flood / "predict.py").read_text()
        + "\nimport sys\nprint('spam ' * 2_000_000)\nsys.stderr.write('x' * 3_000_000)\n"
    )
    with zipfile.ZipFile(root / "evil.zip", "w") as zf:
        for path in sorted((REPO / "solutions").glob("[a-z]*.py")):
            zf.write(path, path.name)
        zf.writestr("../../evil.py", "print('escaped')")
    with zipfile.ZipFile(root / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("dataset.py", b"#" * (64 * 1024 * 1024))
    (root / "notzip.zip").write_text("I am a Word document, honest")
    (root / "empty").mkdir()
    (root / "empty" / "README.txt").write_text("forgot to upload")
    (root / "notes.txt").write_text("instructor notes")
    return root


EXPECTED = {  # student: total (None: not graded)
    "ref": 100,
    "ref_zip": 100,
    "stub": 0,
    "crash": 85,
    "hang_call": 85,
    "imports_ref": 75,
    "flood": 100,
    "oom": 85,
    "exits": 85,
    "syntax": 75,
    "channel": 85,
    "hang_import": None,
    "evil": None,
    "bomb": None,
    "notzip": None,
    "empty": None,
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("batch")
    subs = make_class(base / "submissions")
    quiz = base / "quiz"
    quiz.mkdir()
    attempts = (
        ("ref", {}),
        ("stub", {"Q1": "vicuna", "Q2": "llm-backbone"}),
        ("maxlen", {"Q2": "llm-backbone"}),
    )
    for student, wrong in attempts:
        (quiz / f"{student}.json").write_text(
            json.dumps(
                {
                    "format": "quiz-attempt/1",
                    "quiz": "mllm-part4",
                    "student": student,
                    "time": "2025-05-01T10:00:00+00:00",
                    "answers": {**KEY, **wrong},
                }
            )
        )
    out = base / "out"
    args = [
        str(subs),
        "--out",
        str(out),
        "--jobs",
        "2",
        "--timeout",
        str(CALL_TIMEOUT),
        "--submission-timeout",
        str(SUBMISSION_TIMEOUT),
        "--cache-dir",
        str(CACHE),
        "--quiz",
        str(quiz),
        "--lms",
        "moodle",
        "--no-progress",
        "--sandbox",
        "auto",
        # most of this small class hands in the reference: by default its passages would be common knowledge
        "--similarity-common-share",
        "1",
    ]
    result = CliRunner().invoke(batch_command, args)
    return {"subs": subs, "out": out, "base": base, "result": result, "args": args}


def record(graded, student) -> dict:
    return json.loads((graded["out"] / "students" / f"{student}.json").read_text(encoding="utf-8"))


def test_the_batch_finishes_with_every_result_on_disk(graded):
    result = graded["result"]
    assert result.exit_code == 0, result.output
    students = {
        p.name.removesuffix(".zip") for p in graded["subs"].iterdir() if p.name != "notes.txt"
    }
    assert len(students) == 18
    out = graded["out"]
    for student in students:
        rec = record(graded, student)
        assert rec["student"] == student and rec["status"] in ("graded", "failed")
        for path in (
            f"feedback/{student}.md",
            f"feedback/{student}.html",
            f"gradescope/{student}.json",
        ):
            assert (out / path).is_file(), path
    assert not list(out.rglob("*.tmp"))
    assert "notes.txt: ignored" in result.output


@pytest.mark.parametrize("student,total", [(s, t) for s, t in EXPECTED.items() if t is not None])
def test_grades_are_right(graded, student, total):
    rec = record(graded, student)
    assert rec["status"] == "graded", rec["reason"]
    assert rec["result"]["score"] == total, {
        k: v["score"] for k, v in rec["result"]["exercises"].items()
    }


def test_known_wrong_submissions_lose_points_only_where_wrong(graded):
    maxlen = record(graded, "maxlen")["result"]["exercises"]
    assert maxlen["dataset"]["score"] < 25
    assert [maxlen[e]["score"] for e in ("lora", "train", "predict")] == [15, 35, 25]
    grad = record(graded, "grad_eval")["result"]["exercises"]
    assert grad["train"]["score"] < 35 and [
        grad[e]["score"] for e in ("dataset", "lora", "predict")
    ] == [25, 15, 25]
    failed = [c for c in grad["train"]["checks"] if not c["passed"]]
    assert failed and all(c["message"] for c in failed)


def test_crash_timeout_and_reference_import_are_flagged(graded):
    assert any(f.startswith("crash") for f in record(graded, "crash")["result"]["flags"])
    assert any(f.startswith("timeout") for f in record(graded, "hang_call")["result"]["flags"])
    assert any(
        f.startswith("imports_reference") for f in record(graded, "imports_ref")["result"]["flags"]
    )
    stub = record(graded, "stub")["result"]
    assert sorted(stub["flags"]) == sorted(f"not_implemented:{e}" for e in course.EXERCISES)


def test_every_flag_is_raised_and_listed_where_the_vocabulary_says(graded):
    """Each flag of grader.judge.flags is raised by a submission of this class; the batch's closing list names
    the students whose flags need a look (and no one else), and the report shows every flag with its label."""
    from grader.judge import flags

    raised: dict[str, set[str]] = {}
    data = json.loads((graded["out"] / "report.json").read_text())
    for row in data["students"]:
        for flag in row["flags"]:
            raised.setdefault(flag.partition(":")[0], set()).add(row["student"])
    assert set(raised) == set(flags.FLAGS), (
        "a flag of the vocabulary is never raised here (or one is unknown)"
    )
    assert {"memory", "exit"} <= {
        f.partition(":")[0]
        for f in record(graded, "oom")["result"]["flags"]
        + record(graded, "exits")["result"]["flags"]
    }
    assert "load_error:predict" in record(graded, "syntax")["result"]["flags"]
    assert "output_truncated:predict" in record(graded, "flood")["result"]["flags"]
    listed = graded["result"].output.split("need a look:", 1)[1].split("results in", 1)[0]
    named = {
        line.strip().split(":")[0].removesuffix(".zip")
        for line in listed.splitlines()
        if line.strip()
    }
    look = {s for name, who in raised.items() if flags.FLAGS[name].needs_look for s in who}
    assert named == look
    html = (graded["out"] / "report.html").read_text()
    for name in raised:
        assert f'id="flag-{name}"' in html and flags.label(name) in html


def test_unreadable_and_hostile_submissions_are_recorded_with_the_reason(graded):
    reasons = {s: record(graded, s)["reason"] for s, t in EXPECTED.items() if t is None}
    assert all(record(graded, s)["status"] == "failed" for s in reasons)
    assert "outside the folder" in reasons["evil"]
    assert "bomb.zip: refused" in reasons["bomb"]
    assert "not a zip archive" in reasons["notzip"]
    assert "no Python files" in reasons["empty"]
    assert f"longer than {SUBMISSION_TIMEOUT} s" in reasons["hang_import"]
    assert not list(graded["base"].rglob("evil.py")), "a zip member escaped its folder"
    output = graded["result"].output
    assert "need a look" in output
    for student in reasons:
        assert student in output.split("need a look", 1)[1]


def test_grades_csv_has_one_row_per_student(graded):
    text = (graded["out"] / "grades.csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 18 and len({r["student"] for r in rows}) == 18
    by = {r["student"]: r for r in rows}
    assert by["ref"]["total"] == "100" and by["ref"]["quiz"] == "10" and by["stub"]["quiz"] == "8"
    assert (
        by["crash"]["dataset"],
        by["crash"]["lora"],
        by["crash"]["train"],
        by["crash"]["predict"],
    ) == (
        "25",
        "0",
        "35",
        "25",
    )
    assert by["evil"]["status"] == "failed" and by["evil"]["total"] == "0"
    moodle = list(csv.reader(io.StringIO((graded["out"] / "lms-moodle.csv").read_text())))
    assert moodle[0] == ["ID number", "VQA lab", "Feedback"] and len(moodle) == 19


def test_gradescope_json_and_feedback_match_the_result(graded):
    out = graded["out"]
    gs = json.loads((out / "gradescope" / "maxlen.json").read_text())
    rec = record(graded, "maxlen")["result"]
    assert gs["score"] == rec["score"] and len(gs["tests"]) == sum(
        len(e["checks"]) for e in rec["exercises"].values()
    )
    failing = [c for e in rec["exercises"].values() for c in e["checks"] if not c["passed"]]
    md = (out / "feedback" / "maxlen.md").read_text()
    html = (out / "feedback" / "maxlen.html").read_text()
    for check in failing:
        assert check["message"].splitlines()[0] in md
        if check["hint"]:
            assert check["hint"] in md
    assert (
        f"{rec['score']:g} / 100" in md.replace(".0 /", " /") or f"{int(rec['score'])} / 100" in md
    )
    assert "<!DOCTYPE html>" in html


def test_similar_submissions_are_flagged_and_the_stub_is_not(graded):
    data = json.loads((graded["out"] / "report.json").read_text())
    pairs = {(p["left"], p["right"]) for p in data["similar"]}
    assert ("ref", "ref_zip") in pairs
    assert not any("stub" in pair for pair in pairs)


def test_rerun_keeps_everything_and_grades_nothing(graded):
    before = {p: p.read_bytes() for p in (graded["out"] / "students").glob("*.json")}
    result = CliRunner().invoke(batch_command, graded["args"])
    assert result.exit_code == 0, result.output
    assert "0 graded now" in result.output
    assert {p: p.read_bytes() for p in (graded["out"] / "students").glob("*.json")} == before


def test_report_shows_the_class_in_a_browser(graded, tmp_path):
    from browser import browser_skip_reason, check_report_in_browser

    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    check_report_in_browser(
        graded["out"] / "report.html",
        tmp_path,
        students=18,
        expect_visible=[
            "Timeouts",
            "Crashes",
            "Imports of the reference or grader",
            "not a zip archive",
            "ref ↔ ref_zip",
        ],
    )
