"""A fault of the grader graded through the service is still the grader's: the service answers it as a fault
with its log, and ``grade`` and ``check()`` tell it as a grade in their own process does (not your code, the
log to send, exit code 3), never as the learner's failure nor as a service that went away."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import EXIT_GRADER, main
from grader.judge import faults, verdicts
from grader.service import client, protocol, server
from grader.service import owner as owner_mod
from grader.service.owner import ServicePaths

from paths import CACHE, ROOT

# grades the reference end to end, in this process and in a service's grader
pytestmark = pytest.mark.slow

SOLUTIONS = ROOT / "solutions"


def broken(*args, **kwargs):
    raise TypeError("planted")


def across_the_socket(reply: protocol.GradeReply) -> protocol.GradeReply:
    return protocol.decode(json.loads(json.dumps(protocol.encode(reply))), protocol.GradeReply)


def test_a_fault_of_the_graders_in_the_service_is_told_as_grade_tells_it(tmp_path, monkeypatch):
    monkeypatch.setattr(
        verdicts, "attach_output", broken
    )  # the judge's own bug, in the service's grader too
    real_write_log = faults.write_log
    monkeypatch.setattr(
        faults,
        "write_log",
        lambda log_dir, title, sections: real_write_log(tmp_path / "logs", title, sections),
    )
    monkeypatch.delenv(client.OFF_VAR, raising=False)
    args = [str(SOLUTIONS), "-e", "lora", "--sandbox", "none", "--cache-dir", str(CACHE)]
    cold = CliRunner().invoke(main, [*args, "--no-service"], prog_name="grade")
    assert cold.exit_code == EXIT_GRADER, cold.output

    settings = client.settings(sandbox="none", cache_dir=CACHE)
    service = server.Service(
        owner_mod.kernel_owner(), settings, ServicePaths(tmp_path / "services", "k")
    )
    monkeypatch.chdir(
        tmp_path
    )  # the service grades from the request's folder; the test's comes back after
    try:
        service.start_grader()
        request = protocol.GradeRequest(
            token="",
            fingerprint=service.fingerprint,
            source=service.source,
            path=str(SOLUTIONS),
            cwd=str(ROOT),
            lang="en",
            settings=settings,
            exercises=("lora",),
        )
        reply = across_the_socket(service.grade(request))
    finally:
        service.close()
    assert reply.status == protocol.FAULT and "TypeError: planted" in reply.message
    assert (
        Path(reply.log).parent == tmp_path / "logs"
        and "TypeError: planted" in Path(reply.log).read_text()
    )

    monkeypatch.setattr(client, "grade", lambda *a, **k: reply)  # the terminal's service answers so
    warm = CliRunner().invoke(main, args, prog_name="grade")
    assert warm.exit_code == EXIT_GRADER
    assert warm.output.replace(reply.log, "LOG") == cold.output.replace(
        cold.output.strip().rsplit(" ", 1)[-1], "LOG"
    )
    assert "not your code" in warm.output and "Traceback" not in warm.output

    from grader.notebook import check

    report = check("lora", folder=SOLUTIONS, show=False)  # the kernel's service answers so
    assert report.result is None and not report.usage
    assert "not your code" in str(report) and reply.log in str(report)
