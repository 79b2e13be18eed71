"""vqa.learner_code: whose fault an error is. The learner's mistakes become one line to act on (a Stop); an error
with no frame in the learner's files is the kit's and is not turned into advice."""

import shutil

import pytest

from vqa import learner_code
from vqa.impl import resolve_folder
from vqa.learner_code import Stop


def learner_dataset(tmp_path, source="exercises", extra=""):
    """A folder whose dataset.py is ``source``'s, with ``extra`` appended (redefining what a test needs)."""
    shutil.copy(resolve_folder(source) / "dataset.py", tmp_path / "dataset.py")
    if extra:
        with open(tmp_path / "dataset.py", "a", encoding="utf-8") as handle:
            handle.write("\n\n" + extra)
    return tmp_path.resolve()


def test_a_stub_says_what_to_fill_in(tmp_path):
    folder = learner_dataset(tmp_path)
    with pytest.raises(Stop) as info:
        learner_code.call(folder, "dataset", "load_splits", folder)
    assert (info.value.key, info.value.fields) == (
        "stub",
        {"file": "dataset.py", "name": "load_splits"},
    )


def test_an_exception_raised_in_the_learners_file_names_their_line(tmp_path):
    folder = learner_dataset(
        tmp_path,
        extra="def load_splits(data_dir, valid_fraction=0.1, seed=42):\n    return {}['train']\n",
    )
    with pytest.raises(Stop) as info:
        learner_code.call(folder, "dataset", "load_splits", folder)
    stop = info.value
    assert stop.key == "error"
    assert stop.fields["error"] == "KeyError: 'train'" and stop.fields["name"] == "load_splits"
    assert (
        stop.fields["where"].startswith(" (dataset.py:")
        and "return {}['train']" in stop.fields["where"]
    )


def test_a_call_the_learners_signature_does_not_take_is_theirs(tmp_path):
    folder = learner_dataset(
        tmp_path, extra="def load_splits(data_dir, valid_fraction):\n    return [], []\n"
    )
    with pytest.raises(Stop) as info:
        learner_code.call(folder, "dataset", "load_splits", folder)
    assert info.value.key == "signature" and "valid_fraction" in str(info.value.fields["error"])


def test_an_error_without_a_frame_in_the_learners_files_is_the_kits(tmp_path):
    folder = learner_dataset(tmp_path, "solutions")

    def kit_code():
        raise RuntimeError("the kit's own bug")

    with pytest.raises(RuntimeError) as info:
        kit_code()
    assert learner_code.blame(info.value, folder) is None
    assert learner_code.blame(info.value, folder, "dataset", "load_splits") is None


def test_a_result_the_next_step_cannot_use_says_what_came_back():
    assert learner_code.expect((1, 2), True, "returned_pair", "dataset", "load_splits") == (1, 2)
    with pytest.raises(Stop) as info:
        learner_code.expect(
            [{"pid": 1}] * 9, False, "returned_pair", "dataset", "load_splits", expected="a, b"
        )
    assert info.value.key == "returned_pair"
    shown = "list [" + "{'pid': 1}, " * 6 + "...]"  # its type and a short repr
    assert info.value.fields == {
        "file": "dataset.py",
        "name": "load_splits",
        "expected": "a, b",
        "got": shown,
    }
