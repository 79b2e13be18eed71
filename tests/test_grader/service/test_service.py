"""The warm grading service, end to end: a repeated check is answered by the same service and worker, a
change of the learner's files or of what decides a grade gives a correct fresh grade, a killed service or
worker is replaced, hostile code costs its own check only, each owner has a service of its own that ends
with it, and every corpus gets the same verdicts warm as cold.

Each test asks as a learner's kernel would (an owner process standing in for the kernel) in a private
service folder; what is counted is which service and which worker answered, never how long it took.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys

import pytest

from grader.judge.grade import Grader
from grader.judge.results import GradeResult
from grader.service import client, protocol
from grader.service import owner as owner_mod

from mutants import copy_impl
from paths import CACHE, ROOT
from waiting import wait_until

# starts services and grades end to end: `pytest -m "not slow"` skips it
pytestmark = pytest.mark.slow

SOLUTIONS = ROOT / "solutions"
REWRITES = ROOT / "tests" / "rewrites"
# the reference cache the other grading tests use
OPTIONS = dict(sandbox="auto", timeout=8.0, memory_mb=1024)  # as the hostile tests grade


def load_test_module(relative: str):
    """A module of another test folder (its tables of known-wrong and hostile submissions)."""
    path = ROOT / "tests" / relative
    spec = importlib.util.spec_from_file_location(f"service_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


class Kernel:
    """A process standing in for a learner's kernel: the owner of one service."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        self.owner = owner_mod.kernel_owner(self.proc.pid)
        self.settings = client.settings(cache_dir=CACHE, **OPTIONS)

    def check(self, path, exercises=None, lang: str = "en") -> protocol.GradeReply:
        reply = client.grade(path, exercises, lang=lang, settings=self.settings, owner=self.owner)
        assert reply is not None and reply.status == protocol.OK, reply
        return reply

    def end(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="module", autouse=True)
def private_services(tmp_path_factory):
    """Services in a folder of this module's own, and on (the test suite otherwise grades without them)."""
    patch = pytest.MonkeyPatch()
    patch.setenv(owner_mod.DIR_VAR, str(tmp_path_factory.mktemp("services")))
    patch.delenv(client.OFF_VAR, raising=False)
    yield
    patch.undo()


@pytest.fixture()
def kernel():
    k = Kernel()
    yield k
    pid = client.running(k.owner)
    k.end()
    if pid is not None:
        wait_until(lambda: process_gone(pid), "the service ends with its kernel")


def result_of(reply: protocol.GradeReply) -> GradeResult:
    return GradeResult.from_dict(reply.result)


def test_a_repeated_check_reuses_the_warm_service(kernel):
    first = kernel.check(SOLUTIONS, ["lora"])
    again = kernel.check(SOLUTIONS, ["lora"])
    assert result_of(first).score == result_of(again).score == 15
    assert again.service.pid == first.service.pid == client.running(kernel.owner)
    assert again.service.zygote_pid == first.service.zygote_pid and again.service.zygote_starts == 1
    assert (first.service.grades, again.service.grades) == (1, 2)
    vi = kernel.check(SOLUTIONS, ["lora"], lang="vi")  # another language is the same service
    assert vi.service.pid == first.service.pid and result_of(vi).lang == "vi"


def test_a_changed_learner_file_is_graded_afresh(kernel, tmp_path):
    sub = copy_impl("solutions", tmp_path / "sub")
    assert result_of(kernel.check(sub, ["lora"])).score == 15
    lora = sub / "lora.py"
    lora.write_text(lora.read_text().replace('bias="none"', 'bias="all"'))
    result = result_of(kernel.check(sub, ["lora"]))
    assert result.score < 15
    assert "lora.no_bias_training" in [c.name for c in result.checks() if not c.passed]
    lora.write_text((SOLUTIONS / "lora.py").read_text())
    assert result_of(kernel.check(sub, ["lora"])).score == 15


def test_a_changed_reference_restarts_the_service(kernel, tmp_path, monkeypatch):
    """What decides a grade changed (here the reference, as for a changed kit or grader file: the fingerprint
    differs): the old service answers stale and ends, a new one grades against the new reference."""
    first = kernel.check(SOLUTIONS, ["lora"])
    reference = copy_impl(
        "solutions", tmp_path / "reference", {"lora.py": [('bias="none",', 'bias="all",')]}
    )  # a reference that trains the biases
    monkeypatch.setenv("GRADER_REFERENCE", str(reference))
    reply = kernel.check(SOLUTIONS, ["lora"])
    assert reply.service.pid != first.service.pid
    wait_until(lambda: process_gone(first.service.pid), "the stale service ends")
    assert result_of(reply).score < 15  # judged against the new reference, whose biases train
    monkeypatch.delenv("GRADER_REFERENCE")
    back = kernel.check(SOLUTIONS, ["lora"])
    assert back.service.pid != reply.service.pid and result_of(back).score == 15


def test_a_killed_service_is_replaced_without_a_word(kernel):
    first = kernel.check(SOLUTIONS, ["dataset"])
    os.kill(first.service.pid, signal.SIGKILL)
    wait_until(lambda: process_gone(first.service.pid), "the killed service is gone")
    again = kernel.check(SOLUTIONS, ["dataset"])
    assert again.service.pid != first.service.pid and result_of(again).score == 25
    assert client.running(kernel.owner) == again.service.pid


def test_hostile_submissions_cost_their_own_checks_and_the_service_goes_on(kernel, tmp_path):
    hostile = load_test_module("test_grader/worker/test_grader_hostile.py")
    first = kernel.check(SOLUTIONS, ["lora"])
    crashes = result_of(kernel.check(hostile.assemble("crashes", tmp_path / "crashes")))
    assert crashes.exercises["lora"].score == 0  # an endless loop: timed out
    assert any("timed out" in c.message for c in crashes.exercises["lora"].checks)
    assert (
        "exited with code 7"
        in {c.name: c for c in crashes.checks()}["predict.answer_question"].message
    )
    assert "memory:dataset" in crashes.flags
    # a submission that kills the worker itself: the service starts another one for the next check
    killer = copy_impl(
        "solutions",
        tmp_path / "killer",
        {
            "lora.py": [
                (
                    "    config = LoraConfig(\n",
                    "    import os, signal\n\n    os.kill(os.getppid(), signal.SIGKILL)\n    config = LoraConfig(\n",
                )
            ]
        },
    )
    assert result_of(kernel.check(killer, ["lora"])).exercises["lora"].score == 0
    after = kernel.check(SOLUTIONS)
    assert result_of(after).score == 100
    assert after.service.pid == first.service.pid and after.service.zygote_starts == 2
    # the new worker outlives the grading that started it (it is not tied to that grading's threads)
    assert kernel.check(SOLUTIONS, ["lora"]).service.zygote_starts == 2


def test_two_owners_get_two_services_and_each_ends_with_its_owner(kernel):
    other = Kernel()
    try:
        mine = kernel.check(SOLUTIONS, ["lora"])
        theirs = other.check(SOLUTIONS, ["lora"])
        assert mine.service.pid != theirs.service.pid
        assert mine.service.zygote_pid != theirs.service.zygote_pid
    finally:
        other.end()
    wait_until(lambda: process_gone(theirs.service.pid), "the service ends with its kernel")
    assert client.running(other.owner) is None
    assert client.running(kernel.owner) == mine.service.pid  # the other kernel's goes on


def test_the_same_verdicts_warm_as_cold(kernel, tmp_path):
    for folder in sorted(p for p in REWRITES.iterdir() if (p / "train.py").is_file()):  # s1 .. s8
        result = result_of(kernel.check(folder))
        assert result.score == result.max_score == 100, [
            (c.name, c.message) for c in result.checks() if not c.passed
        ]
    defects = load_test_module("test_grader/judge/test_grader_defects.py")
    chosen = {
        "labels_unpadded",
        "bias_trained",
        "no_zero_grad",
        "best_never_updated",
        "batch_decode_list",
    }
    with Grader(
        cache_dir=CACHE, **OPTIONS
    ) as grader:  # graded in this process, as without a service
        for name, file, old, new, _exercise, _checks in (
            d for d in defects.DEFECTS if d[0] in chosen
        ):
            sub = defects.make_submission(tmp_path / name, file, old, new)
            warm = result_of(kernel.check(sub)).to_dict(timings=False)
            assert warm == grader.grade(sub).to_dict(timings=False), name


def test_grade_in_a_shell_starts_a_service_that_the_next_grade_uses(tmp_path):
    """Two ``grade`` commands in one terminal session: the first starts the session's service, the second is
    answered by it; both print the same. ``--no-service`` grades without one."""
    env = {**os.environ, owner_mod.DIR_VAR: str(tmp_path / "services")}
    env.pop(client.OFF_VAR, None)
    grade = [
        sys.executable,
        "-m",
        "grader.cli",
        str(SOLUTIONS),
        "-e",
        "lora",
        "--cache-dir",
        str(CACHE),
    ]
    script = (
        "import subprocess, sys, json\n"
        f"outs = [subprocess.run({grade!r}, capture_output=True, text=True).stdout for _ in range(2)]\n"
        "print(json.dumps(outs))\n"
    )
    shell = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        start_new_session=True,
    )  # a terminal session of its own (the script leads it)
    import json

    first, second = json.loads(shell.stdout)
    assert first == second and first.strip().endswith("Points 15/15")
    logs = list((tmp_path / "services").glob("terminal-*.log"))
    assert len(logs) == 1
    log = logs[0].read_text()
    assert log.count("serving ") == 1 and log.count("graded ") == 2
    wait_until(
        lambda: "stopping" in logs[0].read_text(), "the service ends with its session's leader"
    )
    proc = subprocess.run(
        [*grade, "--no-service"],
        env={**env, owner_mod.DIR_VAR: str(tmp_path / "none")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.stdout == first and not (tmp_path / "none").exists()


def test_check_in_a_notebook_asks_the_kernels_service(monkeypatch, tmp_path):
    """check() as a notebook calls it (this process standing in for the kernel): its first call starts the
    kernel's service, the next is answered by the same one; what cannot be graded is said as grade says it."""
    from grader.notebook import check

    monkeypatch.setenv("GRADER_CACHE", str(CACHE))
    me = owner_mod.kernel_owner()
    try:
        first = check("lora", folder=SOLUTIONS, show=False)
        pid = client.running(me)
        again = check("lora", folder=SOLUTIONS, lang="vi", show=False)
        assert (first.score, again.score, first.max_score) == (15, 15, 15) and again.lang == "vi"
        assert pid is not None and client.running(me) == pid
        missing = check("train", folder=tmp_path / "nowhere", show=False)
        assert missing.usage and "nowhere: no such folder" in str(missing)
        assert client.running(me) == pid
    finally:
        assert client.stop(me)
