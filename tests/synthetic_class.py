"""A synthetic class for the similarity and class-report tests and ``bench/class_scale.py``.

Most submissions are near-duplicates of the reference (each with a few statements of its own, placed
where its author chose), some are distinct (many statements of their own), and a few groups are copies
of one member's work with names changed and a line of their own. The code is not meant to run: only
the class files are written from it, with recorded (synthetic) results.
"""

from __future__ import annotations

import ast
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

from vqa import course

from paths import ROOT as REPO

FILES = tuple(course.FILES.values())

_NAMES = (
    "item",
    "value",
    "batch_x",
    "tmp",
    "out",
    "res",
    "cur",
    "acc",
    "seen",
    "extra",
    "log_line",
    "step_no",
)
_TEMPLATES = (
    'print(f"{a}: {{{b}}}")',
    "assert {b} is not None",
    '{a} = len({b}) if hasattr({b}, "__len__") else 0',
    "if {b} is None:\n    pass",
    "{a} = [{b}]",
    'logging.debug("%s %s", {b}, {n})',
    "for _ in range({n}):\n    break",
    "{a} = {{}}",
    "{a} = ({b}, {n})",
    "try:\n    {a} = {b}\nexcept Exception:\n    raise",
    "{a} = {b} if {b} else {n}",
    "while False:\n    {a} = {n}",
)
_RENAMES = (
    ("records", "rows"),
    ("batch", "mb"),
    ("inputs", "feed"),
    ("optimizer", "opt"),
    ("losses", "history"),
    ("config", "cfg"),
    ("model", "net"),
    ("processor", "proc"),
    ("device", "dev"),
)


def _insertion_points(source: str) -> list[tuple[int, int]]:
    """(line after which a statement may go, its indentation) for every statement in a body."""
    points = []
    for node in ast.walk(ast.parse(source)):
        for attr in ("body", "orelse", "finalbody"):
            block = getattr(node, attr, None)
            if isinstance(block, list) and not isinstance(node, (ast.Module, ast.ClassDef)):
                points += [
                    (stmt.end_lineno, stmt.col_offset)
                    for stmt in block
                    if isinstance(stmt, ast.stmt)
                ]
    return sorted(set(points))


def own_statements(source: str, rng: random.Random, rate: float) -> str:
    """``source`` with statements of one's own after about ``rate`` of its statements."""
    lines = source.splitlines(keepends=True)
    chosen = [p for p in _insertion_points(source) if rng.random() < rate]
    for line, indent in sorted(chosen, reverse=True):
        text = rng.choice(_TEMPLATES).format(
            a=rng.choice(_NAMES), b=rng.choice(_NAMES), n=rng.randrange(1, 9)
        )
        block = "".join(" " * indent + part + "\n" for part in text.split("\n"))
        lines.insert(line, block)
        try:
            ast.parse("".join(lines))
        except SyntaxError:  # between an if's branches (elif/else): not a place for a statement
            del lines[line]
    return "".join(lines)


def disguise(source: str, rng: random.Random) -> str:
    """What a copier does: other names, other comments and blank lines, one statement of their own."""
    for old, new in rng.sample(_RENAMES, 4):
        source = re.sub(rf"\b{old}\b", new, source)
    source = source.replace("\n\n\n", "\n\n# my own section\n\n", 2)
    return own_statements(source, rng, 0.01)


@dataclass
class SyntheticClass:
    root: Path
    folders: dict[str, Path]
    groups: list[list[str]]  # planted copy groups (the first member is the source)
    kinds: dict[str, str] = field(default_factory=dict)  # near | distinct | copy


def build_class(
    root: str | Path,
    n: int = 1000,
    *,
    seed: int = 0,
    distinct: float = 0.05,
    group_sizes: tuple[int, ...] = (2, 2, 3, 3, 4),
    near_rate: float = 0.04,
    distinct_rate: float = 0.3,
) -> SyntheticClass:
    """Write ``n`` submissions under ``root`` (one folder each, ``s0000``…)."""
    rng = random.Random(seed)
    root = Path(root)
    if root.exists():
        shutil.rmtree(root)
    reference = {name: (REPO / "solutions" / name).read_text() for name in FILES}
    names = [f"s{i:04d}" for i in range(n)]
    kinds: dict[str, str] = {}
    texts: dict[str, dict[str, str]] = {}
    n_copies = sum(size - 1 for size in group_sizes)
    n_distinct = max(len(group_sizes), int(distinct * n))
    for i, student in enumerate(names[: n - n_copies]):
        kind = "distinct" if i < n_distinct else "near"
        rate = distinct_rate if kind == "distinct" else near_rate
        texts[student] = {name: own_statements(src, rng, rate) for name, src in reference.items()}
        kinds[student] = kind
    groups = []
    pool = iter(names[n - n_copies :])
    # one near-duplicate too
    sources = rng.sample(names[:n_distinct], len(group_sizes) - 1) + [names[n_distinct]]
    for source, size in zip(sources, group_sizes):
        group = [source]
        for _ in range(size - 1):
            student = next(pool)
            texts[student] = {name: disguise(text, rng) for name, text in texts[source].items()}
            kinds[student] = "copy"
            group.append(student)
        groups.append(group)
    folders = {}
    for student in names:
        folder = root / student
        folder.mkdir(parents=True)
        for name, text in texts[student].items():
            (folder / name).write_text(text)
        folders[student] = folder
    return SyntheticClass(root, folders, groups, kinds)


def synthetic_results(students: list[str], *, seed: int = 0) -> list[dict]:
    """Recorded results (``GradeResult.to_dict()`` shape) for ``students``: real check names, titles and hints,
    most checks passed, common mistakes failed by a share of the class, a few flags."""
    rng = random.Random(seed)
    hints = tomllib.loads((REPO / "grader" / "judge" / "hints.toml").read_text())
    checks: dict[str, list[tuple[str, dict]]] = {e: [] for e in course.EXERCISES}
    for name, entry in hints.get("checks", {}).items():
        exercise = name.split(".")[0]
        if exercise in checks and isinstance(entry, dict):
            checks[exercise].append((name, entry))
    results = []
    for _student in students:
        exercises = {}
        for exercise, items in checks.items():
            points = course.POINTS[exercise] / max(len(items), 1)
            out = []
            for name, entry in items:
                passed = rng.random() > 0.12
                title = entry.get("title", {}).get("en", name)
                hint = entry.get("hint", {}).get("en", "")
                out.append(
                    {
                        "name": name,
                        "score": points if passed else 0.0,
                        "max_score": points,
                        "passed": passed,
                        "message": ""
                        if passed
                        else f"got {rng.random():.4f}, expected {rng.random():.4f} for the fixture's second batch",
                        "hint": "" if passed else hint,
                        "title": title,
                        "output": "",
                    }
                )
            exercises[exercise] = {
                "score": sum(c["score"] for c in out),
                "max_score": course.POINTS[exercise],
                "status": "graded",
                "summary": "",
                "checks": out,
            }
        flags = []
        if rng.random() < 0.01:
            flags.append("timeout:train")
        results.append(
            {
                "score": round(sum(e["score"] for e in exercises.values()), 4),
                "max_score": 100,
                "exercises": exercises,
                "flags": flags,
                "versions": {},
                "notes": [],
                "submission": "",
                "lang": "en",
                "execution_time": 1.0,
            }
        )
    return results
