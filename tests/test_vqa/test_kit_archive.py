"""The one safe unzip (students' uploads, the lab's data): nothing lands outside the target, limits hold, the
reason is named."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from vqa.archive import ArchiveError, Limits, unpack_zip


def make_zip(
    path: Path, members: dict[str, bytes | str], *, compression=zipfile.ZIP_DEFLATED
) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "name", ["../evil.py", "a/../../evil.py", "/etc/evil.py", "C:/evil.py", "..\\evil.py"]
)
def test_paths_outside_the_target_are_refused_and_nothing_is_written(tmp_path, name):
    archive = make_zip(tmp_path / "evil.zip", {"dataset.py": "ok", name: "pwned"})
    target = tmp_path / "deep" / "out" / "evil"
    with pytest.raises(ArchiveError, match="evil.zip: refused"):
        unpack_zip(archive, target)
    assert not target.exists()
    assert not list(tmp_path.rglob("evil.py"))
    assert not [p for p in (tmp_path / "deep" / "out").iterdir()], (
        "a temporary folder was left behind"
    )


def test_a_symlink_member_is_refused(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("dataset.py")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ArchiveError, match="link or special file"):
        unpack_zip(archive, tmp_path / "out")


def test_a_zip_bomb_is_refused_before_it_is_written(tmp_path):
    archive = make_zip(tmp_path / "bomb.zip", {"dataset.py": b"\0" * (50 * 1024 * 1024)})
    assert archive.stat().st_size < 200 * 1024
    with pytest.raises(ArchiveError, match="bomb.zip: refused"):
        unpack_zip(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_size_and_file_count_limits(tmp_path):
    big = make_zip(
        tmp_path / "big.zip",
        {"a.py": "x" * 5000, "b.py": "y" * 5000},
        compression=zipfile.ZIP_STORED,
    )
    with pytest.raises(ArchiveError, match="more than 8,000 bytes"):
        unpack_zip(big, tmp_path / "o1", Limits(max_total_bytes=8000))
    with pytest.raises(ArchiveError, match="unpacks to 5,000 bytes"):
        unpack_zip(big, tmp_path / "o2", Limits(max_file_bytes=4000))
    many = make_zip(tmp_path / "many.zip", {f"f{i}.py": "" for i in range(30)})
    with pytest.raises(ArchiveError, match="more than 20 files"):
        unpack_zip(many, tmp_path / "o3", Limits(max_files=20))


def test_a_file_that_is_not_a_zip_is_named(tmp_path):
    fake = tmp_path / "homework.zip"
    fake.write_text("print('I am not a zip')")
    with pytest.raises(ArchiveError, match="homework.zip: not a zip archive"):
        unpack_zip(fake, tmp_path / "out")


def test_a_header_that_lies_about_the_size_is_caught(tmp_path):
    archive = make_zip(
        tmp_path / "liar.zip", {"dataset.py": "a" * 4000}, compression=zipfile.ZIP_STORED
    )
    data = bytearray(archive.read_bytes())
    # shrink the declared size in the central directory (and the local header) to 10 bytes
    for sig, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        at = data.find(sig)
        data[at + offset : at + offset + 4] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(ArchiveError):
        unpack_zip(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unpacking_again_replaces_the_old_copy(tmp_path):
    target = tmp_path / "out"
    unpack_zip(make_zip(tmp_path / "v1.zip", {"dataset.py": "v1", "old.py": ""}), target)
    unpack_zip(make_zip(tmp_path / "v2.zip", {"dataset.py": "v2"}), target)
    assert (target / "dataset.py").read_text() == "v2" and not (target / "old.py").exists()


def test_macos_extras_are_left_out(tmp_path):
    archive = make_zip(
        tmp_path / "data.zip",
        {"d/train.jsonl": "{}", "__MACOSX/d/._train.jsonl": "junk", "d/.DS_Store": "junk"},
    )
    target = unpack_zip(archive, tmp_path / "out")
    assert [p.relative_to(target).as_posix() for p in sorted(target.rglob("*"))] == [
        "d",
        "d/train.jsonl",
    ]
