"""The grading options, declared once: every plain function that receives them has the defaults the
options show, so ``grade``, ``grader batch`` and ``grader bundle`` grade alike when given nothing."""

from __future__ import annotations

import inspect

import click
import pytest

from grader.batch import BatchOptions
from grader.batch.cli import run_batch_command
from grader.bundles import build
from grader.judge.grade import Grader
from grader.options import grading_options


@grading_options
@click.command()
def probe(**options):
    """A command with the grading options only."""


NAMES = {param.name for param in probe.params}
SHOWN = {
    param.name: param.default for param in probe.params if not param.multiple
}  # --exercise: none given


def defaults(function) -> dict:
    return {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()
        if name in NAMES
    }


def test_the_options_are_the_graders_parameters():
    assert NAMES == {"exercises", "lang", "device", "sandbox", "timeout", "memory_mb", "cache_dir"}
    assert defaults(Grader) == SHOWN


@pytest.mark.parametrize(
    "function",
    [run_batch_command, BatchOptions, build.write_gradescope, build.write_github_classroom],
)
def test_every_receiver_has_the_same_defaults(function):
    received = defaults(function)
    assert received, f"{function.__name__} takes none of the grading options"
    assert received.pop("exercises", None) is None  # every exercise, as when no --exercise is given
    assert received == {name: SHOWN[name] for name in received}
