"""A student's zip unpacked for grading: the folder that holds the submission (the unzip itself:
tests/test_vqa/test_kit_archive.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from grader.batch.archive import ArchiveError, unpack_zip

FILES = {"dataset.py": "x = 1\n", "lora.py": "y = 2\n", "train.py": "", "predict.py": ""}


def make_zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_a_zip_with_one_top_folder_gives_that_folder(tmp_path):
    archive = make_zip(
        tmp_path / "an.zip", {f"an-lab/{k}": v for k, v in FILES.items()} | {"__MACOSX/._x": "junk"}
    )
    root = unpack_zip(archive, tmp_path / "out" / "an")
    assert root == tmp_path / "out" / "an" / "an-lab"
    assert sorted(p.name for p in root.iterdir()) == sorted(FILES)
    assert not (tmp_path / "out" / "an" / "__MACOSX").exists()


def test_a_flat_zip_gives_the_target(tmp_path):
    root = unpack_zip(make_zip(tmp_path / "b.zip", FILES), tmp_path / "out" / "b")
    assert root == tmp_path / "out" / "b" and (root / "dataset.py").read_text() == "x = 1\n"


def test_an_unsafe_zip_is_refused_with_its_name(tmp_path):
    with pytest.raises(ArchiveError, match="evil.zip: refused"):
        unpack_zip(make_zip(tmp_path / "evil.zip", {"../evil.py": "x"}), tmp_path / "out")
    assert not (tmp_path / "out").exists()
