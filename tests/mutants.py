"""Submissions made from the reference (or the stubs) by small text edits, for the tests.

Known-wrong and hostile submissions are written as edits to ``solutions/`` rather than as copies, so they
follow every change of the reference and fail loudly when an edit no longer applies.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from paths import ROOT as REPO

Edits = dict[str, list[tuple[str, str]]]


def copy_impl(
    src: str, dest: Path, edits: Edits | None = None, files: dict[str, str] | None = None
) -> Path:
    """Copy ``solutions/`` or ``exercises/`` to ``dest``, apply (old, new) edits per file (each must apply
    exactly once), and write ``files`` ({name: text}) as they are."""
    shutil.copytree(REPO / src, dest, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    for name, changes in (edits or {}).items():
        path = dest / name
        text = path.read_text(encoding="utf-8")
        for old, new in changes:
            assert text.count(old) == 1, (
                f"{src}/{name} should hold {old!r} exactly once: update this edit"
            )
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    for name, text in (files or {}).items():
        (dest / name).write_text(text, encoding="utf-8")
    return dest
