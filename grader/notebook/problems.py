"""Why a module written by ``%%writefile`` cells cannot run as a file: notebook-only lines (``!pip``, ``%time``,
``get_ipython()``) and syntax errors, each named by its notebook cell and line. Compiles only; nothing runs."""

from __future__ import annotations

import ast
import re

from grader.judge.messages import Msg
from grader.notebook.found import Extraction, Problem
from vqa.course import FILES
from vqa.writefile import split_lines

MAX_PROBLEMS = 3  # problems reported per exercise (one fix at a time; the rest follow)

_NOTEBOOK_ONLY = (
    ("%%", "notebook.what_cell_magic"),
    ("%", "notebook.what_line_magic"),
    ("!", "notebook.what_shell"),
)


def _notebook_only(line: str) -> str | None:
    """The message key naming the notebook-only syntax a source line starts with, or None."""
    stripped = line.strip()
    return next(
        (
            key
            for prefix, key in _NOTEBOOK_ONLY
            if stripped.startswith(prefix) and stripped != prefix
        ),
        None,
    )


def _where(extraction: Extraction, exercise: str, line: int, key: str, **fields) -> Problem:
    file = FILES[exercise]
    cell, cell_line = extraction.place(file, line) or (None, line)
    return Problem(
        exercise,
        Msg(key, notebook=extraction.shown, cell=cell, file=file, line=cell_line, **fields),
        cell,
        cell_line,
    )


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
                error = _cell_lines_in(
                    getattr(exc, "msg", None) or str(exc), extraction, file, cell
                )
                problems.append(
                    _where(extraction, exercise, number, "notebook.syntax_error", error=error)
                )
                break
            problems.append(
                _where(
                    extraction,
                    exercise,
                    number,
                    "notebook.notebook_only",
                    what=Msg(kind),
                    code=text.strip()[:80],
                )
            )
            indent = text[: len(text) - len(text.lstrip())]
            lines[number - 1] = indent + "pass" + text[len(text.rstrip("\r\n")) :]
    if tree is not None and "get_ipython" not in _bound_names(
        tree
    ):  # IPython's builtin, absent in a module
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "get_ipython"
            ):
                code = (
                    lines[node.lineno - 1].strip()[:80]
                    if node.lineno <= len(lines)
                    else "get_ipython()"
                )
                problems.append(
                    _where(
                        extraction,
                        exercise,
                        node.lineno,
                        "notebook.notebook_only",
                        what=Msg("notebook.what_get_ipython"),
                        code=code,
                    )
                )
    problems.sort(key=lambda p: (p.cell or 0, p.line or 0))
    return problems[:MAX_PROBLEMS]


def _bound_names(tree: ast.AST) -> set[str]:
    """Names the module binds itself (imports, definitions, assignments): ``from IPython import get_ipython``
    makes get_ipython() fine in a module."""
    names: set[str] = set()
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
