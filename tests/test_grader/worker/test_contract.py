"""The worker -> judge contract: what a probe returns crosses the boundary typed, and the judge reads back exactly
what the worker wrote, or says the reply is the grader's fault (never a silent default, never the learner's)."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.judge import plan
from grader.worker import contract
from grader.worker.contract import (
    ForwardCall,
    LearnerError,
    LoraLayer,
    LoraModel,
    LoraResult,
    MessageData,
    OneEpochResult,
    Reply,
    Step,
    decode,
    encode,
)
from grader.worker.protocol import ProtocolError

from paths import ROOT

ONE_EPOCH = OneEpochResult(
    returned=0.25,
    calls=[
        ForwardCall(
            ["attention_mask", "input_ids"],
            0,
            True,
            "float32",
            True,
            True,
            False,
            None,
            "cpu",
            "",
            loss=0.25,
            loss_requires_grad=True,
        )
    ],
    steps=[Step(forward=1, norm=2.0, scale=1.0, residual=0.0)],
    batches=1,
)


def through_json(value: object) -> object:
    return json.loads(json.dumps(encode(value)))


def test_a_result_crosses_the_boundary_unchanged():
    model = LoraModel(
        error=LearnerError(
            "error",
            "TypeError",
            "TypeError: bad",
            "lora.py:3 in build_lora_model",
            MessageData("type_error", {"text": MessageData("probe.x", {"n": 3})}),
        )
    )
    lora = LoraResult(
        defaults=model,
        r4_value=LoraModel(layers={"q": {"default": LoraLayer(4, 2.0, None)}}),
        r8_key=LoraModel(is_peft=True, type="PeftModel"),
    )
    for value in (ONE_EPOCH, lora, Reply(ok=True, kind="ok", data={"a": [1, "x", None]})):
        assert decode(type(value), through_json(value)) == value


def test_a_missing_or_unknown_field_is_a_protocol_error_that_names_it():
    data = through_json(ONE_EPOCH)
    del data["batches"]
    with pytest.raises(ProtocolError, match=r"OneEpochResult.*missing \['batches'\]"):
        decode(OneEpochResult, data)
    data = through_json(ONE_EPOCH)
    data["calls"][0]["extra"] = 1
    with pytest.raises(ProtocolError, match=r"OneEpochResult\.calls\[0\].*unknown \['extra'\]"):
        decode(OneEpochResult, data)


@pytest.mark.parametrize(
    "path, value",
    [
        (("batches",), "1"),  # a str where an int belongs
        (("batches",), True),  # a bool is not an int
        (("steps", 0, "norm"), None),  # null where a float belongs
        (("calls", 0, "keys"), "input_ids"),  # not a list
    ],
)
def test_a_value_of_another_type_is_a_protocol_error(path, value):
    data = through_json(ONE_EPOCH)
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(ProtocolError):
        decode(OneEpochResult, data)


def test_kinds_are_the_contract_s_own():
    with pytest.raises(ProtocolError, match="not one of"):
        decode(Reply, {**through_json(Reply(ok=False, kind="error")), "kind": "oops"})
    with pytest.raises(ProtocolError):
        decode(
            LearnerError, {"kind": "crash", "type": "X", "message": "", "where": None, "msg": None}
        )


def test_only_json_data_is_encoded():
    with pytest.raises(ProtocolError):
        encode(OneEpochResult(returned=object()))
    with pytest.raises(ProtocolError):
        encode({1: "a"})
    assert math.isnan(
        encode(OneEpochResult(returned=float("nan")))["returned"]
    )  # the protocol allows NaN


def test_every_planned_call_names_a_probe_of_the_contract():
    for call in plan.plan_for("cuda") + (plan.SETUP,):
        assert contract.probe_named(call.probe.name) is call.probe
    assert contract.probe_named("selftest.lora").result is contract.SelftestResult
    with pytest.raises(ProtocolError):
        contract.probe_named("no.such.probe")


def test_learner_errors_are_found_in_field_order():
    first = LearnerError(
        "not_implemented", "NotImplementedError", "VQADataset", "dataset.py:1 in __init__"
    )
    second = LearnerError("error", "ValueError", "ValueError: x", None)
    result = contract.ItemsResult(error=first, items=[contract.ItemDescription(error=second)])
    assert contract.learner_errors(result) == [first, second]
    assert contract.learner_errors(ONE_EPOCH) == []


# ---------------------------------------------------------------- mypy keeps the checks and the contract in step

MYPY_CONFIG = """[mypy]
python_version = 3.10
check_untyped_defs = True
ignore_missing_imports = True
follow_imports = silent
"""


def _mypy(root: Path, target: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            "mypy.ini",
            "--cache-dir",
            ".mypy_cache",
            "--no-error-summary",
            target,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_renaming_one_probe_result_field_without_touching_its_check_fails_mypy(tmp_path):
    """EvaluateResult.grads renamed in the contract alone: mypy names each line of the train checks that reads it."""
    for rel in (
        "grader/worker/contract.py",
        "grader/worker/protocol.py",
        "grader/judge/plan.py",
        "grader/checks/__init__.py",
        "grader/checks/test_train.py",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, tmp_path / rel)
    for package in ("grader", "grader/worker", "grader/judge", "grader/checks"):
        (tmp_path / package / "__init__.py").touch()
    (tmp_path / "mypy.ini").write_text(MYPY_CONFIG)
    check = "grader/checks/test_train.py"
    before = _mypy(tmp_path, check)
    assert before.returncode == 0, before.stdout + before.stderr

    source = tmp_path / "grader/worker/contract.py"
    field = "    grads: list[str] = field(default_factory=list)\n"
    assert source.read_text().count(field) == 1
    source.write_text(source.read_text().replace(field, field.replace("grads", "grads_left")))
    after = _mypy(tmp_path, check)
    readers = [
        n
        for n, line in enumerate((tmp_path / check).read_text().splitlines(), 1)
        if "got.grads" in line
    ]
    assert readers and after.returncode == 1
    flagged = {
        int(m)
        for m in re.findall(rf"^{re.escape(check)}:(\d+): error: .*\"grads\"", after.stdout, re.M)
    }
    assert flagged == set(readers), after.stdout
