"""How a submission is graded, as click options declared once: the learner's ``grade PATH`` and the
instructor's ``grader batch DIR`` take the same options (and ``grader bundle`` takes ``--lang`` and
``--timeout``, which it hands to ``grade`` on the platform). Their defaults come from the signature of
:class:`grader.judge.grade.Grader`, which receives them. Runs in the judge or the instructor's process: no
torch."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

import click

from grader.judge import messages
from grader.judge.grade import Grader
from grader.worker import limits
from vqa.course import EXERCISES

F = TypeVar("F", bound=Callable)
DEVICES = ("cpu", "cuda")
SANDBOXES = ("auto", "bwrap", "none")
_DEFAULTS = inspect.signature(Grader).parameters

exercise_option = click.option(
    "--exercise",
    "-e",
    "exercises",
    multiple=True,
    type=click.Choice(EXERCISES),
    help="Grade only this exercise (repeatable).",
)
lang_option = click.option(
    "--lang",
    type=click.Choice(messages.LANGS),
    default=_DEFAULTS["lang"].default,
    show_default=True,
    help="Language of titles, hints and messages.",
)
device_option = click.option(
    "--device",
    type=click.Choice(DEVICES),
    default=_DEFAULTS["device"].default,
    show_default=True,
    help="Also run the train and predict checks on CUDA when it is there (worth no points: the score is the cpu's).",
)
sandbox_option = click.option(
    "--sandbox",
    type=click.Choice(SANDBOXES),
    default=_DEFAULTS["sandbox"].default,
    show_default=True,
    help="Run the worker under bubblewrap (no network, read-only system).",
)
timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=limits.MIN_CALL_TIMEOUT),
    default=_DEFAULTS["timeout"].default,
    show_default=True,
    help="Seconds allowed per probe call.",
)
memory_option = click.option(
    "--memory-mb",
    type=click.IntRange(min=limits.MIN_MEMORY_MB),
    default=_DEFAULTS["memory_mb"].default,
    show_default=True,
    help="Memory a worker may use on top of the imported libraries (MiB).",
)
cache_dir_option = click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=_DEFAULTS["cache_dir"].default,
    help="Where the reference's results are cached (default: the user cache folder).",
)

GRADING_OPTIONS = (
    exercise_option,
    lang_option,
    device_option,
    sandbox_option,
    timeout_option,
    memory_option,
    cache_dir_option,
)


def grading_options(command: F) -> F:
    """Add every grading option (``--exercise``, ``--lang``, ``--device``, ``--sandbox``, ``--timeout``,
    ``--memory-mb``, ``--cache-dir``) to a click command, in that order in its help."""
    for option in reversed(GRADING_OPTIONS):
        command = option(command)
    return command
