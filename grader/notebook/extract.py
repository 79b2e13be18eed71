"""A lab notebook (``.ipynb``) turned into the four modules the grader reads, without running anything.

The learner's code for each exercise lives in code cells that begin with ``%%writefile dataset.py``
(``-a`` appends; several cells may write one file). :func:`extract` applies them in cell order, as
running the notebook top to bottom in a fresh folder would, and writes ``dataset.py``, ``lora.py``,
``train.py`` and ``predict.py`` into a folder; every other cell (the learner's experiments, outputs,
markdown) is ignored. It returns an :class:`~grader.notebook.found.Extraction`: which cells wrote each
file, a map from each file line back to its cell and line, and the problems found per exercise (no
``%%writefile`` cell for it, or what :mod:`grader.notebook.problems` finds in its module), named by the
notebook, the cell (counted from 1 over all cells, as a reader counts them down the page) and the line in
that cell. Reading the file is :mod:`grader.notebook.reading`'s job (a notebook that cannot be read raises
its :class:`~grader.notebook.reading.NotebookError`); :func:`notebook_hash` is the batch's content hash.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from grader.judge.messages import Msg
from grader.notebook.found import Extraction, Problem, Segment
from grader.notebook.problems import module_problems
from grader.notebook.reading import NotebookError, read_notebook
from vqa.course import EXERCISES, FILES
from vqa.files import replaced_dir
from vqa.writefile import count_lines, parse_writefile


def _module_file(filename: str) -> str | None:
    """The module a ``%%writefile`` target is, by its name (``dataset.py``, ``./dataset.py``,
    ``/content/dataset.py``)."""
    name = filename.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return name if name in FILES.values() else None


def scan(nb, shown: str, notebook: str | os.PathLike = "") -> Extraction:
    """The modules a notebook's ``%%writefile`` cells make, where each line came from, and the problems."""
    extraction = Extraction(notebook=Path(notebook or shown), shown=shown)
    for number, cell in enumerate(nb.cells, 1):
        if cell.get("cell_type") != "code":
            continue
        write = parse_writefile(cell["source"])
        file = write and _module_file(write.filename)
        if write is None or not file:
            continue
        count, cell_id = count_lines(write.body), cell.get("id")
        if write.append and file in extraction.modules:
            start = count_lines(extraction.modules[file]) + 1
            extraction.modules[file] += write.body
            extraction.segments[file].append(
                Segment(start, count, number, write.first_line, cell_id)
            )
        else:  # a plain write replaces the file; an append to no file yet creates it
            extraction.modules[file] = write.body
            extraction.segments[file] = [Segment(1, count, number, write.first_line, cell_id)]
    for exercise in EXERCISES:
        file = FILES[exercise]
        if file not in extraction.modules:
            extraction.problems[exercise] = [
                Problem(
                    exercise,
                    Msg("notebook.missing_cell", notebook=shown, file=file, exercise=exercise),
                )
            ]
            continue
        found = module_problems(extraction, exercise)
        if found:
            extraction.problems[exercise] = found
    return extraction


def write_modules(extraction: Extraction, dest: str | os.PathLike) -> Path:
    """Write the modules into the new folder ``dest`` (replacing what was there: a file whose cell is gone
    must not stay behind) and return it. Written whole in a temporary folder, then moved into place."""
    dest = Path(dest)
    with replaced_dir(dest) as tmp:
        for file, text in extraction.modules.items():
            with open(
                tmp / file, "w", encoding="utf-8", newline=""
            ) as fh:  # IPython's bytes, line breaks as they are
                fh.write(text)
    extraction.folder = dest
    return dest


def extract(
    notebook: str | os.PathLike, dest: str | os.PathLike, *, shown: str | None = None
) -> Extraction:
    """Read ``notebook`` (never running it), write its modules into ``dest`` and say what was found.

    ``shown``: how messages name the notebook (default: its file name). Raises :class:`NotebookError`
    when the notebook cannot be read."""
    notebook = Path(notebook)
    shown = shown or notebook.name
    extraction = scan(read_notebook(notebook, shown), shown, notebook)
    write_modules(extraction, dest)
    return extraction


# --------------------------------------------------------------------------- the batch's content hash


def notebook_hash(path: str | os.PathLike) -> str:
    """SHA-256 of what is graded in a notebook: each module's text and the cells (numbers and lines) it came
    from. Running the notebook again changes outputs and execution counts, not this hash; moving a
    ``%%writefile`` cell changes it (the messages name cells). A notebook that cannot be read hashes by its
    bytes, so a repaired file is graded again. (A change of this code re-grades through the grader's
    fingerprint, which covers ``grader/notebook/``.)"""
    digest = hashlib.sha256(b"notebook\0")
    try:
        extraction = scan(read_notebook(path), Path(path).name, path)
    except NotebookError:
        digest.update(b"unreadable\0" + Path(path).read_bytes())
        return digest.hexdigest()
    for file in sorted(extraction.modules):
        digest.update(file.encode() + b"\0" + extraction.modules[file].encode() + b"\0")
        digest.update(
            json.dumps(
                [[s.start, s.count, s.cell, s.cell_line] for s in extraction.segments[file]]
            ).encode()
        )
    return digest.hexdigest()
