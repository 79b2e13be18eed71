"""``grader bundle gradescope OUT.zip`` and ``grader bundle github-classroom DIR`` (short name ``classroom``):
click over the plain functions of :mod:`grader.bundles.build`. ``--lang`` and ``--timeout`` are the learner's
own ``grade`` options (:mod:`grader.options`), which the platform's script passes to ``grade``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, TypeVar

import click

from grader.bundles import build
from grader.options import lang_option, timeout_option

F = TypeVar("F", bound=Callable)

source_option = click.option(
    "--source",
    default=None,
    help="What the platform pip installs: a wheel, an sdist, a git URL or a requirement (default: gradescope "
    "bundles this package's source; github-classroom installs git+<this checkout's origin URL>).",
)


def bundle_options(command: F) -> F:
    """The options of every bundle: ``--source``, and ``grade``'s own ``--lang`` and ``--timeout``."""
    return source_option(lang_option(timeout_option(command)))


@contextmanager
def reported_as_click_errors() -> Iterator[None]:
    """A bundle that cannot be written ends as click's one-line error (exit 1), not a traceback."""
    try:
        yield
    except (build.BundleError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


class ShortNamedGroup(click.Group):
    """A group whose commands also answer to a short name (``classroom`` for ``github-classroom``)."""

    short_names: ClassVar[dict[str, str]] = {"classroom": "github-classroom"}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.short_names.get(cmd_name, cmd_name))


@click.group(
    "bundle",
    cls=ShortNamedGroup,
    short_help="Package the grader for Gradescope or GitHub Classroom.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
def bundle_group() -> None:
    """Package the grader as an autograder for Gradescope or GitHub Classroom."""


@bundle_group.command("gradescope", short_help="A Gradescope autograder zip.")
@click.argument("out_zip", metavar="OUT.zip", type=click.Path(dir_okay=False))
@bundle_options
def bundle_gradescope(out_zip: str, **options: Any) -> None:
    """Write a Gradescope autograder zip (setup.sh, run_autograder) to OUT.zip."""
    with reported_as_click_errors():
        path = build.write_gradescope(out_zip, **options)
    click.echo(f"wrote {path} (upload it as the autograder of a Gradescope programming assignment)")


@bundle_group.command(
    "github-classroom", short_help="A GitHub Classroom workflow (short name: classroom)."
)
@click.argument("out_dir", metavar="DIR", type=click.Path(file_okay=False))
@bundle_options
def bundle_github_classroom(out_dir: str, **options: Any) -> None:
    """Write .github/workflows/classroom.yml (and its grading scripts) into DIR, the starter repository.
    Short name: classroom."""
    with reported_as_click_errors():
        paths = build.write_github_classroom(out_dir, **options)
    for path in paths:
        click.echo(f"wrote {path}")


@bundle_group.command("classroom-result", hidden=True)
@click.argument("result_json", metavar="RESULT.json", type=click.Path(dir_okay=False))
def classroom_result(result_json: str) -> None:
    """Print the autograding reporter's base64 payload for a grade --json result (the workflow's grade.sh
    runs it; an unreadable result becomes an error payload)."""
    click.echo(build.classroom_payload(result_json))
