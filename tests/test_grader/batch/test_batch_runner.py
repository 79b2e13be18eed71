"""The batch runner's mechanics with a stand-in grading engine (fast, no torch): re-runs skip unchanged
submissions, hangs and dying graders are recorded and the batch goes on, Ctrl-C keeps finished results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import batch
from grader.judge.faults import GraderError
from grader.reports.class_report import write_class_outputs
from vqa import course

from waiting import wait_until

HERE = Path(__file__).resolve().parent
ENGINE = "test_batch_runner:fake_engine"


# a file: WAIT submissions are graded once it exists, and hold until then
RELEASE = "FAKE_ENGINE_RELEASE"


class FakeEngine:
    """Grades by a word in dataset.py: GOOD (25 points), BAD (0), HANG, DIE (the process exits), WAIT (GOOD once
    the file named by $FAKE_ENGINE_RELEASE exists: the test decides when, no clock does), RAISE (the grader's own
    fault), GARBLE (GOOD, after a line on the slot's reply channel that is not a reply)."""

    def __init__(self, options: dict):
        self.options = options

    def grade(self, folder: str) -> dict:
        text = (Path(folder) / "dataset.py").read_text()
        if "HANG" in text:
            time.sleep(3600)
        if "DIE" in text:
            os._exit(3)
        while (
            "WAIT" in text and not Path(os.environ[RELEASE]).exists()
        ):  # an event the test sends, not a clock
            time.sleep(0.02)
        if "RAISE" in text:
            raise GraderError("KeyError: 'lora.trainable'", Path(folder) / "grader-error.log")
        if "GARBLE" in text:
            os.write(
                int(sys.argv[sys.argv.index("--reply-fd") + 1]),
                b"Traceback (most recent call last):\n",
            )
        ok = "GOOD" in text or "WAIT" in text
        check = {
            "name": "dataset.item_shapes",
            "title": "item shapes",
            "score": 25 if ok else 0,
            "max_score": 25,
            "passed": ok,
            "message": "" if ok else "labels: got shape [1, 8], expected [8]",
            "hint": "" if ok else "squeeze the batch dimension",
            "output": "",
        }
        return {
            "score": check["score"],
            "max_score": 25,
            "flags": [],
            "versions": {},
            "lang": "en",
            "exercises": {
                "dataset": {
                    "score": check["score"],
                    "max_score": 25,
                    "status": "graded",
                    "summary": "",
                    "checks": [check],
                }
            },
        }

    def close(self) -> None:
        pass


def fake_engine(options: dict) -> FakeEngine:
    return FakeEngine(options)


def broken_engine(options: dict):
    raise RuntimeError("the reference failed probe dataset.items")


@pytest.fixture(autouse=True)
def engine_on_path(monkeypatch):
    path = [
        str(HERE),
        str(HERE.parents[1]),
        os.environ.get("PYTHONPATH", ""),
    ]  # this module and tests/ helpers
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(path))


def make(root: Path, **students: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, word in students.items():
        (root / name).mkdir(exist_ok=True)
        (root / name / "dataset.py").write_text(f"# {word}\n")
    return root


def options(**kw) -> batch.BatchOptions:
    return batch.BatchOptions(engine=ENGINE, jobs=2, start_timeout=60, **kw)


def test_rerun_grades_only_new_or_changed_submissions(tmp_path):
    subs = make(tmp_path / "subs", alice="GOOD", bob="BAD", carol="GOOD")
    out = tmp_path / "out"
    first = batch.run_batch(subs, out, options(), progress=False)
    assert sorted(first.graded) == ["alice", "bob", "carol"]
    (subs / "bob" / "dataset.py").write_text("# GOOD now\n")
    make(subs, dave="BAD")
    second = batch.run_batch(subs, out, options(), progress=False)
    assert sorted(second.graded) == ["bob", "dave"]
    assert sorted(second.reused) == ["alice", "carol"]
    assert batch.load_record(out / "students" / "bob.json").score == 25
    forced = batch.run_batch(subs, out, options(force=True), progress=False)
    assert len(forced.graded) == 4


def test_a_change_of_the_kits_fixtures_grades_everything_again(tmp_path, monkeypatch):
    """The re-use rule keys on the one fingerprint of everything that decides a grade, fixtures in vqa/ included."""
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(course.ROOT / "vqa", repo / "vqa", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(course, "ROOT", repo)
    subs = make(tmp_path / "subs", alice="GOOD", bob="BAD")
    out = tmp_path / "out"
    assert sorted(batch.run_batch(subs, out, options(), progress=False).graded) == ["alice", "bob"]
    assert sorted(batch.run_batch(subs, out, options(), progress=False).reused) == ["alice", "bob"]
    data = repo / "vqa" / "data.py"
    data.write_text(data.read_text() + "\n# another fixture\n")
    again = batch.run_batch(subs, out, options(), progress=False)
    assert sorted(again.graded) == ["alice", "bob"] and again.reused == []


def test_hang_and_dying_grader_are_recorded_and_the_batch_goes_on(tmp_path):
    subs = make(
        tmp_path / "subs", a_good="GOOD", b_hang="HANG", c_die="DIE", d_good="GOOD", e_bad="BAD"
    )
    out = tmp_path / "out"
    summary = batch.run_batch(subs, out, options(submission_timeout=3), progress=False)
    records = {r.student: r for r in summary.records}
    assert set(records) == {"a_good", "b_hang", "c_die", "d_good", "e_bad"}
    assert (
        records["a_good"].score == 25
        and records["d_good"].score == 25
        and records["e_bad"].score == 0
    )
    assert records["b_hang"].status == "failed" and "longer than 3 s" in records["b_hang"].reason
    assert records["c_die"].status == "failed" and "stopped unexpectedly" in records["c_die"].reason
    problems = dict(summary.problems())
    assert set(problems) == {"b_hang", "c_die"}
    for student in records:  # every result is on disk, with its feedback page
        assert batch.load_record(out / "students" / f"{student}.json") is not None
        assert (out / "feedback" / f"{student}.md").is_file()


def test_a_grader_fault_is_the_graders_and_the_batch_goes_on(tmp_path, caplog):
    """A grading that raises, and a slot that garbles its reply, are recorded as the grader's faults (flag
    grader_error, with the log to read), listed among those that need a look; the rest is graded."""
    subs = make(
        tmp_path / "subs",
        a_good="GOOD",
        b_raise="RAISE",
        c_garble="GARBLE",
        d_good="GOOD",
        e_bad="BAD",
    )
    out = tmp_path / "out"
    summary = batch.run_batch(subs, out, options(), progress=False)
    records = {r.student: r for r in summary.records}
    assert {s: r.score for s, r in records.items() if r.status == "graded"} == {
        "a_good": 25,
        "d_good": 25,
        "e_bad": 0,
    }
    raised, garbled = records["b_raise"], records["c_garble"]
    assert raised.status == "failed" and raised.flags == ["not_graded", "grader_error"]
    assert (
        raised.grader_error
        == "the grader failed on this submission: GraderError: KeyError: 'lora.trainable'"
    )
    assert raised.grader_log and raised.grader_log.endswith("grader-error.log")
    assert garbled.status == "failed" and "grader_error" in garbled.flags
    assert (
        "answered a line that cannot be read ('Traceback (most recent call last):')"
        in garbled.grader_error
    )
    assert garbled.grader_log and Path(garbled.grader_log).name.startswith("slot-")
    assert any("answered a line that cannot be read" in r.getMessage() for r in caplog.records), (
        "not logged"
    )
    assert set(dict(summary.problems())) == {"b_raise", "c_garble"}
    stored = batch.load_record(out / "students" / "b_raise.json")
    assert stored is not None and "grader_error" in stored.flags
    rows = {row.student: row for row in write_class_outputs(summary.records, out).students}
    assert {s for s, row in rows.items() if row.needs_look} == {"b_raise", "c_garble"}


def test_failed_submissions_are_kept_unless_changed_or_retried(tmp_path, monkeypatch):
    subs = make(tmp_path / "subs", hang="HANG", slow="WAIT")
    out = tmp_path / "out"
    release = tmp_path / "release"
    monkeypatch.setenv(RELEASE, str(release))
    batch.run_batch(
        subs, out, options(submission_timeout=0.5), progress=False
    )  # "slow" waits: past its limit
    again = batch.run_batch(subs, out, options(submission_timeout=0.5), progress=False)
    assert sorted(again.reused) == ["hang", "slow"] and not again.graded and not again.failed
    release.touch()
    retried = batch.run_batch(
        subs, out, options(retry_failed=True, submission_timeout=3), progress=False
    )
    assert retried.graded == ["slow"] and retried.failed == ["hang"]
    (subs / "hang" / "dataset.py").write_text("# GOOD\n")
    summary = batch.run_batch(subs, out, options(), progress=False)
    assert summary.graded == ["hang"] and summary.reused == ["slow"]
    assert batch.load_record(out / "students" / "hang.json").score == 25


def test_grading_that_cannot_start_is_one_clear_error(tmp_path):
    subs = make(tmp_path / "subs", alice="GOOD")
    with pytest.raises(batch.SlotStartError, match="reference failed probe dataset.items"):
        batch.run_batch(
            subs,
            tmp_path / "out",
            batch.BatchOptions(engine="test_batch_runner:broken_engine", jobs=1),
            progress=False,
        )


def test_discovery_notes_duplicates_and_stray_files(tmp_path):
    subs = make(tmp_path / "subs", alice="GOOD")
    (subs / "alice.zip").write_bytes(b"PK")
    (subs / "readme.txt").write_text("hello")
    (subs / ".hidden").mkdir()
    entries, notes = batch.discover(subs)
    assert [e.student for e in entries] == ["alice"]
    assert any("alice.zip" in n and "same student id" in n for n in notes)
    assert any("readme.txt" in n for n in notes)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        batch.discover(tmp_path / "missing")


def test_ctrl_c_keeps_every_finished_result_and_a_rerun_finishes(tmp_path, monkeypatch):
    """Two submissions are graded; the third holds the engine until the test releases it, so the interrupt
    always arrives while it is in flight, however fast or loaded the machine is."""
    subs = make(
        tmp_path / "subs", s00="GOOD", s01="GOOD", **{f"s{i:02d}": "WAIT" for i in range(2, 8)}
    )
    out = tmp_path / "out"
    release = tmp_path / "release"
    monkeypatch.setenv(RELEASE, str(release))
    code = (
        f"import sys; from grader.batch.cli import run_batch_command;"
        f"sys.exit(run_batch_command({str(subs)!r}, {str(out)!r}, jobs=1, progress=False, similarity=False))"
    )
    env = {**os.environ, "GRADER_BATCH_ENGINE": ENGINE}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, env=env
    )
    wait_until(lambda: len(list((out / "students").glob("*.json"))) == 2, "two finished results")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    done = sorted(p.stem for p in (out / "students").glob("*.json"))
    assert done == ["s00", "s01"]
    release.touch()
    for path in (out / "students").glob("*.json"):
        assert json.loads(path.read_text())["status"] == "graded"
    assert not list(out.rglob("*.tmp")), "a temporary file was left behind"
    rows = (out / "grades.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(rows) == 1 + len(done)
    summary = batch.run_batch(subs, out, options(), progress=False)
    assert sorted(summary.reused) == done
    assert len(summary.graded) == 8 - len(done)


def test_command_line_lists_the_problems_at_the_end(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from grader.batch.cli import batch_command

    subs = make(tmp_path / "subs", alice="GOOD", hang="HANG")
    (subs / "broken.zip").write_text("not a zip")
    monkeypatch.setenv("GRADER_BATCH_ENGINE", ENGINE)
    result = CliRunner().invoke(
        batch_command,
        [
            str(subs),
            "--out",
            str(tmp_path / "out"),
            "-j",
            "2",
            "--submission-timeout",
            "2",
            "--no-similarity",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 need a look" in result.output
    assert "broken.zip: not a zip archive" in result.output
    assert "hang: grading took longer than 2 s" in result.output
    assert (tmp_path / "out" / "report.html").is_file()


def test_an_output_folder_inside_the_batch_folder_is_not_a_student(tmp_path):
    subs = make(tmp_path / "subs", alice="GOOD")
    summary = batch.run_batch(subs, subs / "results", options(), progress=False)
    assert [r.student for r in summary.records] == ["alice"]
    again = batch.run_batch(subs, subs / "results", options(), progress=False)
    assert again.reused == ["alice"] and len(again.records) == 1
