"""Safe unpacking of a ``.zip``: nothing outside the target, bounded size and file count.

The one unzip of the project: the batch unpacks students' uploads with it (grader/batch/archive.py) and the
notebook the lab's downloaded data (vqa/download.py). An LMS download holds whatever learners uploaded and a
download whatever the server sent, so an archive is treated as hostile: member
names with ``..``, absolute paths or drive letters, links and special files are refused; the
declared sizes are checked before anything is written and the real sizes while writing (a lying
header cannot inflate past the limit); the archive is unpacked into a temporary folder that is
moved into place only when complete.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from vqa.files import replaced_dir

IGNORED_PARTS = ("__MACOSX", ".DS_Store", "__pycache__", ".git")
CHUNK = 1 << 16


class ArchiveError(ValueError):
    """The archive cannot be unpacked safely; the message names the archive and the reason."""


@dataclass(frozen=True)
class Limits:
    """Bounds on one unpacked archive (the defaults fit a student's few source files with room to spare)."""

    max_files: int = 200
    max_total_bytes: int = 20 * 1024 * 1024
    max_file_bytes: int = 5 * 1024 * 1024
    max_ratio: float = 200.0  # uncompressed / compressed size of one member, above it: a bomb


def _safe_member_path(name: str, archive: Path) -> PurePosixPath | None:
    """The relative path a member may be written to, None for ignorable entries; raises if unsafe."""
    clean = name.replace("\\", "/")
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":"):
        raise ArchiveError(f"{archive.name}: refused: absolute path {name!r} in the archive")
    path = PurePosixPath(clean)
    if any(part == ".." for part in path.parts):
        raise ArchiveError(
            f"{archive.name}: refused: path {name!r} points outside the folder ('..')"
        )
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts or any(p in IGNORED_PARTS or p.startswith("._") for p in parts):
        return None
    return PurePosixPath(*parts)


def _check_kind(info: zipfile.ZipInfo, archive: Path) -> None:
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        raise ArchiveError(f"{archive.name}: refused: {info.filename!r} is a link or special file")
    if info.flag_bits & 0x1:
        raise ArchiveError(
            f"{archive.name}: refused: {info.filename!r} is encrypted (password-protected zip)"
        )


def _plan(
    zf: zipfile.ZipFile, archive: Path, limits: Limits
) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    members: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    total = 0
    for info in zf.infolist():
        rel = _safe_member_path(info.filename, archive)
        _check_kind(info, archive)
        if rel is None or info.is_dir():
            continue
        if info.file_size > limits.max_file_bytes:
            raise ArchiveError(
                f"{archive.name}: refused: {info.filename!r} unpacks to {info.file_size:,} bytes "
                f"(limit {limits.max_file_bytes:,})"
            )
        if (
            info.compress_size
            and info.file_size / info.compress_size > limits.max_ratio
            and info.file_size > CHUNK
        ):
            ratio = info.file_size // max(info.compress_size, 1)
            raise ArchiveError(
                f"{archive.name}: refused: {info.filename!r} is compressed {ratio}:1 (a zip bomb?)"
            )
        total += info.file_size
        members.append((info, rel))
        if len(members) > limits.max_files:
            raise ArchiveError(f"{archive.name}: refused: more than {limits.max_files} files")
        if total > limits.max_total_bytes:
            raise ArchiveError(
                f"{archive.name}: refused: unpacks to more than {limits.max_total_bytes:,} bytes"
            )
    return members


def _copy_bounded(src, dst, allowed: int, archive: Path, name: str) -> int:
    written = 0
    while True:
        chunk = src.read(CHUNK)
        if not chunk:
            return written
        written += len(chunk)
        if written > allowed:
            raise ArchiveError(
                f"{archive.name}: refused: {name!r} is larger than its header says (a zip bomb?)"
            )
        dst.write(chunk)


def unpack_zip(archive: str | Path, dest: str | Path, limits: Limits = Limits()) -> Path:
    """Unpack ``archive`` into the new folder ``dest`` (replacing an old one whole) and return ``dest``.

    Raises :class:`ArchiveError` (naming the archive) for anything unsafe or unreadable; ``dest`` is
    then left as it was.
    """
    archive, dest = Path(archive), Path(dest)
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise ArchiveError(f"{archive.name}: not a zip archive (or a damaged one)") from None
    except OSError as exc:
        raise ArchiveError(f"{archive.name}: cannot read ({exc.strerror or exc})") from None
    with replaced_dir(dest) as tmp, zf:
        members = _plan(zf, archive, limits)
        room = limits.max_total_bytes
        for info, rel in members:
            target = tmp.joinpath(*rel.parts)
            if not target.resolve().is_relative_to(tmp.resolve()):
                raise ArchiveError(
                    f"{archive.name}: refused: {info.filename!r} points outside the folder"
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(target, "xb") as dst:
                    room -= _copy_bounded(
                        src, dst, min(info.file_size, room), archive, info.filename
                    )
            except FileExistsError:
                raise ArchiveError(
                    f"{archive.name}: refused: {info.filename!r} appears twice"
                ) from None
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                raise ArchiveError(
                    f"{archive.name}: damaged member {info.filename!r}: {exc}"
                ) from None
    return dest
