"""The flag vocabulary: one table decides what a flag means and whether it needs a look, for the batch's
closing list, the report and the feedback pages alike. (Each flag is raised for real in
tests/test_grader/batch/test_batch.py::test_every_flag_is_raised_and_listed_where_the_vocabulary_says.)"""

from __future__ import annotations

import pytest

from grader.batch.records import FAILED, GRADED, BatchSummary, Record
from grader.judge import flags
from grader.reports import class_report, feedback


def result_with(flag_list: list[str]) -> dict:
    return {
        "score": 50,
        "max_score": 100,
        "exercises": {},
        "flags": flag_list,
        "versions": {},
        "lang": "en",
    }


def test_every_flag_has_a_label_and_a_meaning_in_both_languages():
    for flag in flags.FLAGS.values():
        assert flag.label and flags.describe(flag.name, "en") != flags.describe(flag.name, "vi")
        assert flag.raised_by and set(flag.raised_by) <= {"judge", "batch", "report"}
    assert set(flags.WORKER_KINDS) <= set(flags.FLAGS)


def test_a_flag_outside_the_vocabulary_cannot_be_raised():
    assert flags.make("timeout", "lora") == "timeout:lora"
    with pytest.raises(flags.UnknownFlag, match="grader.judge.flags"):
        flags.make("slow")


def test_flags_are_described_in_the_learners_language():
    assert flags.describe("not_implemented:dataset") == "dataset: not implemented yet"
    assert flags.describe("memory:train", "vi") == "train: mã của bạn dùng hết bộ nhớ"
    assert flags.describe("something_else:x") == "something_else:x"
    record = Record("ann", "ann", GRADED, result=result_with(["exit:lora"]))
    assert "lora: your code called sys.exit" in feedback.render_markdown(record)


@pytest.mark.parametrize("name", sorted(flags.FLAGS))
def test_the_batch_lists_a_flag_exactly_when_it_needs_a_look(name):
    if name == "not_graded":
        record = Record("ann", "ann.zip", FAILED, reason="ann.zip: not a zip archive")
    else:
        record = Record("ann", "ann", GRADED, result=result_with([flags.make(name, "lora")]))
    listed = dict(BatchSummary([record]).problems())
    assert ("ann" in listed) == flags.FLAGS[name].needs_look


@pytest.mark.parametrize("name", sorted(set(flags.FLAGS) - {"not_graded", "similar"}))
def test_the_report_shows_every_flag_with_its_label_and_marks_those_that_need_a_look(name):
    records = [
        Record("ann", "ann", GRADED, result=result_with([flags.make(name, "train")])),
        Record("bob", "bob", GRADED, result=result_with([])),
    ]
    summary = class_report.summarize(records)
    assert summary.flags == {name: ["ann"]}
    assert summary.students[0].needs_look == flags.FLAGS[name].needs_look
    html = class_report.render_html(summary)
    assert f'id="flag-{name}"' in html and flags.FLAGS[name].label in html
    assert ('data-look="1"' in html) == flags.FLAGS[name].needs_look
    assert ("needs a look</div>" in html) == flags.FLAGS[name].needs_look


def test_a_flag_that_misbehaved_keeps_its_exercise_out_of_the_reteach_list():
    failing = {
        "score": 0,
        "max_score": 15,
        "status": "graded",
        "summary": "",
        "checks": [
            {
                "name": "lora.trainable",
                "title": "t",
                "score": 0,
                "max_score": 15,
                "passed": False,
                "message": "m",
                "hint": "",
            }
        ],
    }
    for name in flags.FLAGS:
        records = [
            Record(
                "ann",
                "ann",
                GRADED,
                result={**result_with([flags.make(name, "lora")]), "exercises": {"lora": failing}},
            )
        ]
        reteach = class_report.summarize(records).failures
        assert (reteach == []) == flags.FLAGS[name].misbehaved, name
