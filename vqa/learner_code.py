"""The learner's functions as the notebook's steps call them, and whose fault an error is.

A missing or broken file, a stub, a call the learner's signature does not take, an exception raised in the
learner's own file, or a result the next step cannot use becomes a :class:`Stop`: one line that tells the
learner what to do (a text of vqa/messages.toml). Any other exception is the kit's own: it goes on up with
its traceback, never dressed up as advice to the learner.
"""

from __future__ import annotations

import inspect
import reprlib
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from vqa.course import FILES, is_stub_error, stub_task
from vqa.impl import ImplementationError, load_exercise

EXERCISE_OF_FILE = {file: exercise for exercise, file in FILES.items()}


class Stop(Exception):
    """A step cannot go on, for a reason the learner can act on: ``key`` of vqa/messages.toml and its fields."""

    def __init__(self, key: str, **fields: Any):
        super().__init__(key)
        self.key = key
        self.fields = fields


def learner_frame(err: BaseException, folder: Path) -> traceback.FrameSummary | None:
    """The innermost frame of ``err``'s traceback that runs one of the learner's exercise files in ``folder``."""
    frames = [
        frame
        for frame in traceback.extract_tb(err.__traceback__)
        if Path(frame.filename).name in EXERCISE_OF_FILE
        and Path(frame.filename).resolve().parent == folder
    ]
    return frames[-1] if frames else None


def blame(
    err: Exception, folder: Path, exercise: str | None = None, name: str | None = None
) -> Stop | None:
    """What to tell the learner about ``err``: what a stub asks for, or where their code raised (their file and
    line). None when no frame of the traceback is in their files: then the error is the kit's own.
    ``exercise`` and ``name``: the learner's function the kit called, when it was a call."""
    frame = learner_frame(err, folder)
    file = FILES[exercise] if exercise else Path(frame.filename).name if frame else None
    if file is None:
        return None
    if is_stub_error(err):
        return Stop("stub", file=file, name=stub_task(str(err)).removeprefix("write "))
    if frame is None:
        return None
    return Stop(
        "error",
        file=file,
        name=name or frame.name,
        error=f"{type(err).__name__}: {err}",
        where=f" ({Path(frame.filename).name}:{frame.lineno}: {frame.line})",
        exercise=exercise or EXERCISE_OF_FILE[file],
    )


def module(folder: Path, exercise: str) -> ModuleType:
    """The learner's ``<exercise>.py`` from ``folder``, imported afresh (an edited cell, run again, counts)."""
    file = FILES[exercise]
    if not (folder / file).is_file():
        raise Stop("missing", file=file)
    try:
        return load_exercise(folder, exercise, reload=True)
    except ImplementationError as err:
        raise Stop("broken", file=file, error=err) from None


def call(folder: Path, exercise: str, name: str, *args: Any, **kwargs: Any) -> Any:
    """``<exercise>.<name>(*args, **kwargs)`` from the learner's file in ``folder``; the learner's mistakes
    become a :class:`Stop`, the kit's own errors pass through."""
    function = getattr(
        module(folder, exercise), name
    )  # the loader has checked that the contract's names exist
    try:
        inspect.signature(function).bind(*args, **kwargs)
    except TypeError as err:
        raise Stop("signature", file=FILES[exercise], name=name, error=err) from None
    except ValueError:  # no signature to read (a builtin): the call itself says what is wrong
        pass
    try:
        return function(*args, **kwargs)
    except Exception as err:
        stop = blame(err, folder, exercise, name)
        if stop is None:
            raise
        raise stop from None


def shown(value: Any) -> str:
    """A returned value as a learner recognises it: its type and a short repr."""
    return f"{type(value).__name__} {reprlib.repr(value)}"


def returned(value: Any, key: str, exercise: str, name: str, **fields: Any) -> Stop:
    """The :class:`Stop` for a result of the learner's ``name`` that the next step cannot use: text ``key``
    says what it returned and what the step needs."""
    return Stop(key, file=FILES[exercise], name=name, got=shown(value), **fields)


def expect(value: Any, ok: bool, key: str, exercise: str, name: str, **fields: Any) -> Any:
    """``value`` (what the learner's ``name`` returned) when ``ok``; else raises :func:`returned`'s Stop."""
    if not ok:
        raise returned(value, key, exercise, name, **fields)
    return value


def is_pair(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and len(value) == 2
