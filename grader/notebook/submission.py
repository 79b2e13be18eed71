"""Grading a notebook where a folder is graded: which paths are notebooks, and one grading of one.

``grade lab.ipynb`` and the batch both come here: the notebook's modules are written into a folder,
that folder is graded by the judge like any other, and :func:`grader.notebook.annotate.annotate` tells
the result in the notebook's cells and lines.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from grader.judge.results import GradeResult
from grader.notebook.annotate import annotate
from grader.notebook.extract import extract
from vqa.course import FILES

SUFFIX = ".ipynb"


class _Grades(Protocol):
    def grade(self, path, exercises=None) -> GradeResult: ...


def is_notebook_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a notebook file (by its suffix; it may not exist)."""
    return Path(path).suffix.lower() == SUFFIX


def notebook_in(folder: str | os.PathLike) -> Path | None:
    """The one notebook of a folder that holds none of the four modules (a learner who handed in the lab's
    notebook alone); None when the folder has a module, or no notebook, or several."""
    folder = Path(folder)
    if any((folder / name).is_file() for name in FILES.values()):
        return None
    found = [
        p
        for p in folder.glob("*")
        if p.is_file() and is_notebook_path(p) and not p.name.startswith(".")
    ]
    return found[0] if len(found) == 1 else None


def notebook_of(path: str | os.PathLike) -> Path | None:
    """The notebook ``path`` stands for: the file itself, or a folder's only notebook (see :func:`notebook_in`)."""
    path = Path(path)
    if path.is_file() and is_notebook_path(path):
        return path
    if path.is_dir():
        return notebook_in(path)
    return None


def grade_notebook(
    grader: _Grades, notebook: str | os.PathLike, exercises=None, *, shown: str | None = None
) -> GradeResult:
    """Grade ``notebook`` with ``grader`` (a :class:`grader.judge.grade.Grader`): its modules are written to
    a temporary folder, graded, and the result is told in the notebook's cells and lines. Raises
    :class:`grader.notebook.reading.NotebookError` when the notebook cannot be read."""
    from grader.judge.grade import display_path  # the grader's own way of naming a learner's file

    notebook = Path(notebook)
    work = Path(tempfile.mkdtemp(prefix="grader-notebook-"))
    try:
        extraction = extract(
            notebook.resolve(), work / "submission", shown=shown or display_path(notebook)
        )
        result = grader.grade(extraction.folder, exercises)
        return annotate(result, extraction)
    finally:
        shutil.rmtree(work, ignore_errors=True)
