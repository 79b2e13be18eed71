"""What a notebook's ``%%writefile`` cells make, as plain data: the modules, where each of their lines came
from (cell and line), and the problems that cost an exercise its points."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from catalog import DEFAULT_LANG
from grader.judge.messages import Msg
from vqa.course import EXERCISES, FILES


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

    def text(self, lang: str = DEFAULT_LANG) -> str:
        return self.msg.render(lang)


@dataclass
class Extraction:
    """What :func:`extract` found in a notebook and wrote (plain data)."""

    notebook: Path
    shown: str  # how messages name the notebook (``lab.ipynb``)
    folder: Path | None = None  # where the modules were written
    modules: dict[str, str] = field(default_factory=dict)  # file name -> its text
    segments: dict[str, list[Segment]] = field(
        default_factory=dict
    )  # file name -> where its lines came from
    problems: dict[str, list[Problem]] = field(
        default_factory=dict
    )  # exercise -> problems, in line order

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
        # past the end: the nearest cell
        last = segments[-1] if line >= segments[-1].start else segments[0]
        return last.cell, last.cell_line + max(0, min(line - last.start, max(last.count - 1, 0)))
