"""How IPython reads a ``%%writefile`` cell: the file it writes, whether it appends, and the exact text.

Running a cell, IPython adds a newline when the cell has none, drops the blank lines above the first
line, dedents the cell (``textwrap.dedent``, which also empties whitespace-only lines), takes a first
line starting with ``%%`` as a cell magic and hands everything after it to the magic; ``%%writefile``
(alias ``%%file``) writes that text as it is (``-a``/``--append`` appends). This module does the same
on a cell's source, so a module written here is the file running the notebook writes, and it knows
which line of the cell each line of that text came from. Pure functions on strings: nothing runs.
The grader reads learners' notebooks with it (grader/notebook/extract.py) and ``vqa release`` the lab's
(vqa/nbfile.py), so both agree on what a cell writes.
"""

from __future__ import annotations

import re
import shlex
import textwrap
from dataclasses import dataclass

WRITEFILE_MAGICS = ("writefile", "file")  # %%file is IPython's alias of %%writefile
_QUOTED = re.compile(
    r"^(\'.*\')|(\".*\")$"
)  # %%writefile strips one pair of quotes around the name
_LINE_BREAK = re.compile(
    r"\r\n|\r|\n"
)  # what Python (and a notebook's editor) counts as a new line


@dataclass(frozen=True)
class Writefile:
    """What one ``%%writefile`` cell writes."""

    filename: str  # as given to the magic, without quotes
    append: bool
    body: str  # the text written, byte for byte
    first_line: int  # the cell's line (1-based) that holds the body's first line


def count_lines(text: str) -> int:
    """Lines in ``text`` as Python numbers them (``\\n``, ``\\r\\n`` or ``\\r`` end a line)."""
    breaks = len(_LINE_BREAK.findall(text))
    return breaks + (1 if text and not _LINE_BREAK.search(text[-1:]) else 0)


def split_lines(text: str) -> list[str]:
    """``text`` cut into lines as Python numbers them, each with its line break."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)


def _arguments(line: str) -> tuple[str, bool] | None:
    """(filename, append) from the magic's line as IPython's argument parser reads it; None when it refuses."""
    try:
        lexer = shlex.shlex(line, posix=False)
        lexer.whitespace_split = True
        lexer.commenters = ""
        tokens = list(lexer)
    except ValueError:  # an unclosed quote
        tokens = line.split()
    append, names = False, []
    for token in tokens:
        if token in ("-a", "--append"):
            append = True
        elif token.startswith("-") and token != "-":
            return None  # IPython stops with a usage error and writes nothing
        else:
            names.append(token)
    if len(names) != 1:
        return None
    name = names[0]
    if _QUOTED.match(name):
        name = name[1:-1]
    return name, append


def parse_writefile(source: str) -> Writefile | None:
    """The file a cell writes when run, or None when the cell is not a ``%%writefile`` cell IPython would run."""
    cell = source if source.endswith("\n") else source + "\n"
    lines = cell.splitlines(keepends=True)
    skipped = next((i for i, line in enumerate(lines) if line and not line.isspace()), None)
    if skipped is None:
        return None
    lines = textwrap.dedent("".join(lines[skipped:])).splitlines(keepends=True)
    first = lines[0]
    if not first.startswith("%%") or re.match(r"%%\w+\?", first):
        return None
    magic, _, line = first[2:].rstrip().partition(" ")
    if magic not in WRITEFILE_MAGICS:
        return None
    arguments = _arguments(line)
    if arguments is None:
        return None
    filename, append = arguments
    # the blank lines IPython dropped and the magic's own line come before the body
    before = count_lines("".join(cell.splitlines(keepends=True)[:skipped])) + 1
    return Writefile(
        filename=filename, append=append, body="".join(lines[1:]), first_line=before + 1
    )
