"""A lab notebook (``.ipynb``) turned into the four modules the grader reads, without running anything.

The learner's code for each exercise lives in code cells that begin with ``%%writefile dataset.py``
(``-a`` appends; several cells may write one file). :func:`extract` applies them in cell order, as
running the notebook top to bottom in a fresh folder would, and writes ``dataset.py``, ``lora.py``,
``train.py`` and ``predict.py`` into a folder; every other cell (the learner's experiments, outputs,
markdown) is ignored. It returns an :class:`Extraction`: which cells wrote each file, a map from each
file line back to its cell and line, and the problems found per exercise (no ``%%writefile`` cell for
it, a syntax error, notebook-only syntax such as ``!pip`` in a module) as messages of hints.toml that
name the notebook, the cell (counted from 1 over all cells, as a reader counts them down the page) and
the line in that cell.

A notebook that cannot be read (not JSON, cut short, not a notebook, an unknown format) raises
:class:`NotebookError`, whose message says where it breaks and what to do.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.judge.messages import Msg
from vqa.writefile import count_lines, parse_writefile, split_lines
from vqa.course import EXERCISES, FILES
from vqa.files import replaced_dir

MAX_NOTEBOOK_BYTES = 100 * 1024 * 1024  # a notebook with image outputs; far above four modules' worth
MAX_PROBLEMS = 3  # problems reported per exercise (one fix at a time; the rest follow)
SUPPORTED_FORMATS = (3, 4)  # nbformat converts 3 to 4; Jupyter and Colab save 4


class NotebookError(ValueError):
    """The notebook cannot be read at all; ``msg`` says where and what to do, in either language."""

    def __init__(self, msg: Msg):
        self.msg = msg
        super().__init__(msg.render("en"))

    def text(self, lang: str = "en") -> str:
        return self.msg.render(lang)


@dataclass(frozen=True)
class Segment:
    """Lines ``start`` .. ``start + count - 1`` of a module came from ``cell``, from its line ``cell_line`` on.

    ``cell`` is the cell's position (from 1, over every cell), not its execution count; ``cell_id`` is its
    nbformat id where the notebook has ids (format 4.5 on), stable when cells move."""

    start: int
    count: int
    cell: int
    cell_line: int
    cell_id: str | None = None


@dataclass(frozen=True)
class Problem:
    """Something in the notebook that costs an exercise its points; ``msg`` names the notebook, cell and line."""

    exercise: str
    msg: Msg
    cell: int | None = None
    line: int | None = None  # the line in that cell

    def text(self, lang: str = "en") -> str:
        return self.msg.render(lang)


@dataclass
class Extraction:
    """What :func:`extract` found in a notebook and wrote (plain data)."""

    notebook: Path
    shown: str  # how messages name the notebook (``lab.ipynb``)
    folder: Path | None = None  # where the modules were written
    modules: dict[str, str] = field(default_factory=dict)  # file name -> its text
    segments: dict[str, list[Segment]] = field(default_factory=dict)  # file name -> where its lines came from
    problems: dict[str, list[Problem]] = field(default_factory=dict)  # exercise -> problems, in line order

    @property
    def written(self) -> list[str]:
        """The module files written, in the course's order."""
        return [FILES[e] for e in EXERCISES if FILES[e] in self.modules]

    def cells(self, file: str) -> list[int]:
        """The cells (numbered from 1) whose ``%%writefile`` made ``file`` what it is, in order."""
        return list(dict.fromkeys(s.cell for s in self.segments.get(file, [])))

    def place(self, file: str, line: int) -> tuple[int, int] | None:
        """(cell, line in that cell) of line ``line`` of ``file``; None when no cell wrote that file."""
        segments = self.segments.get(file)
        if not segments:
            return None
        for segment in segments:
            if segment.start <= line < segment.start + segment.count:
                return segment.cell, segment.cell_line + line - segment.start
        last = segments[-1] if line >= segments[-1].start else segments[0]  # past the end: the nearest cell
        return last.cell, last.cell_line + max(0, min(line - last.start, max(last.count - 1, 0)))


# --------------------------------------------------------------------------- reading the file


def read_notebook(path: str | os.PathLike, shown: str | None = None):
    """The notebook at ``path`` as an nbformat v4 node; :class:`NotebookError` with a clear message otherwise."""
    import nbformat

    path = Path(path)
    shown = shown or path.name
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise NotebookError(Msg("notebook.too_large", notebook=shown, size=f"{math.ceil(size / 2**20 * 10) / 10:.1f}",
                                    limit=f"{MAX_NOTEBOOK_BYTES / 2**20:g}"))
        raw = path.read_bytes()
    except OSError as exc:
        raise NotebookError(Msg("notebook.unreadable", notebook=shown, error=exc.strerror or str(exc))) from None
    if not raw.strip():
        raise NotebookError(Msg("notebook.empty", notebook=shown))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookError(Msg("notebook.not_text", notebook=shown, offset=exc.start)) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(Msg("notebook.bad_json", notebook=shown, line=exc.lineno, column=exc.colno,
                                error=exc.msg)) from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise NotebookError(Msg("notebook.not_notebook", notebook=shown, missing='"nbformat"'))
    version = data["nbformat"]
    if not isinstance(version, int) or isinstance(version, bool) or version not in SUPPORTED_FORMATS:
        raise NotebookError(Msg("notebook.bad_version", notebook=shown, version=json.dumps(version)))
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
                cell.setdefault("metadata", {})  # a tool that writes none: nbformat needs it, the grade does not
        data.setdefault("metadata", {})
        nb = nbformat.versions[version].to_notebook_json(data, minor=data.get("nbformat_minor", 0))
        nb = nbformat.convert(nb, 4)
    except Exception as exc:  # noqa: BLE001 - whatever nbformat trips on, said plainly
        raise NotebookError(Msg("notebook.unreadable", notebook=shown,
                                error=f"{type(exc).__name__}: {exc}"[:300])) from None
    return nb


# --------------------------------------------------------------------------- the modules and their problems


def _module_file(filename: str) -> str | None:
    """The module a ``%%writefile`` target is, by its name (``dataset.py``, ``./dataset.py``, ``/content/dataset.py``)."""
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
        if not file:
            continue
        count, cell_id = count_lines(write.body), cell.get("id")
        if write.append and file in extraction.modules:
            start = count_lines(extraction.modules[file]) + 1
            extraction.modules[file] += write.body
            extraction.segments[file].append(Segment(start, count, number, write.first_line, cell_id))
        else:  # a plain write replaces the file; an append to no file yet creates it
            extraction.modules[file] = write.body
            extraction.segments[file] = [Segment(1, count, number, write.first_line, cell_id)]
    for exercise in EXERCISES:
        file = FILES[exercise]
        if file not in extraction.modules:
            extraction.problems[exercise] = [Problem(exercise, Msg("notebook.missing_cell", notebook=shown, file=file,
                                                                   exercise=exercise))]
            continue
        found = module_problems(extraction, exercise)
        if found:
            extraction.problems[exercise] = found
    return extraction


_NOTEBOOK_ONLY = (("%%", "notebook.what_cell_magic"), ("%", "notebook.what_line_magic"),
                  ("!", "notebook.what_shell"))


def _notebook_only(line: str) -> str | None:
    """The message key naming the notebook-only syntax a source line starts with, or None."""
    stripped = line.strip()
    return next((key for prefix, key in _NOTEBOOK_ONLY if stripped.startswith(prefix) and stripped != prefix), None)


def _where(extraction: Extraction, exercise: str, line: int, key: str, **fields) -> Problem:
    file = FILES[exercise]
    cell, cell_line = extraction.place(file, line) or (None, line)
    return Problem(exercise, Msg(key, notebook=extraction.shown, cell=cell, file=file, line=cell_line, **fields),
                   cell, cell_line)


def _cell_lines_in(text: str, extraction: Extraction, file: str, cell: int | None) -> str:
    """Python's "(detected at line 12)" / "on line 12" counts the module's lines: say the cell's instead."""
    def fix(match: re.Match) -> str:
        place = extraction.place(file, int(match.group(2)))
        if place is None or place[0] != cell:
            return match.group(0)
        return f"{match.group(1)}{place[1]}"

    return re.sub(r"\b(at line |on line )(\d+)", fix, text)


def module_problems(extraction: Extraction, exercise: str) -> list[Problem]:
    """Why the module of ``exercise`` cannot run as a file: notebook-only lines, a syntax error, get_ipython().

    Compiles the module (nothing runs). A line that fails to compile and starts with ``!``, ``%`` or ``%%``
    is notebook syntax: it is noted and blanked out, and compiling goes on, so every such line is named;
    any other syntax error is named and ends the search."""
    file = FILES[exercise]
    lines = split_lines(extraction.modules[file])
    problems: list[Problem] = []
    tree = None
    for _ in range(len(lines) + 1):
        try:
            tree = compile("".join(lines), file, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
            break
        except (SyntaxError, ValueError) as exc:  # ValueError: a null byte, before Python 3.12
            number = getattr(exc, "lineno", None) or _null_line(lines)
            number = min(max(number, 1), max(len(lines), 1))
            text = lines[number - 1] if lines else ""
            kind = _notebook_only(text)
            if kind is None:
                cell = (extraction.place(file, number) or (None,))[0]
                error = _cell_lines_in(getattr(exc, "msg", None) or str(exc), extraction, file, cell)
                problems.append(_where(extraction, exercise, number, "notebook.syntax_error", error=error))
                break
            problems.append(_where(extraction, exercise, number, "notebook.notebook_only", what=Msg(kind),
                                   code=text.strip()[:80]))
            indent = text[: len(text) - len(text.lstrip())]
            lines[number - 1] = indent + "pass" + text[len(text.rstrip("\r\n")):]
    if tree is not None and "get_ipython" not in _bound_names(tree):  # IPython's builtin, absent in a module
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "get_ipython":
                code = lines[node.lineno - 1].strip()[:80] if node.lineno <= len(lines) else "get_ipython()"
                problems.append(_where(extraction, exercise, node.lineno, "notebook.notebook_only",
                                       what=Msg("notebook.what_get_ipython"), code=code))
    problems.sort(key=lambda p: (p.cell or 0, p.line or 0))
    return problems[:MAX_PROBLEMS]


def _bound_names(tree: ast.AST) -> set[str]:
    """Names the module binds itself (imports, definitions, assignments): ``from IPython import get_ipython``
    makes get_ipython() fine in a module."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _null_line(lines: list[str]) -> int:
    return next((i for i, line in enumerate(lines, 1) if "\0" in line), 1)


# --------------------------------------------------------------------------- writing the modules


def write_modules(extraction: Extraction, dest: str | os.PathLike) -> Path:
    """Write the modules into the new folder ``dest`` (replacing what was there: a file whose cell is gone
    must not stay behind) and return it. Written whole in a temporary folder, then moved into place."""
    dest = Path(dest)
    with replaced_dir(dest) as tmp:
        for file, text in extraction.modules.items():
            with open(tmp / file, "w", encoding="utf-8", newline="") as fh:  # IPython's bytes, line breaks as they are
                fh.write(text)
    extraction.folder = dest
    return dest


def extract(notebook: str | os.PathLike, dest: str | os.PathLike, *, shown: str | None = None) -> Extraction:
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
        digest.update(json.dumps([[s.start, s.count, s.cell, s.cell_line] for s in extraction.segments[file]]).encode())
    return digest.hexdigest()
