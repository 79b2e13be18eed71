"""Generating the learner's version from the reference: ``solutions/`` → ``exercises/`` and a handout folder.

Every ``# BEGIN SOLUTION`` … ``# END SOLUTION`` region becomes a stub that raises ``NotImplementedError``
naming the exercise and the function, in English and Vietnamese; the TODO text stays in the docstrings.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from vqa.course import EXERCISES, stub_message

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
_DEF = re.compile(r"^(\s*)(?:def|class)\s+(\w+)")

HANDOUT_README = """\
# MLLM VQA lab: your exercises / bài tập của bạn

Fill in the four files (dataset.py, lora.py, train.py, predict.py): every function that raises
`NotImplementedError` is yours to write; its docstring says what to do (TODO), in English and Vietnamese.

Hãy hoàn thành bốn tệp: mọi hàm đang `raise NotImplementedError` là phần của bạn; docstring của hàm ghi rõ
cần làm gì (TODO), bằng tiếng Anh và tiếng Việt.

    pip install mllm-vqa-lab          # once / một lần
    grade .                           # grade this folder in seconds / chấm thư mục này trong vài giây
    grade . --exercise dataset -v     # one exercise, every detail / một bài, đầy đủ chi tiết
    grade . --watch                   # re-grade on every save / tự chấm lại mỗi khi lưu
    vqa train --impl .                # run the whole pipeline with your code / chạy cả pipeline bằng code của bạn
"""


class ReleaseError(ValueError):
    """A solution file has unbalanced or misplaced solution markers."""


def _enclosing_name(lines: list[str], index: int) -> str:
    """``Class.method`` or ``function`` of the definition that holds line ``index``."""
    names: list[str] = []
    indent = None
    for line in reversed(lines[:index]):
        match = _DEF.match(line)
        if match and (indent is None or len(match.group(1)) < indent):
            names.append(match.group(2))
            indent = len(match.group(1))
            if indent == 0:
                break
    return ".".join(reversed(names)) or "this part"


def stub_source(source: str, exercise: str, filename: str = "<source>") -> str:
    """The learner's version of one solution file."""
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    inside = None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside is not None:
                raise ReleaseError(f"{filename}:{number}: {BEGIN} inside another region (opened at line {inside})")
            inside = number
            indent = line[: len(line) - len(line.lstrip())]
            name = _enclosing_name(lines, number - 1)
            en, vi = stub_message(exercise, name)
            out.append(f'{indent}raise NotImplementedError(\n{indent}    "{en}"\n{indent}    "{vi}"\n{indent})\n')
        elif stripped == END:
            if inside is None:
                raise ReleaseError(f"{filename}:{number}: {END} without {BEGIN}")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise ReleaseError(f"{filename}:{inside}: {BEGIN} never closed")
    return "".join(out)


def render_exercises(solutions_dir: str | Path) -> dict[str, str]:
    """{file name: text} of the generated exercise folder."""
    root = Path(solutions_dir)
    files = {"__init__.py": '"""The exercises: the reference with every solution region replaced by a stub."""\n'}
    for exercise in EXERCISES:
        path = root / f"{exercise}.py"
        files[path.name] = stub_source(path.read_text(encoding="utf-8"), exercise, str(path))
    return files


def write_exercises(solutions_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the generated exercises to ``out_dir``; return the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_exercises(solutions_dir).items():
        target = out / name
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def drift(solutions_dir: str | Path, exercises_dir: str | Path) -> list[str]:
    """Names of exercise files that differ from what the generator writes (empty when in sync)."""
    stale = []
    for name, text in render_exercises(solutions_dir).items():
        path = Path(exercises_dir) / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale


def write_handout(solutions_dir: str | Path, out_dir: str | Path) -> Path:
    """A folder to give learners: the four stubs and a README, no solutions."""
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name, text in render_exercises(solutions_dir).items():
        if name != "__init__.py":
            (out / name).write_text(text, encoding="utf-8")
    (out / "README.md").write_text(HANDOUT_README, encoding="utf-8")
    return out
