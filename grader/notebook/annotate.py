"""A grade of a notebook's modules, told in the notebook's terms.

The judge grades the folder :func:`grader.notebook.extract.extract` wrote, exactly as any folder. This
layer then (1) rewrites the places messages name, ``/tmp/…/dataset.py:17`` becoming ``lab.ipynb cell 12,
line 18``, and (2) gives each exercise with a problem in the notebook (no ``%%writefile`` cell, a syntax
error, notebook-only syntax) the status ``load_error`` with the notebook's message as its summary and
every check's message: 0 points there, the other exercises graded as they were.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from catalog import DEFAULT_LANG
from grader.judge import flags
from grader.judge.messages import message
from grader.judge.results import GradeResult
from grader.notebook.found import Extraction
from vqa.course import FILES

_MODULES = "|".join(re.escape(f) for f in sorted(FILES.values()))


def folder_names(folder: Path) -> list[str]:
    """Every way a message may spell ``folder``: as the judge shows it (relative to the working directory
    when inside it), absolute, and resolved; longest first, so no spelling eats part of another."""
    names = {str(folder), os.path.abspath(folder)}
    try:
        resolved = folder.resolve()
        names.add(str(resolved))
        if resolved.is_relative_to(Path.cwd().resolve()):
            names.add(os.path.relpath(resolved))
    except (OSError, ValueError):
        pass
    return sorted((n for n in names if n not in ("", ".")), key=len, reverse=True)


def rewrite(text: str, extraction: Extraction, lang: str = DEFAULT_LANG) -> str:
    """``text`` with each place in the extracted modules named as the notebook's cell and line."""
    if not text or extraction.folder is None:
        return text
    prefixes = "|".join(re.escape(name + os.sep) for name in folder_names(extraction.folder))
    pattern = re.compile(
        rf"(?:{prefixes})(?P<file>{_MODULES})"
        rf"(?:(?P<q>\"), line (?P<qline>\d+)|:(?P<line>\d+))?"
    )

    def place(match: re.Match) -> str:
        file = match.group("file")
        line = match.group("line") or match.group("qline")
        spot = extraction.place(file, int(line)) if line else None
        if spot is None:
            where = message("notebook.file", lang, notebook=extraction.shown, file=file)
            if line:
                where += f":{line}"
            return where + (match.group("q") or "")
        where = message(
            "notebook.place", lang, notebook=extraction.shown, cell=spot[0], line=spot[1]
        )
        return f'{where}"' if match.group("q") else where

    text = pattern.sub(place, text)
    for name in folder_names(extraction.folder):  # the folder itself, named alone
        text = text.replace(name, extraction.shown)
    return text


def annotate(result: GradeResult, extraction: Extraction) -> GradeResult:
    """Rewrite ``result`` (in place, and return it) for the notebook ``extraction`` came from."""
    lang = result.lang
    for ex in result.exercises.values():
        ex.summary = rewrite(ex.summary, extraction, lang)
        for check in ex.checks:
            check.message = rewrite(check.message, extraction, lang)
            check.output = rewrite(check.output, extraction, lang)
            check.hint = rewrite(check.hint, extraction, lang)
    result.notes = [rewrite(note, extraction, lang) for note in result.notes]
    for name, ex in result.exercises.items():
        problems = extraction.problems.get(name)
        if not problems:
            continue
        ex.status = "load_error"
        ex.summary = "\n".join(p.text(lang) for p in problems)
        for check in ex.checks:
            if check.skipped:
                continue
            check.score, check.passed, check.message = 0.0, False, ex.summary
            check.hint, check.caused_by, check.output = "", "", ""
        load_error = flags.make("load_error", name)
        replaced = (
            load_error,
            flags.make("not_implemented", name),
        )  # the notebook's problem says it all
        result.flags = [f for f in result.flags if f not in replaced] + [load_error]
    result.submission = str(extraction.notebook)
    return result
