"""Finding the submissions in a batch folder (a subfolder, a ``.zip`` or a ``.ipynb`` per student) and hashing each."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

HASH_MAX_BYTES = 64 * 1024 * 1024
SKIP_NAMES = ("__MACOSX", "__pycache__")


@dataclass
class Entry:
    """One submission found in the batch folder."""

    student: str
    path: Path
    kind: str  # "folder" | "zip" | "notebook"


def content_hash(entry: Entry) -> str:
    """SHA-256 of what the student handed in: the zip's bytes, the folder's files and names, or a notebook's
    ``%%writefile`` cells (their text and place: re-running the notebook changes outputs, not this hash;
    see :func:`grader.notebook.extract.notebook_hash`)."""
    if entry.kind == "notebook":
        from grader.notebook.extract import notebook_hash

        return notebook_hash(entry.path)
    digest = hashlib.sha256()
    if entry.kind == "zip":
        with open(entry.path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    total = 0
    for root, dirs, files in os.walk(entry.path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_NAMES)
        for name in sorted(files):
            path = Path(root) / name
            rel = path.relative_to(entry.path).as_posix()
            digest.update(rel.encode() + b"\0")
            if path.is_symlink():
                digest.update(b"link:" + os.readlink(path).encode())
                continue
            try:
                size = path.stat().st_size
                if total + size > HASH_MAX_BYTES:
                    digest.update(f"size:{size}".encode())
                    continue
                total += size
                digest.update(path.read_bytes())
            except OSError as exc:
                digest.update(f"error:{exc.errno}".encode())
    return digest.hexdigest()


def discover(
    batch_dir: str | Path, exclude: Iterable[str | Path] = ()
) -> tuple[list[Entry], list[str]]:
    """The submissions in ``batch_dir`` (sorted by student id) and notes on what was left out.

    ``exclude``: folders that are not submissions (the output folder, when it sits inside ``batch_dir``).
    """
    batch_dir = Path(batch_dir)
    skip = {Path(p).resolve() for p in exclude}
    if not batch_dir.is_dir():
        raise FileNotFoundError(
            f"{batch_dir}: no such folder (expected one subfolder, .zip or .ipynb per student)"
        )
    entries: dict[str, Entry] = {}
    notes: list[str] = []
    for path in sorted(batch_dir.iterdir(), key=lambda p: p.name):
        if path.name.startswith(".") or path.name in SKIP_NAMES or path.resolve() in skip:
            continue
        if path.is_dir():
            entry = Entry(path.name, path, "folder")
        elif path.suffix.lower() == ".zip":
            entry = Entry(path.stem, path, "zip")
        elif path.suffix.lower() == ".ipynb":
            entry = Entry(path.stem, path, "notebook")
        else:
            notes.append(f"{path.name}: ignored (not a folder, a .zip or a .ipynb)")
            continue
        if entry.student in entries:
            notes.append(
                f"{path.name}: ignored: {entries[entry.student].path.name} has the same student id"
            )
            continue
        entries[entry.student] = entry
    return list(entries.values()), notes
