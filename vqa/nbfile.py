"""The lab notebook as a file: its ``%%writefile`` cells, the set-up cell's install target, a stable form on disk.

A learner's code lives in cells that begin with ``%%writefile dataset.py`` (IPython writes the rest of the
cell to that file) or ``%%writefile -a dataset.py`` (appends). IPython writes a cell's body as it is, with a
newline added when it has none and whitespace-only lines emptied, so the bodies of one file's cells, in order,
are that file (a file with whitespace-only lines cannot be held exactly: :func:`fill` refuses it).

The cells split a file at *anchors*: the first non-blank line of each appending cell (``def load_splits(…``).
:func:`split` cuts a new version of the file at the same anchors, with the blank lines before an anchor
going to the cell it starts, so that the notebook's own division survives edits of the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import nbformat

from vqa.writefile import parse_writefile

INSTALL_TARGET = "mllm-vqa-lab"
"""What the notebook's set-up cell installs with ``%pip`` where ``import vqa`` fails (Colab): a package name,
a ``git+https://…`` URL or a wheel's URL. Instructors who host the course elsewhere change it here and run
``vqa release``, which writes it into both notebooks' set-up cell."""

_INSTALL_LINE = re.compile(r'^(?P<lead>INSTALL_TARGET = )"[^"\n]*"', re.MULTILINE)
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


class NotebookError(ValueError):
    """The notebook's ``%%writefile`` cells do not fit the files they should hold; the message says which cell."""


def writefile_target(cell) -> tuple[str, bool] | None:
    """``(file name, append)`` of a ``%%writefile`` code cell, else None (read as IPython runs it:
    :func:`vqa.writefile.parse_writefile`, as the grader reads a learner's notebook)."""
    if cell.get("cell_type") != "code":
        return None
    written = parse_writefile(cell.source)
    return (written.filename, written.append) if written else None


def body(cell) -> str:
    """What IPython writes for a ``%%writefile`` cell (a newline added when it has none, whitespace-only
    lines emptied by IPython's dedent)."""
    written = parse_writefile(cell.source)
    return written.body if written else ""


def files_of(nb) -> dict[str, str]:
    """{file name: text} as running every ``%%writefile`` cell in order would leave them."""
    files: dict[str, str] = {}
    for cell in nb.cells:
        target = writefile_target(cell)
        if target:
            name, append = target
            files[name] = (files.get(name, "") if append else "") + body(cell)
    return files


def _anchor(chunk: str) -> str:
    return next((line for line in chunk.splitlines() if line.strip()), "")


def split(text: str, anchors: Iterable[str], name: str = "<file>") -> list[str]:
    """``text`` cut before each anchor line (blank lines above an anchor go with it); len(anchors) + 1 parts."""
    lines = text.splitlines(keepends=True)
    cuts, start = [], 0
    for anchor in anchors:
        if not anchor.strip():
            raise NotebookError(
                f"{name}: a `%%writefile -a {name}` cell is empty; give it the line it begins with"
            )
        index = next(
            (i for i in range(max(start, 1), len(lines)) if lines[i].rstrip("\n") == anchor), None
        )
        if index is None:
            raise NotebookError(
                f"{name}: no line {anchor!r} after line {start + 1} to begin a `%%writefile -a "
                f"{name}` cell with; make that cell begin with a line the file has"
            )
        start = index + 1
        while (
            index > 1 and not lines[index - 1].strip()
        ):  # the blank lines above an anchor open its cell
            index -= 1
        cuts.append(index)
    bounds = [0, *cuts, len(lines)]
    return ["".join(lines[a:b]) for a, b in zip(bounds, bounds[1:])]


def fill(nb, files: dict[str, str]):
    """A copy of ``nb`` whose ``%%writefile`` cells hold ``files`` (cut at the cells' anchors)."""
    nb = nbformat.from_dict(nb)
    groups: dict[str, list] = {}
    for cell in nb.cells:
        target = writefile_target(cell)
        if target and target[0] in files:
            name, append = target
            if append != bool(groups.get(name)):
                raise NotebookError(
                    f"the first cell for {name} must be `%%writefile {name}`, the others `%%writefile -a {name}`"
                )
            groups.setdefault(name, []).append(cell)
    for name, cells in groups.items():
        parts = split(files[name], [_anchor(body(cell)) for cell in cells[1:]], name)
        for cell, part in zip(cells, parts):
            cell.source = cell.source.split("\n", 1)[0] + "\n" + part
    written = files_of(nb)
    for name in groups:
        if written[name] != files[name]:
            line = next(
                (
                    i
                    for i, (a, b) in enumerate(
                        zip(written[name].splitlines(), files[name].splitlines()), 1
                    )
                    if a != b
                ),
                None,
            )
            if line is None:
                raise NotebookError(
                    f"{name}: does not end with a newline, which %%writefile always writes: add one"
                )
            raise NotebookError(
                f"{name}:{line}: a line of only spaces, which %%writefile would write empty; remove the spaces"
            )
    return nb


def set_install_target(nb, target: str = INSTALL_TARGET):
    """A copy of ``nb`` whose ``INSTALL_TARGET = "…"`` lines say ``target``."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = _INSTALL_LINE.sub(lambda m: f'{m.group("lead")}"{target}"', cell.source)
    return nb


def clean(nb):
    """A copy of ``nb`` in the form kept in git: nbformat 4, no outputs, no execution counts, a Python 3 kernel,
    no cell ids (so regenerated files diff by content only)."""
    nb = nbformat.from_dict(nb)
    nb.nbformat, nb.nbformat_minor = 4, 4
    nb.metadata = nbformat.from_dict(
        {
            "kernelspec": dict(KERNELSPEC),
            "language_info": {"name": "python"},
            **{k: v for k, v in nb.metadata.items() if k in ("colab", "title")},
        }
    )
    for cell in nb.cells:
        cell.pop("id", None)
        cell.metadata = nbformat.from_dict({k: v for k, v in cell.metadata.items() if k == "tags"})
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def reads(text: str):
    """Parse a notebook (any nbformat 4 minor version) without validating it against the schema."""
    return nbformat.reads(text, as_version=4)


def writes(nb) -> str:
    """The notebook as the text kept in git (sorted keys, one-space indent, a final newline)."""
    text = nbformat.writes(clean(nb))
    return text if text.endswith("\n") else text + "\n"
