"""Reading a lab notebook file (``.ipynb``): an nbformat v4 node, or one :class:`NotebookError` that says
where the file breaks and what to do. Nothing in it runs."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from catalog import DEFAULT_LANG
from grader.judge.messages import Msg

# a notebook with image outputs; far above four modules' worth
MAX_NOTEBOOK_BYTES = 100 * 1024 * 1024
SUPPORTED_FORMATS = (3, 4)  # nbformat converts 3 to 4; Jupyter and Colab save 4


class NotebookError(ValueError):
    """The notebook cannot be read at all; ``msg`` says where and what to do, in either language."""

    def __init__(self, msg: Msg):
        self.msg = msg
        super().__init__(msg.render(DEFAULT_LANG))

    def text(self, lang: str = DEFAULT_LANG) -> str:
        return self.msg.render(lang)


def read_notebook(path: str | os.PathLike, shown: str | None = None):
    """The notebook at ``path`` as an nbformat v4 node; :class:`NotebookError` with a clear message otherwise."""
    import nbformat

    path = Path(path)
    shown = shown or path.name
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise NotebookError(
                Msg(
                    "notebook.too_large",
                    notebook=shown,
                    size=f"{math.ceil(size / 2**20 * 10) / 10:.1f}",
                    limit=f"{MAX_NOTEBOOK_BYTES / 2**20:g}",
                )
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise NotebookError(
            Msg("notebook.unreadable", notebook=shown, error=exc.strerror or str(exc))
        ) from None
    if not raw.strip():
        raise NotebookError(Msg("notebook.empty", notebook=shown))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookError(Msg("notebook.not_text", notebook=shown, offset=exc.start)) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            Msg(
                "notebook.bad_json",
                notebook=shown,
                line=exc.lineno,
                column=exc.colno,
                error=exc.msg,
            )
        ) from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise NotebookError(Msg("notebook.not_notebook", notebook=shown, missing='"nbformat"'))
    version = data["nbformat"]
    if (
        not isinstance(version, int)
        or isinstance(version, bool)
        or version not in SUPPORTED_FORMATS
    ):
        raise NotebookError(
            Msg("notebook.bad_version", notebook=shown, version=json.dumps(version))
        )
    holder = "cells" if version == 4 else "worksheets"
    if not isinstance(data.get(holder), list):
        raise NotebookError(Msg("notebook.not_notebook", notebook=shown, missing=f'"{holder}"'))
    try:
        if version == 4:
            for number, cell in enumerate(data["cells"], 1):
                if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
                    raise ValueError(f"cell {number} has no cell_type")
                source = cell.get("source", "")
                if isinstance(source, list) and all(isinstance(part, str) for part in source):
                    source = "".join(source)
                if not isinstance(source, str):
                    raise ValueError(f"cell {number} has no text source")
                cell["source"] = source
                cell.setdefault(
                    "metadata", {}
                )  # a tool that writes none: nbformat needs it, the grade does not
        data.setdefault("metadata", {})
        nb = nbformat.versions[version].to_notebook_json(data, minor=data.get("nbformat_minor", 0))
        nb = nbformat.convert(nb, 4)
    except Exception as exc:  # noqa: BLE001 - whatever nbformat trips on, said plainly
        raise NotebookError(
            Msg("notebook.unreadable", notebook=shown, error=f"{type(exc).__name__}: {exc}"[:300])
        ) from None
    return nb
