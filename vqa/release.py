"""Generating the learner's version from the reference: ``solutions/`` → ``exercises/`` and a handout folder.

Every ``# BEGIN SOLUTION`` … ``# END SOLUTION`` region becomes a stub that raises ``NotImplementedError``
naming the exercise and the function, in English and Vietnamese; the TODO text stays in the docstrings.

The lab notebook follows the same rule. ``solutions/*.py`` stay the one source of the code: the
``%%writefile`` cells of ``solutions/lab.ipynb`` are *filled* from them (each file cut at the first line of
its ``%%writefile -a`` cells, see vqa/nbfile.py), never edited by hand, and ``exercises/lab.ipynb`` is that
notebook with every writefile cell holding the stubbed file instead. Everything else in the notebook (the
prose, the pipeline, check and quiz cells) is edited in ``solutions/lab.ipynb``, in Jupyter or any editor;
both notebooks are written without outputs or execution counts, so they diff well. Filling the solution
notebook rather than only comparing it means one edit, in the ``.py`` file, and no second copy to keep
equal by hand; the set-up cell's ``INSTALL_TARGET`` is written from ``vqa.nbfile.INSTALL_TARGET`` the same way.

Usage::

    vqa release                      # solutions/ → exercises/ (the four stubs, __init__.py, lab.ipynb);
                                     # also refreshes solutions/lab.ipynb's writefile cells
    vqa release --handout handout/   # also a folder for learners: the stubs, lab.ipynb and a README
    vqa release --check              # exit 1, naming each stale file, when anything is out of sync
    vqa release --solutions DIR --out DIR

A test (tests/test_vqa/test_kit_release.py) fails when ``exercises/`` or either notebook drifts.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from vqa import nbfile
from vqa.course import EXERCISES, FILES, stub_message

NOTEBOOK = "lab.ipynb"
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

Or work in `lab.ipynb` (Jupyter, Colab): the same exercises in `%%writefile` cells, a check after each one,
the pipeline step by step, and the quiz. Its cells write the four files when they run: work in the notebook or
in the files, not both.
Hoặc làm trong `lab.ipynb` (Jupyter, Colab): cùng các bài tập trong các ô `%%writefile`, ô chấm điểm sau mỗi
bài, pipeline từng bước và bài trắc nghiệm. Khi chạy, các ô đó ghi đè bốn tệp: hãy làm trong notebook hoặc
trong các tệp, đừng làm cả hai.
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
                raise ReleaseError(
                    f"{filename}:{number}: {BEGIN} inside another region (opened at line {inside})"
                )
            inside = number
            indent = line[: len(line) - len(line.lstrip())]
            name = _enclosing_name(lines, number - 1)
            en, vi = stub_message(exercise, name)
            out.append(
                f'{indent}raise NotImplementedError(\n{indent}    "{en}"\n{indent}    "{vi}"\n{indent})\n'
            )
        elif stripped == END:
            if inside is None:
                raise ReleaseError(f"{filename}:{number}: {END} without {BEGIN}")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise ReleaseError(f"{filename}:{inside}: {BEGIN} never closed")
    return "".join(out)


def _solution_files(root: Path) -> dict[str, str]:
    return {FILES[e]: (root / FILES[e]).read_text(encoding="utf-8") for e in EXERCISES}


def _fill(nb, files: dict[str, str], where: Path):
    try:
        return nbfile.fill(nb, files)
    except nbfile.NotebookError as err:
        raise ReleaseError(f"{where}: {err}") from None


def render_solution_notebook(solutions_dir: str | Path) -> str | None:
    """``solutions/lab.ipynb`` as it should be: writefile cells filled from ``solutions/*.py``, the install
    target set, outputs cleared; None when the folder has no notebook."""
    root = Path(solutions_dir)
    path = root / NOTEBOOK
    if not path.is_file():
        return None
    nb = nbfile.reads(path.read_text(encoding="utf-8"))
    missing = [name for name in FILES.values() if name not in nbfile.files_of(nb)]
    if missing:
        raise ReleaseError(f"{path}: no `%%writefile` cell for {', '.join(missing)}")
    nb = nbfile.set_install_target(_fill(nb, _solution_files(root), path))
    return nbfile.writes(nb)


def render_exercises(solutions_dir: str | Path) -> dict[str, str]:
    """{file name: text} of the generated exercise folder (with ``lab.ipynb`` when solutions/ has one)."""
    root = Path(solutions_dir)
    files = {
        "__init__.py": '"""The exercises: the reference with every solution region replaced by a stub."""\n'
    }
    for exercise in EXERCISES:
        path = root / f"{exercise}.py"
        files[path.name] = stub_source(path.read_text(encoding="utf-8"), exercise, str(path))
    solution_nb = render_solution_notebook(root)
    if solution_nb is not None:
        stubs = {name: files[name] for name in FILES.values()}
        files[NOTEBOOK] = nbfile.writes(_fill(nbfile.reads(solution_nb), stubs, root / NOTEBOOK))
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


def sync_solution_notebook(solutions_dir: str | Path) -> Path | None:
    """Rewrite ``solutions/lab.ipynb`` when its writefile cells (or form) differ from ``solutions/*.py``;
    return its path when it was rewritten."""
    text = render_solution_notebook(solutions_dir)
    path = Path(solutions_dir) / NOTEBOOK
    if text is None or path.read_text(encoding="utf-8") == text:
        return None
    path.write_text(text, encoding="utf-8")
    return path


def drift(solutions_dir: str | Path, exercises_dir: str | Path) -> list[str]:
    """Names of exercise files that differ from what the generator writes (empty when in sync)."""
    stale = []
    for name, text in render_exercises(solutions_dir).items():
        path = Path(exercises_dir) / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale


def solution_drift(solutions_dir: str | Path) -> list[str]:
    """``["lab.ipynb"]`` when ``solutions/lab.ipynb`` is not what :func:`sync_solution_notebook` writes."""
    text = render_solution_notebook(solutions_dir)
    path = Path(solutions_dir) / NOTEBOOK
    return [NOTEBOOK] if text is not None and path.read_text(encoding="utf-8") != text else []


def write_handout(solutions_dir: str | Path, out_dir: str | Path) -> Path:
    """A folder to give learners: the four stubs, the lab notebook (when there is one) and a README, no solutions."""
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name, text in render_exercises(solutions_dir).items():
        if name != "__init__.py":
            (out / name).write_text(text, encoding="utf-8")
    (out / "README.md").write_text(HANDOUT_README, encoding="utf-8")
    return out
