"""``grade bundle gradescope OUT.zip`` and ``grade bundle github-classroom DIR``: click over the plain
functions of :mod:`grader.bundles.build`, whose signatures give the options' defaults."""

from __future__ import annotations

import inspect

import click

from grader.bundles import build
from grader.judge import messages
from grader.worker import limits

_GRADESCOPE = inspect.signature(build.write_gradescope).parameters
_CLASSROOM = inspect.signature(build.write_github_classroom).parameters


@click.group("bundle", context_settings={"help_option_names": ["-h", "--help"]})
def bundle_group():
    """Package the grader for an autograding platform."""


@bundle_group.command("gradescope")
@click.argument("out_zip", type=click.Path(dir_okay=False))
@click.option("--source", default=None,
              help="What setup.sh pip installs (a wheel, sdist, git URL or requirement; default: this package's "
                   "source, bundled).")
@click.option("--lang", type=click.Choice(messages.LANGS), default=_GRADESCOPE["lang"].default, show_default=True)
@click.option("--timeout", type=click.FloatRange(min=limits.MIN_CALL_TIMEOUT),
              default=_GRADESCOPE["timeout"].default, show_default=True, help="Seconds per probe call.")
def bundle_gradescope(out_zip, source, lang, timeout):
    """Write a Gradescope autograder zip (setup.sh, run_autograder) to OUT_ZIP."""
    try:
        path = build.write_gradescope(out_zip, source=source, lang=lang, timeout=timeout)
    except (build.BundleError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {path} (upload it as the autograder of a Gradescope programming assignment)")


@bundle_group.command("github-classroom")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--source", default=None,
              help="What the workflow pip installs (default: git+<this checkout's origin URL>).")
@click.option("--lang", type=click.Choice(messages.LANGS), default=_CLASSROOM["lang"].default, show_default=True)
@click.option("--timeout", type=click.FloatRange(min=limits.MIN_CALL_TIMEOUT),
              default=_CLASSROOM["timeout"].default, show_default=True, help="Seconds per probe call.")
def bundle_github_classroom(out_dir, source, lang, timeout):
    """Write .github/workflows/classroom.yml (and its grading script) into OUT_DIR, the starter repository."""
    try:
        paths = build.write_github_classroom(out_dir, source=source, lang=lang, timeout=timeout)
    except (build.BundleError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    for p in paths:
        click.echo(f"wrote {p}")


class BundleAwareCommand(click.Command):
    """A command that hands ``bundle ...`` to :data:`bundle_group`, so ``grade bundle gradescope OUT.zip``
    works next to ``grade PATH`` (use ``@click.command(cls=BundleAwareCommand)``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] == "bundle":
            ctx.meta["bundle_args"] = list(args[1:])
            return []
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        if "bundle_args" in ctx.meta:
            return bundle_group.main(args=ctx.meta["bundle_args"], prog_name=f"{ctx.command_path} bundle",
                                     standalone_mode=False)
        return super().invoke(ctx)
