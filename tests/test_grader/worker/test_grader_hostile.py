"""Submission code cannot crash, hang or rig the grading."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from grader.judge.grade import Grader
from grader.worker import sandbox
from grader.worker.contract import SelftestResult
from grader.worker.handle import Zygote
from vqa import course

from mutants import copy_impl
from paths import CACHE, ROOT
from waiting import wait_until

pytestmark = pytest.mark.slow  # grades many submissions end to end: `pytest -m "not slow"` skips it

SOLUTIONS = ROOT / "solutions"
EXERCISES = course.EXERCISES

# Hostile submissions, as edits to the reference (tests/mutants.py); the other modules stay the reference's.
PATCH_PYTEST = """
# try to make every test pass, wherever pytest runs
try:
    import _pytest.outcomes
    import _pytest.runner
    import pytest

    pytest.fail = lambda *args, **kwargs: None
    _pytest.outcomes.fail = lambda *args, **kwargs: None
    _pytest.runner.call_and_report = lambda item, when, log=True, **kwargs: None
except Exception:
    pass
"""
RIGGED_CONFTEST = """# A conftest that would turn every failure into a pass if pytest ever loaded it.
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
"""
LORA_BODY = "    config = LoraConfig(\n"
HOSTILE = {
    # dataset exhausts memory in load_splits, lora never returns, evaluate calls sys.exit,
    # answer_question calls os._exit
    "crashes": dict(
        edits={
            "dataset.py": [
                (
                    '    path = os.path.join(str(data_dir), "train.jsonl")\n',
                    "    hog = [bytearray(256 * 1024 * 1024) for _ in range(1000)]  # more than any limit\n"
                    '    path = os.path.join(str(data_dir), "train.jsonl")\n',
                )
            ],
            "lora.py": [
                (LORA_BODY, "    while True:  # never returns\n        pass\n" + LORA_BODY)
            ],
            "train.py": [
                ("import contextlib\n", "import contextlib\nimport sys\n"),
                (
                    "    device = torch.device(device)\n    model.eval()\n",
                    "    sys.exit(3)\n    device = torch.device(device)\n    model.eval()\n",
                ),
            ],
            "predict.py": [
                (
                    "    device = torch.device(device)\n    encoding = processor(",
                    "    os._exit(7)\n    device = torch.device(device)\n    encoding = processor(",
                )
            ],
        }
    ),
    # dataset floods its output and leaves background processes behind, lora segfaults,
    # train patches pytest (and ships a conftest.py) while not training at all
    "sneaky": dict(
        edits={
            "dataset.py": [
                (
                    "import torch\nfrom PIL import Image\n",
                    "import subprocess\nimport sys\n\nimport torch\nfrom PIL import Image\n\n"
                    "# background processes the grader must not leave behind (one in the worker's group,"
                    " one escaping it)\n"
                    'subprocess.Popen(["sleep", "3131"])\nsubprocess.Popen(["setsid", "sleep", "3132"])\n',
                ),
                (
                    "        record = self.records[idx]\n",
                    "        record = self.records[idx]\n"
                    '        sys.stdout.write("flood " * 400_000 + "\\n")  # about 2.4 MB per item\n',
                ),
            ],
            "lora.py": [
                (
                    LORA_BODY,
                    "    import ctypes\n\n    ctypes.string_at(0)  # segmentation fault\n"
                    + LORA_BODY,
                )
            ],
            "train.py": [
                ("from tqdm.auto import tqdm\n", "from tqdm.auto import tqdm\n" + PATCH_PYTEST),
                (
                    "            loss.backward()\n            optimizer.step()\n",
                    "            pass  # no training at all\n",
                ),
            ],
        },
        files={"conftest.py": RIGGED_CONFTEST},
    ),
    # lora re-exports the reference, train imports the grader, dataset imports the reference by a
    # computed name at run time
    "reference": dict(
        edits={
            "dataset.py": [
                (
                    '    """Read data_dir/train.jsonl',
                    "    import importlib\n\n"
                    '    reference = importlib.import_module("sol" + "utions.data" + "set")\n'
                    "    return reference.load_splits(data_dir, valid_fraction, seed)\n"
                    '    """Read data_dir/train.jsonl',
                )
            ],
            "train.py": [
                (
                    "from tqdm.auto import tqdm\n",
                    "import grader  # noqa: F401\nfrom tqdm.auto import tqdm\n",
                )
            ],
        },
        files={
            "lora.py": '"""Re-exports the reference."""\n\nfrom solutions.lora import build_lora_model  # noqa: F401\n'
        },
    ),
}


def assemble(name: str, dest: Path) -> Path:
    """A hostile submission: the reference with the edits of ``HOSTILE[name]``."""
    return copy_impl("solutions", dest, **HOSTILE[name])


def processes_with(needle: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def grader():
    with Grader(sandbox="none", cache_dir=CACHE, timeout=8, memory_mb=1024) as g:
        yield g


def full(result, exercise):
    ex = result.exercises[exercise]
    return ex.score == ex.max_score


def test_crashes_cost_only_their_exercise(grader, tmp_path):
    result = grader.grade(assemble("crashes", tmp_path / "sub"))
    # dataset: MemoryError in load_splits costs the split checks only
    splits = {c.name: c for c in result.exercises["dataset"].checks}
    assert not splits["dataset.splits"].passed and "memory" in splits["dataset.splits"].message
    assert splits["dataset.item_shapes"].passed
    # lora: endless loop -> timeout
    assert result.exercises["lora"].score == 0
    assert any("timed out" in c.message for c in result.exercises["lora"].checks)
    # train: sys.exit in evaluate -> evaluate and fit checks fail, train_one_epoch checks pass
    train = {c.name: c for c in result.exercises["train"].checks}
    assert "sys.exit(3)" in train["train.evaluate_loss"].message
    assert train["train.one_epoch_steps"].passed
    # predict: os._exit in answer_question
    predict = {c.name: c for c in result.exercises["predict"].checks}
    assert "exited with code 7" in predict["predict.answer_question"].message
    assert (
        "timeout:lora" in result.flags
        and "crash:predict" in result.flags
        and "memory:dataset" in result.flags
    )


def test_flood_segfault_and_patching(grader, tmp_path):
    result = grader.grade(assemble("sneaky", tmp_path / "sub"))
    # the flood is captured and truncated, it costs nothing
    assert full(result, "dataset"), [
        (c.name, c.message) for c in result.exercises["dataset"].checks if not c.passed
    ]
    # segfault in build_lora_model
    lora = result.exercises["lora"]
    assert lora.score == 0 and "segmentation fault" in lora.checks[0].message
    # patching pytest (and a conftest.py) in the worker changes nothing: no training -> weights differ
    train = {c.name: c for c in result.exercises["train"].checks}
    assert not train["train.one_epoch_steps"].passed
    assert result.exercises["train"].score < result.exercises["train"].max_score
    assert full(result, "predict")
    # nothing left running, not even the process that left the worker's session
    wait_until(
        lambda: processes_with("sleep 3131") == [] and processes_with("sleep 3132") == [],
        "the escaped processes to be killed",
        30,
    )


def test_error_message_points_at_the_line(grader, tmp_path):
    sub = assemble("sneaky", tmp_path / "sub")
    (sub / "lora.py").write_text(
        (SOLUTIONS / "lora.py")
        .read_text()
        .replace(
            "    config = LoraConfig(",
            "    print('x' * 1000)\n    raise ValueError('boom')\n    config = LoraConfig(",
            1,
        )
    )
    result = grader.grade(sub, ["lora"])
    check = result.exercises["lora"].checks[1]
    assert "ValueError: boom" in check.message and "lora.py:" in check.message


def test_reference_imports_get_no_credit(grader, tmp_path):
    result = grader.grade(assemble("reference", tmp_path / "sub"))
    for exercise in ("lora", "train", "dataset"):
        ex = result.exercises[exercise]
        assert ex.score == 0 and ex.status == "imports_reference", (exercise, ex.summary)
        assert f"imports_reference:{exercise}" in result.flags
    assert "solutions" in result.exercises["lora"].summary
    assert "grader" in result.exercises["train"].summary
    assert full(result, "predict")


def test_graded_reference_is_not_flagged(grader):
    result = grader.grade(SOLUTIONS)
    assert result.score == 100 and not result.flags


def test_worker_survives_and_cleans_up(tmp_path):
    """The worker protocol itself: exits, crashes and timeouts cost one call; the group is killed."""
    sub = tmp_path / "sub"
    sub.mkdir()
    for exercise in EXERCISES:
        shutil.copyfile(SOLUTIONS / f"{exercise}.py", sub / f"{exercise}.py")
    (sub / "lora.py").write_text(
        (SOLUTIONS / "lora.py").read_text()
        + """

def selftest(mode="ok"):
    import os, sys, subprocess
    if mode == "ok":
        print("hello")
        return 42
    if mode == "loop":
        while True:
            pass
    if mode == "exit":
        sys.exit(3)
    if mode == "_exit":
        os._exit(5)
    if mode == "child":
        subprocess.Popen(["sleep", "3133"])
        return 1
    if mode == "flood":
        for _ in range(20000):
            print("x" * 1000)
        return 2
"""
    )
    zygote = Zygote(cwd=str(tmp_path / "z"))
    try:
        zygote.start()

        def child():
            return zygote.spawn(
                {
                    "role": "student",
                    "folder": str(sub),
                    "artifacts": str(tmp_path),
                    "scratch": str(tmp_path / "scratch"),
                    "memory_mb": 1024,
                    "guard": None,
                }
            )

        c = child()
        ok = c.call({"op": "probe", "probe": "selftest.lora", "args": {}}, timeout=20)
        assert ok.ok and ok.data == SelftestResult(value=42) and ok.output == "hello\n"
        ex = c.call({"op": "probe", "probe": "selftest.lora", "args": {"mode": "exit"}}, timeout=20)
        assert ex.kind == "exit" and not c.dead  # SystemExit is caught: the child lives on
        assert c.call(
            {"op": "probe", "probe": "selftest.lora", "args": {"mode": "child"}}, timeout=20
        ).ok
        flood = c.call(
            {"op": "probe", "probe": "selftest.lora", "args": {"mode": "flood"}}, timeout=60
        )
        assert flood.ok and flood.output_bytes > 20_000_000 and len(flood.output) < 10_000
        assert "[output truncated" in flood.output
        loop = c.call(
            {"op": "probe", "probe": "selftest.lora", "args": {"mode": "loop"}}, timeout=2
        )
        assert loop.kind == "timeout" and c.dead
        wait_until(
            lambda: processes_with("sleep 3133") == [], "the child's process group to be killed", 30
        )
        c = child()
        died = c.call(
            {"op": "probe", "probe": "selftest.lora", "args": {"mode": "_exit"}}, timeout=20
        )
        assert died.kind == "crash" and "code 5" in died.message
        c = child()
        assert c.call({"op": "probe", "probe": "selftest.lora", "args": {}}, timeout=20).ok
        c.close()
    finally:
        zygote.close()
    assert zygote.proc is None


# ---------------------------------------------------------------- sandbox

BWRAP_OK, BWRAP_WHY = sandbox.bwrap_status()


def test_auto_falls_back_and_says_so(monkeypatch):
    monkeypatch.setattr(
        sandbox, "bwrap_status", lambda: (False, "bubblewrap (bwrap) is not installed")
    )
    mode, note = sandbox.resolve("auto")
    assert mode == "none" and "without a sandbox" in note
    with pytest.raises(sandbox.SandboxError):
        sandbox.resolve("bwrap")


def _escape_probe(tmp_path, mode, outside):
    sub = tmp_path / "sub"
    sub.mkdir()
    for exercise in EXERCISES:
        shutil.copyfile(SOLUTIONS / f"{exercise}.py", sub / f"{exercise}.py")
    (sub / "dataset.py").write_text(
        (SOLUTIONS / "dataset.py").read_text()
        + f"""

def selftest():
    import socket
    result = {{}}
    try:
        socket.create_connection(("127.0.0.1", 9), timeout=2)
        result["network"] = "connected"
    except OSError as exc:
        result["network"] = type(exc).__name__ + ": " + str(exc)
    try:
        open({str(outside)!r}, "w").write("escaped")
        result["write_outside"] = "written"
    except OSError as exc:
        result["write_outside"] = type(exc).__name__
    open("inside.txt", "w").write("scratch is writable")
    result["write_scratch"] = "ok"
    return result
"""
    )
    scratch = tmp_path / "run"
    zygote = Zygote(
        sandbox_mode=mode, cwd=str(scratch / "z"), readable=[str(sub)], writable=[str(scratch)]
    )
    try:
        c = zygote.spawn(
            {
                "role": "student",
                "folder": str(sub),
                "artifacts": str(tmp_path),
                "scratch": str(scratch / "child"),
                "memory_mb": 1024,
                "guard": None,
            }
        )
        r = c.call({"op": "probe", "probe": "selftest.dataset", "args": {}}, timeout=60)
        c.close()
    finally:
        zygote.close()
    assert r.ok, r.message
    return r.data.value, outside


@pytest.mark.skipif(not BWRAP_OK, reason=f"bubblewrap unusable here: {BWRAP_WHY}")
def test_bwrap_blocks_network_and_writes(tmp_path):
    # a folder outside /tmp (which the sandbox replaces by a private tmpfs)
    outside = ROOT / "tests" / "submissions" / f".escape-{os.getpid()}.txt"
    try:
        value, _ = _escape_probe(tmp_path, "bwrap", outside)
        assert value["network"] != "connected"
        assert value["write_outside"] != "written" and not outside.exists()
    finally:
        outside.unlink(missing_ok=True)
    assert value["write_scratch"] == "ok"


def test_without_sandbox_the_worker_still_runs(tmp_path):
    value, _ = _escape_probe(tmp_path, "none", tmp_path / "outside.txt")
    assert value["write_scratch"] == "ok"


@pytest.mark.skipif(not BWRAP_OK, reason=f"bubblewrap unusable here: {BWRAP_WHY}")
def test_grading_under_bwrap(tmp_path):
    with Grader(sandbox="bwrap", cache_dir=CACHE) as g:
        result = g.grade(SOLUTIONS, ["lora", "predict"])
    assert result.score == result.max_score == 40
    assert not result.notes


def test_a_child_of_a_dead_zygote_ending_after_the_restart_leaves_the_new_ones_channel_alone(
    tmp_path,
):
    """A child that outlived its zygote (the zygote was killed, and restarted for the next call) ends after the
    restart: its end asks nothing of the new zygote, whose first message, its ready line, is still there for
    the next spawn (it was once read as the answer to the old child's kill, and the start then failed)."""
    sub = tmp_path / "sub"
    sub.mkdir()
    for exercise in EXERCISES:
        shutil.copyfile(SOLUTIONS / f"{exercise}.py", sub / f"{exercise}.py")
    with open(sub / "lora.py", "a") as fh:
        fh.write("\n\ndef selftest(mode=None):\n    return 42\n")
    zygote = Zygote(cwd=str(tmp_path / "z"))
    config = {
        "role": "student",
        "folder": str(sub),
        "artifacts": str(tmp_path),
        "scratch": str(tmp_path / "scratch"),
        "memory_mb": 1024,
        "guard": None,
    }
    try:
        zygote.start()
        old = zygote.spawn(config)
        assert old.call({"op": "probe", "probe": "selftest.lora", "args": {}}, timeout=60).ok
        zygote.broken = True  # what a lane finds when the zygote died under it
        assert zygote.restart() and not zygote.ready
        old.close()  # the old child ends now, before anything waited for the new zygote
        new = zygote.spawn(config)
        assert zygote.starts == 2 and zygote.ready
        assert new.call({"op": "probe", "probe": "selftest.lora", "args": {}}, timeout=60).ok
        new.close()
    finally:
        zygote.close()
