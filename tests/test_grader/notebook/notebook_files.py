"""Small notebooks for the notebook tests, built with nbformat: the lab's code in ``%%writefile`` cells,
with markdown and experiment cells around them as a learner's notebook has."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from paths import ROOT as REPO

MODULES = ("dataset.py", "lora.py", "train.py", "predict.py")


def module_text(impl: str, file: str) -> str:
    """The text of ``solutions/<file>`` or ``exercises/<file>``."""
    return (REPO / impl / file).read_text(encoding="utf-8")


def writefile(file: str, body: str, *, append: bool = False):
    return new_code_cell(f"%%writefile {'-a ' if append else ''}{file}\n{body}")


def lab(
    impl: str = "solutions", *, skip: tuple[str, ...] = (), replace: dict[str, str] | None = None
) -> list:
    """The lab's cells: a title, a set-up cell, then per module a markdown cell, its %%writefile cell and an
    experiment cell. ``replace``: {file: body} instead of the implementation's text; ``skip``: no cell."""
    cells = [
        new_markdown_cell("# Lab: BLIP + LoRA"),
        new_code_cell("!pip install -q peft\nimport torch"),
    ]
    for file in MODULES:
        cells.append(new_markdown_cell(f"## {file}"))
        if file not in skip:
            cells.append(writefile(file, (replace or {}).get(file, module_text(impl, file))))
        cells.append(new_code_cell(f"# trying things out\nprint({file.split('.')[0]!r})"))
    return cells


def save(path: Path, cells: list) -> Path:
    nb = new_notebook()
    nb.cells = cells
    nbformat.write(nb, str(path))
    return path


def cell_number(path: Path, starts: str) -> int:
    """The number (from 1) of the first cell whose source starts with ``starts``."""
    nb = nbformat.read(str(path), as_version=4)
    return next(i for i, c in enumerate(nb.cells, 1) if c.source.startswith(starts))
