"""A fault of the grader is the grader's: a check that raises, or a worker reply the judge cannot read, ends as
a grader error (the check not judged and worth nothing, a flag, a log to send, exit code 3), never as a failed
check of the learner's, and the other checks are graded as usual."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.cli import EXIT_GRADER, exit_code
from grader.judge import session
from grader.judge.grade import Grader
from grader.worker import protocol

from paths import CACHE, ROOT

pytestmark = pytest.mark.slow  # grades the reference end to end


@pytest.fixture()
def grader(tmp_path):
    with Grader(sandbox="none", cache_dir=CACHE, timeout=60) as g:
        g.log_dir = tmp_path / "logs"
        yield g


def assert_grader_error_in(result, exercise: str, names: set[str]) -> None:
    errored = {c.name for c in result.checks() if c.grader_error}
    assert errored == names, errored
    for check in result.checks():
        if check.grader_error:
            assert (check.score, check.max_score, check.passed) == (0, 0, False)
            assert "not your code" in check.message and not check.hint
        else:
            assert check.passed, (
                check.name,
                check.message,
            )  # the rest is graded as usual: the reference passes
    assert f"grader_error:{exercise}" in result.flags
    assert not any(
        flag.startswith(("crash", "timeout")) for flag in result.flags
    )  # not the learner's crash
    assert result.grader_failed and exit_code(result) == EXIT_GRADER
    note = next(n for n in result.notes if "not your code" in n)
    log = Path(note.rsplit(" ", 1)[-1])
    assert log.is_file()
    return log


def test_a_check_that_raises_is_a_grader_error(grader, tmp_path, monkeypatch):
    planted = tmp_path / "planted_checks"
    shutil.copytree(session.CHECKS_DIR, planted, ignore=shutil.ignore_patterns("__pycache__"))
    lora = planted / "test_lora.py"
    text = lora.read_text(encoding="utf-8")
    anchor = "def test_no_bias_training(probes: Probes) -> None:\n"
    assert text.count(anchor) == 1
    lora.write_text(text.replace(anchor, anchor + "    {}['no such key']\n"), encoding="utf-8")
    monkeypatch.setattr(session, "CHECKS_DIR", planted)
    result = grader.grade(ROOT / "solutions")
    log = assert_grader_error_in(result, "lora", {"lora.no_bias_training"})
    assert "KeyError: 'no such key'" in log.read_text()
    assert result.score == 99 and result.max_score == 99  # its one point neither taken nor given


def test_an_unreadable_worker_reply_is_a_grader_error(grader, monkeypatch):
    real = protocol.recv

    def recv(sock):
        header, blob = real(sock)
        if (
            isinstance(header.get("data"), dict) and "r4_value" in header["data"]
        ):  # lora.build's reply
            raise protocol.ProtocolError("frame header is not an object")
        return header, blob

    monkeypatch.setattr(protocol, "recv", recv)
    result = grader.grade(ROOT / "solutions")
    lora = {c.name for c in result.exercises["lora"].checks}
    assert_grader_error_in(result, "lora", lora)
    assert result.exercises["lora"].max_score == 0 and result.max_score == 85


def test_a_fault_of_the_judge_itself_raises_grader_error_with_its_log(grader, monkeypatch):
    from grader.judge import faults, verdicts

    def broken(*args, **kwargs):
        raise TypeError("planted")

    monkeypatch.setattr(verdicts, "attach_output", broken)
    with pytest.raises(faults.GraderError) as info:
        grader.grade(ROOT / "solutions", ["lora"])
    assert (
        "TypeError: planted" in str(info.value)
        and "TypeError: planted" in info.value.log.read_text()
    )


def test_grade_says_a_fault_of_the_judge_is_the_graders_and_debug_lets_it_raise(
    tmp_path, monkeypatch
):
    """``grade PATH`` exits 3 with the log to send, in one line and no traceback; ``--debug`` lets the grader's
    own error raise with its traceback, for the grader's developers."""
    from click.testing import CliRunner

    from grader.cli import main
    from grader.judge import faults, verdicts

    def broken(*args, **kwargs):
        raise TypeError("planted")

    monkeypatch.setattr(verdicts, "attach_output", broken)
    real_write_log = faults.write_log
    monkeypatch.setattr(
        faults,
        "write_log",
        lambda log_dir, title, sections: real_write_log(tmp_path / "logs", title, sections),
    )
    args = [str(ROOT / "solutions"), "-e", "lora", "--sandbox", "none", "--cache-dir", str(CACHE)]
    result = CliRunner().invoke(main, args, prog_name="grade")
    assert result.exit_code == EXIT_GRADER, result.output
    assert "not your code" in result.output and "TypeError: planted" in result.output
    assert "Traceback" not in result.output
    log = Path(result.output.strip().rsplit(" ", 1)[-1])
    assert log.is_file() and log.parent == tmp_path / "logs"
    debugged = CliRunner().invoke(main, [*args, "--debug"], prog_name="grade")
    assert isinstance(debugged.exception, TypeError) and str(debugged.exception) == "planted"
