"""Every message the grader shows is in its catalog (hints.toml), and renders in the learner's language."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from grader.judge import messages
from grader.judge.messages import Msg

GRADER = Path(__file__).resolve().parents[3] / "grader"
# where messages are built: the checks, the plugin, the judge, the worker's client and the probes
SOURCES = sorted(
    [
        *GRADER.glob("checks/*.py"),
        *GRADER.glob("probes/*.py"),
        *(
            GRADER / name
            for name in (
                "judge/grade.py",
                "judge/session.py",
                "worker/handle.py",
                "cli.py",
                "judge/messages.py",
            )
        ),
    ]
)
MESSAGE_CALLS = {"fail", "expect", "skip", "Msg", "_fail", "message", "MessageData", "ProbeError"}


def keys_used() -> dict[str, str]:
    """Message keys written in the code: first string argument of fail/expect/skip/Msg/message, of MessageData
    and ProbeError (what the worker sends), and the "key" of {"key": ..., "fields": ...} dicts."""
    found = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name not in MESSAGE_CALLS:
                    continue
                args = node.args[1:] if name == "expect" else node.args
                if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
                    found[args[0].value] = f"{path.name}:{node.lineno}"
                elif (
                    args and isinstance(args[0], ast.JoinedStr) and name == "Msg"
                ):  # Msg(f"lora.label_{field}")
                    prefix = "".join(v.value for v in args[0].values if isinstance(v, ast.Constant))
                    for key in messages.message_keys():
                        if key.startswith(prefix):
                            found[key] = f"{path.name}:{node.lineno}"
            elif isinstance(node, ast.Dict):
                keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
                if keys[:2] == ["key", "fields"] and isinstance(node.values[0], ast.Constant):
                    found[node.values[0].value] = f"{path.name}:{node.lineno}"
    return found


def test_code_uses_messages():
    used = keys_used()
    assert len(used) > 100, "the checks fail with message keys"
    for key in (
        "dataset.shape",
        "train.no_attention_mask",
        "train.not_mean_loss",
        "train.saved_per_epoch",
        "first_difference",
        "not_implemented_detail",
        "timeout",
        "worker_crash",
        "cuda.not_available",
    ):
        assert key in used, key


def test_symptom_hints_name_real_messages_and_checks():
    """Each [symptoms] entry answers a message the checks use, in every language, and its root is a check."""
    used = keys_used()
    symptoms = messages.table()["symptoms"]
    assert len(symptoms) >= 5
    for key, entry in symptoms.items():
        assert key in used, key
        assert all(entry.get(lang) for lang in messages.LANGS), key
        assert entry.get("root") in (None, *messages.table()["checks"]), key


def test_every_message_key_the_code_uses_is_in_the_catalog():
    """(Each key has every language with the same fields: tests/test_catalog.py.)"""
    missing = {
        key: where for key, where in keys_used().items() if key not in messages.message_keys()
    }
    assert not missing, f"message keys without a text in hints.toml: {missing}"


def test_a_text_the_grader_lacks_is_an_error_not_the_key_or_english():
    with pytest.raises(messages.CatalogError, match="no text 'msg.no such key'"):
        messages.message("no such key", "en")
    with pytest.raises(messages.CatalogError, match="unknown language 'fr'"):
        messages.message("points", "fr")
    with pytest.raises(messages.CatalogError, match="checks.dataset.no_such_check.title"):
        messages.check_text("dataset.no_such_check", "vi")
    assert messages.check_text("dataset.len", "vi") == (
        "len(dataset)",
        messages.hints().template("checks.dataset.len.hint", "vi"),
    )


def test_vietnamese_texts_are_translated():
    for key, entry in messages.table()["msg"].items():
        words = set(re.findall(r"[A-Za-z]+", re.sub(r"\{[^}]*\}", " ", entry["vi"])))
        leftover = words & {
            "got",
            "expected",
            "should",
            "raised",
            "missing",
            "times",
            "the",
            "of",
            "was",
            "is",
        }
        assert not leftover, (key, entry["vi"], leftover)


def test_msg_renders_nested_fields_in_each_language():
    msg = Msg(
        "dataset.shape",
        name="input_ids",
        got="[512]",
        expected="[32]",
        what=Msg("dataset.default_lengths"),
    )
    assert (
        msg.render("en") == "input_ids: got shape [512], expected [32] (default lengths 32 and 8)"
    )
    assert (
        msg.render("vi")
        == "input_ids: nhận được kích thước [512], mong đợi [32] (độ dài mặc định 32 và 8)"
    )
    assert str(msg) == msg.render("en")
    again = Msg.from_dict(msg.to_dict())
    assert again == msg
    # what the worker sends: plain data, nested
    crash = Msg.from_dict(
        {"key": "worker_crash", "fields": {"what": {"key": "crash_exit", "fields": {"code": 7}}}}
    )
    assert crash.render("en") == "the worker exited with code 7 (os._exit or a fatal error)"
    assert (
        crash.render("vi")
        == "tiến trình chạy bài đã thoát với mã 7 (os._exit hoặc một lỗi nghiêm trọng)"
    )
    assert Msg.from_dict({"key": "no such key", "fields": {}}) is None
    assert Msg("timeout", seconds="8").render("vi").startswith("quá thời gian sau 8 giây")


def test_check_failure_keeps_the_message_as_data():
    from grader.checks import compare_tensor, fail

    np = pytest.importorskip("numpy")
    problem = compare_tensor("labels", np.zeros((1, 8)), np.zeros(8))
    assert str(problem) == "labels: got shape [1, 8], expected [8]"
    assert problem.render("vi") == "labels: nhận được kích thước [1, 8], mong đợi [8]"
    with pytest.raises(BaseException) as info:
        fail("prefixed", what="x", text=problem)
    assert str(info.value) == "x: labels: got shape [1, 8], expected [8]"
    assert (
        info.value.grader_msg.render("vi") == "x: labels: nhận được kích thước [1, 8], mong đợi [8]"
    )
