"""--device cuda: the CUDA checks of train and predict (worth no points), skipped where CUDA is not there.

These tests run without a GPU: the "CUDA not available" path through the whole grader, and the CUDA probes'
code paths in-process with the cpu standing in for the GPU.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.judge import plan
from grader.judge.results import CheckResult, ExerciseResult, GradeResult
from vqa import course

from paths import CACHE, ROOT

SOLUTIONS = ROOT / "solutions"
CUDA_CHECKS = {"train.cuda_one_epoch", "train.cuda_fit", "predict.cuda_answers"}
POINTS = course.POINTS


def cuda_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:  # noqa: BLE001
        return False


def test_cuda_checks_are_declared_and_worth_nothing():
    import importlib

    found = {}
    for exercise in ("train", "predict"):
        module = importlib.import_module(f"grader.checks.test_{exercise}")
        for name, fn in vars(module).items():
            if name.startswith("test_") and getattr(fn, "cuda", False):
                found[f"{exercise}.{name[5:]}"] = fn.points
    assert found == dict.fromkeys(CUDA_CHECKS, 0)
    assert {call.exercise for call in plan.CUDA_PLAN} == {"train", "predict"}
    assert plan.calls_for(["train"]) == [c for c in plan.PLAN if c.exercise == "train"]
    assert {c.key for c in plan.calls_for(["train", "predict"], "cuda")} >= {
        c.key for c in plan.CUDA_PLAN
    }


def test_skipped_check_in_the_result_and_writers():
    from grader.reports import writers

    result = GradeResult(
        exercises={
            "train": ExerciseResult(
                "train",
                [
                    CheckResult("train.a", 2, 2, True, title="A"),
                    CheckResult(
                        "train.cuda_fit", 0, 0, False, "CUDA not available", title="B", skipped=True
                    ),
                ],
            )
        }
    )
    assert result.passed and result.score == result.max_score == 2
    data = result.to_dict()
    assert data["exercises"]["train"]["checks"][1]["skipped"] is True
    assert "skipped" not in data["exercises"]["train"]["checks"][0]
    assert GradeResult.from_dict(data).to_dict() == data
    gs = writers.to_gradescope(result)
    assert "status" not in gs["tests"][1] and "CUDA not available" in gs["tests"][1]["output"]
    xml = writers.to_junit_xml(result)
    assert 'skipped="1"' in xml and "<skipped" in xml and 'failures="0"' in xml


@pytest.mark.skipif(cuda_available(), reason="this machine has CUDA")
def test_device_cuda_without_cuda(tmp_path):
    """The CUDA checks are listed, skipped (not failed, not scored), one note says why, the exit code is 0."""
    exe = shutil.which("grade") or str(Path(sys.executable).parent / "grade")
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [exe, "solutions/", "--sandbox", "none", "--device", "cuda", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "GRADER_CACHE": str(CACHE), "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == "Points 100/100"
    notes = [line for line in lines if "CUDA is not available" in line]
    assert len(notes) == 1, proc.stdout
    assert "✘" not in proc.stdout
    data = json.loads(out.read_text())
    assert data["score"] == data["max_score"] == 100
    assert {n: e["max_score"] for n, e in data["exercises"].items()} == POINTS
    checks = {c["name"]: c for e in data["exercises"].values() for c in e["checks"]}
    assert CUDA_CHECKS <= set(checks)
    for name in CUDA_CHECKS:
        check = checks[name]
        assert (
            check["skipped"] and not check["passed"] and check["score"] == check["max_score"] == 0
        )
        assert check["message"] == "CUDA not available" and not check["hint"]
    assert all(not c.get("skipped") for n, c in checks.items() if n not in CUDA_CHECKS)
    assert len(data["notes"]) == 1


# ---------------------------------------------------------------- the CUDA probes, the cpu standing in


@pytest.fixture(scope="module")
def artifacts():
    from grader.judge.reference import ReferenceStore

    return ReferenceStore(CACHE).get("cpu").artifacts


def run_cuda_probes(folder: Path, artifacts: Path, scratch: Path, monkeypatch) -> dict:
    """The CUDA plan's probes on ``folder``, in this process, as the judge would receive them."""
    from grader.probes import context, devices, plain, predict, registry, train  # noqa: F401 - registers the probes
    from grader.worker import contract
    from grader.worker.handle import CallResult, decode_tensors

    monkeypatch.setattr(devices, "CUDA_STAND_IN", "cpu")
    ctx = context.Context(
        {
            "role": "student",
            "folder": str(folder),
            "artifacts": str(artifacts),
            "scratch": str(scratch),
        }
    )
    out = {}
    for call in plan.CUDA_PLAN:
        result = registry.PROBES[call.probe.name].fn(ctx, **call.args)
        data, tensors = result if isinstance(result, tuple) else (result, {})
        sent = json.loads(json.dumps(contract.encode(data)))
        out[call.key] = CallResult(
            ok=True,
            data=contract.decode(call.probe.result, sent),
            tensors=decode_tensors(plain.pack(tensors)),
        )
    return out


def cuda_outcomes(student: dict, reference: dict) -> dict:
    from grader.judge.session import GraderPlugin, ProbeStore, Status, run_checks

    store = ProbeStore(student, reference, {"train": Status(), "predict": Status()})
    plugin = run_checks(GraderPlugin(store, ["train", "predict"], "cuda"))
    return {name: plugin.outcomes[name] for name in CUDA_CHECKS}


@pytest.fixture(scope="module")
def reference_runs(artifacts, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        return run_cuda_probes(SOLUTIONS, artifacts, tmp_path_factory.mktemp("ref"), mp)


def test_cuda_probes_and_checks_on_a_stand_in(reference_runs, artifacts, tmp_path, monkeypatch):
    from grader.worker.contract import ran_on_cuda

    one_epoch = reference_runs[plan.ONE_EPOCH_CUDA.key].data
    assert ran_on_cuda(one_epoch) and one_epoch.amp_dtype == "float16"
    assert one_epoch.scaler.step == one_epoch.batches
    assert all(c.autocast and c.autocast_dtype == "float16" for c in one_epoch.calls)
    assert ran_on_cuda(reference_runs[plan.FIT_CUDA.key].data)
    assert reference_runs[plan.ANSWERS_CUDA.key].data.answer.dtypes == ["float32"]
    # the reference against itself: every CUDA check passes
    outcomes = cuda_outcomes(reference_runs, reference_runs)
    assert all(o.passed for o in outcomes.values()), {n: o.message for n, o in outcomes.items()}

    # a submission that ignores the scaler and casts pixel values to float16 fails the CUDA checks, in vi too
    sub = tmp_path / "sub"
    shutil.copytree(SOLUTIONS, sub, ignore=shutil.ignore_patterns("__pycache__"))
    train = sub / "train.py"
    train.write_text(
        train.read_text().replace("        if scaler is not None:\n", "        if False:\n")
    )
    predict = sub / "predict.py"
    predict.write_text(
        predict.read_text().replace(
            'encoding["pixel_values"].to(model.dtype)', 'encoding["pixel_values"].to(torch.float16)'
        )
    )
    student = run_cuda_probes(sub, artifacts, tmp_path / "scratch", monkeypatch)
    outcomes = cuda_outcomes(student, reference_runs)
    assert not outcomes["train.cuda_one_epoch"].passed
    assert (
        outcomes["train.cuda_one_epoch"]
        .text("en")
        .startswith("scaler.scale(...) was called 0 times")
    )
    assert (
        outcomes["train.cuda_one_epoch"].text("vi").startswith("scaler.scale(...) được gọi 0 lần")
    )
    assert not outcomes["predict.cuda_answers"].passed
    assert "mong đợi" in outcomes["predict.cuda_answers"].text(
        "vi"
    )  # other answers, or float16 pixel values
    assert outcomes["train.cuda_fit"].passed  # fit itself is the reference's
