"""Atomic writes and cached folders: nothing half-written is ever kept or reused."""

import json

import pytest

from vqa.files import cached_dir, write_json_atomic, write_text_atomic


def test_atomic_write_creates_the_folder_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "a" / "b.json"
    write_json_atomic(target, {"x": "é"})
    assert json.loads(target.read_text(encoding="utf-8")) == {"x": "é"}
    assert [p.name for p in target.parent.iterdir()] == ["b.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "grades.csv"
    write_text_atomic(target, "old\n")
    with pytest.raises(TypeError):
        write_text_atomic(target, None)  # fails while writing
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["grades.csv"]


def test_cached_dir_builds_once_and_rebuilds_for_another_stamp(tmp_path):
    calls = []

    def build(folder):
        calls.append(folder)
        (folder / "data.txt").write_text(str(len(calls)))

    target = tmp_path / "cache" / "thing"
    assert cached_dir(target, build, {"v": 1}) == target
    assert cached_dir(target, build, {"v": 1}) == target
    assert len(calls) == 1
    cached_dir(target, build, {"v": 2})
    assert len(calls) == 2 and (target / "data.txt").read_text() == "2"


def test_a_failed_build_leaves_nothing_to_reuse(tmp_path):
    def broken(folder):
        (folder / "half").write_text("x")
        raise KeyboardInterrupt

    target = tmp_path / "thing"
    with pytest.raises(KeyboardInterrupt):
        cached_dir(target, broken, {"v": 1})
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_a_replaced_folder_is_whole_or_untouched(tmp_path):
    from vqa.files import replaced_dir

    dest = tmp_path / "modules"
    dest.mkdir()
    (dest / "old.py").write_text("stale")
    with replaced_dir(dest) as tmp:
        (tmp / "new.py").write_text("fresh")
    assert sorted(p.name for p in dest.iterdir()) == ["new.py"], (
        "a file from before must not stay behind"
    )
    try:
        with replaced_dir(dest) as tmp:
            (tmp / "half.py").write_text("half")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert sorted(p.name for p in dest.iterdir()) == ["new.py"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["modules"], "no temporary folder is left"
