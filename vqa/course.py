"""The course manifest (``vqa/course.toml``) as Python: the exercises, their files, functions and points,
and the stub's "not implemented" error. Plain data, no torch: the grader's judge reads it too."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

# the folder holding the course's packages (vqa, grader, quiz, solutions, exercises)
ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "vqa" / "course.toml"


@dataclass(frozen=True)
class Exercise:
    name: str
    file: str
    functions: tuple[str, ...]
    points: int
    title: str


@functools.lru_cache(maxsize=1)
def _manifest() -> dict:
    with open(MANIFEST, "rb") as fh:
        return tomllib.load(fh)


def exercises() -> tuple[Exercise, ...]:
    return tuple(
        Exercise(e["name"], e["file"], tuple(e["functions"]), int(e["points"]), e["title"])
        for e in _manifest()["exercise"]
    )


EXERCISES: tuple[str, ...] = tuple(e.name for e in exercises())
POINTS: dict[str, int] = {e.name: e.points for e in exercises()}
CONTRACT: dict[str, tuple[str, ...]] = {e.name: e.functions for e in exercises()}
FILES: dict[str, str] = {e.name: e.file for e in exercises()}
TOTAL_POINTS: int = sum(POINTS.values())


def stub_message(exercise: str, name: str) -> tuple[str, str]:
    """The stub's error for function ``name`` of ``exercise``: its English and Vietnamese sentences."""
    stub = _manifest()["stub"]
    return stub["en"].format(exercise=exercise, name=name), stub["vi"].format(
        exercise=exercise, name=name
    )


def is_stub_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the error a stub raises: the one place "not implemented yet" is recognised."""
    return isinstance(exc, NotImplementedError) and str(exc).startswith(
        _manifest()["stub"]["prefix"]
    )


def stub_sentence(message: str) -> str:
    """The first sentence of a stub's error as reported (``Exercise dataset: write f (see the TODO …)``)."""
    return str(message).replace("NotImplementedError: ", "").split(". ")[0]


def stub_task(message: str, lang: str = "en") -> str:
    """What the stub asks for, without the exercise and the pointer to the TODO (``write f``; in Vietnamese
    ``hãy viết f``, read from the stub's own Vietnamese sentence)."""
    stub = _manifest()["stub"]
    if lang != "en" and lang in stub:
        template = stub[lang].strip()
        pattern = (
            re.escape(template)
            .replace(re.escape("{exercise}"), r"\w+")
            .replace(re.escape("{name}"), r"(?P<name>[\w.]+)")
        )
        found = re.search(pattern, str(message))
        if found:
            return template.split("{exercise}: ", 1)[1].split(" (")[0].format(name=found["name"])
    first = stub_sentence(message).split(" (see")[0]
    prefix = stub["prefix"]
    if first.startswith(prefix) and ": " in first:
        first = first.split(": ", 1)[1]
    return first
