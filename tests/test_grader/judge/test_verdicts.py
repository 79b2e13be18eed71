"""Verdicts: root causes ("follows from") and the learner's prints."""

from __future__ import annotations

from grader.judge.results import CheckResult
from grader.judge.verdicts import exercise_output, root_causes
from grader.worker.handle import CallResult


def test_root_causes_point_dependent_failures_at_one_root():
    def checks():
        return [
            CheckResult("train.a", 0, 2, False, "mask missing", hint="pass the mask", title="A"),
            CheckResult("train.b", 0, 5, False, "weights differ", hint="own hint", title="B"),
            CheckResult("train.c", 0, 1, False, "mask missing", hint="own hint", title="C"),
            CheckResult("train.d", 1, 1, True, title="D"),
            CheckResult("train.e", 0, 1, False, "other", hint="own hint", title="E"),
        ]

    result = checks()
    same = "error|KeyError: 'mask'|train.py:3 in f"
    root_causes(
        result,
        {"train.b": ["train.a", "train.d"], "train.e": ["train.a"]},
        "en",
        {},
        {"train.a": same, "train.c": same, "train.e": "error|ValueError: x|train.py:9 in g"},
    )
    a, b, c, d, e = result
    assert (a.caused_by, a.hint) == ("", "pass the mask")  # the root keeps its hint
    assert b.caused_by == "train.a" and b.hint.startswith("follows from ✘ “A”")  # declared
    assert c.caused_by == "train.a"  # the same exception as an earlier failure
    # its own exception: a root of its own although it declares a dependency on a failed check
    assert e.caused_by == "" and e.hint == "own hint"
    assert [x.score for x in result] == [0, 0, 0, 1, 0]
    # two checks naming each other: the first stays a root, so the learner always has a place to start
    result = checks()
    root_causes(result, {"train.a": ["train.b"]}, "en", {"train.b": "train.a"})
    assert result[0].caused_by == "train.b" and result[1].caused_by == ""


def test_a_learner_print_is_shown_once_per_exercise():
    calls = [
        CallResult(ok=True, output="epoch 1\n"),
        CallResult(ok=True, output="epoch 1\n"),
        CallResult(ok=False, kind="error", output="saved to <out_dir>\n"),
        CallResult(ok=True, output=""),
    ]
    assert exercise_output(calls) == "epoch 1\nsaved to <out_dir>"
