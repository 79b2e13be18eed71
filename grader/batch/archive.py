"""A student's ``.zip``, unpacked safely by the project's one unzip (:mod:`vqa.archive`: nothing outside the
target, bounded size and file count), and the folder in it that holds the submission."""

from __future__ import annotations

from pathlib import Path

from vqa.archive import IGNORED_PARTS, ArchiveError, Limits
from vqa.archive import unpack_zip as unpack_safely

__all__ = ["ArchiveError", "Limits", "submission_root", "unpack_zip"]


DEFAULT_LIMITS = Limits()


def unpack_zip(archive: str | Path, dest: str | Path, limits: Limits = DEFAULT_LIMITS) -> Path:
    """Unpack a student's ``archive`` into the new folder ``dest`` and return the folder holding the submission:
    when every file sits in one top folder (``alice/dataset.py`` ...), that folder. Raises :class:`ArchiveError`
    (naming the archive) for anything unsafe or unreadable; ``dest`` is then left absent."""
    return submission_root(unpack_safely(archive, dest, limits))


def submission_root(folder: str | Path) -> Path:
    """``folder`` itself, or its only subfolder when it holds nothing else (a zipped top folder)."""
    folder = Path(folder)
    while True:
        entries = [
            p
            for p in folder.iterdir()
            if p.name not in IGNORED_PARTS and not p.name.startswith(".")
        ]
        if len(entries) == 1 and entries[0].is_dir() and not any(folder.glob("*.py")):
            folder = entries[0]
            continue
        return folder
