"""The flags a grading can raise, in one table: its heading and whether it needs an instructor's look (what
it means for the learner is ``flag.<name>`` in hints.toml).

A flag is written ``name`` or ``name:exercise`` (``timeout:lora``). The judge raises the worker's
flags, the batch raises ``not_graded`` (and ``grader_error`` when grading a submission raised in a slot, or a
slot's reply could not be read) and the class report ``similar``; the results, the batch
summary, the feedback pages and the class report all read this table, so a flag cannot be raised
without a meaning, and "needs a look" is decided in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from grader.judge import messages


@dataclass(frozen=True)
class Flag:
    name: str
    label: str  # the class report's heading for it
    needs_look: bool  # listed at the end of a batch and marked red in the report
    misbehaved: bool  # the code misbehaved (hung, crashed, cheated): its failed checks are not something to re-teach
    # who raises it (grader_error: the judge, and the batch for a slot's failure)
    raised_by: tuple[Literal["judge", "batch", "report"], ...]


FLAGS: dict[str, Flag] = {
    flag.name: flag
    for flag in (
        Flag(
            "grader_error",
            "Grader errors",
            needs_look=True,
            misbehaved=True,
            raised_by=("judge", "batch"),
        ),
        Flag("not_graded", "Not graded", needs_look=True, misbehaved=False, raised_by=("batch",)),
        Flag("timeout", "Timeouts", needs_look=True, misbehaved=True, raised_by=("judge",)),
        Flag("crash", "Crashes", needs_look=True, misbehaved=True, raised_by=("judge",)),
        Flag("memory", "Out of memory", needs_look=True, misbehaved=True, raised_by=("judge",)),
        Flag("exit", "Exits (sys.exit)", needs_look=True, misbehaved=True, raised_by=("judge",)),
        Flag(
            "imports_reference",
            "Imports of the reference or grader",
            needs_look=True,
            misbehaved=True,
            raised_by=("judge",),
        ),
        Flag(
            "output_truncated",
            "Output cut (printed a lot)",
            needs_look=False,
            misbehaved=False,
            raised_by=("judge",),
        ),
        Flag(
            "load_error",
            "Modules that failed to load",
            needs_look=False,
            misbehaved=False,
            raised_by=("judge",),
        ),
        Flag(
            "not_implemented",
            "Not implemented",
            needs_look=False,
            misbehaved=False,
            raised_by=("judge",),
        ),
        Flag(
            "similar",
            "Similar submissions",
            needs_look=True,
            misbehaved=False,
            raised_by=("report",),
        ),
    )
}

# the worker's call outcomes that raise a flag of the same name on the exercise
WORKER_KINDS = ("timeout", "crash", "memory", "exit")


class UnknownFlag(ValueError):
    """A flag that is not in :data:`FLAGS`."""


def make(name: str, exercise: str | None = None) -> str:
    """The flag string ``name`` or ``name:exercise``; raises :class:`UnknownFlag` for a name not in the table."""
    if name not in FLAGS:
        raise UnknownFlag(f"unknown flag {name!r}; add it to grader.judge.flags.FLAGS")
    return f"{name}:{exercise}" if exercise else name


def parse(flag: str) -> tuple[Flag | None, str]:
    """``timeout:lora`` -> (the timeout Flag, "lora"); an unknown name gives None."""
    name, _, arg = flag.partition(":")
    return FLAGS.get(name), arg


def needs_look(flag: str) -> bool:
    """Whether an instructor should look at a submission with ``flag`` (unknown flags: yes)."""
    known, _ = parse(flag)
    return known.needs_look if known else True


def misbehaved(flag: str) -> bool:
    known, _ = parse(flag)
    return bool(known and known.misbehaved)


def describe(flag: str, lang: str = messages.DEFAULT_LANG) -> str:
    """``not_implemented:dataset`` -> ``dataset: not implemented yet``; unknown flags as they are."""
    known, arg = parse(flag)
    if known is None:
        return flag
    text = messages.message(f"flag.{known.name}", lang)
    return f"{arg}: {text}" if arg else text


def label(name: str) -> str:
    """The report's heading for the flag ``name`` (the name itself when unknown)."""
    known = FLAGS.get(name)
    return known.label if known else name
