"""``grade PATH``: the learner's command, a thin click layer over :class:`grader.judge.grade.Grader`, whose
signature gives the grading options' defaults (:mod:`grader.options`, shared with ``grader batch``).
PATH is a folder or a notebook (``lab.ipynb``, graded through :mod:`grader.notebook.submission`). The
instructor's commands are ``grader ...`` (:mod:`grader.instructor`). Runs in the judge process: no torch."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import click

from grader.judge import faults, messages
from grader.judge.grade import Grader, UsageError, display_path, resolve_submission
from grader.judge.results import GradeResult
from grader.notebook import submission as notebooks
from grader.options import grading_options


def write_outputs(
    result: GradeResult, *, json_path=None, gradescope_path=None, junit_path=None
) -> None:
    from grader.reports import writers

    if json_path:
        writers.write_json(result, json_path)
    if gradescope_path:
        writers.write_gradescope(result, gradescope_path)
    if junit_path:
        writers.write_junit(result, junit_path)


EXIT_PASSED, EXIT_FAILED, EXIT_USAGE, EXIT_GRADER = 0, 1, 2, 3


def exit_code(result: GradeResult) -> int:
    """0 every check passed, 1 some failed, 3 the grader itself failed on some check (the grade is incomplete)."""
    if result.grader_failed:
        return EXIT_GRADER
    return EXIT_PASSED if result.passed else EXIT_FAILED


def snapshot_mtimes(folder: Path) -> dict:
    """When each file that is graded was last saved: the folder's .py files, or the notebook."""
    if folder.is_file():
        return {str(folder): folder.stat().st_mtime_ns}
    out = {}
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        try:
            out[str(path)] = path.stat().st_mtime_ns
        except OSError:
            pass
    return out


def grade_path(grader: Grader, path, exercises) -> GradeResult:
    """Grade a folder, or a notebook (a .ipynb file, or a folder holding one and none of the four modules)."""
    notebook = notebooks.notebook_of(path)
    if notebook is not None:
        return notebooks.grade_notebook(grader, notebook, exercises)
    return grader.grade(path, exercises)


def grade_once(grader: Grader, path, exercises, *, verbose=False, **writers) -> int:
    from grader.reports.writers import render

    result = grade_path(grader, path, exercises)
    render(result, verbose=verbose)
    write_outputs(result, **writers)
    return exit_code(result)


def watch(
    grader: Grader, path, exercises, *, verbose=False, interval: float = 1.0, **writers
) -> int:
    """Grade, then grade again whenever a .py file in the folder (or the notebook) is saved; Ctrl-C stops.
    A notebook that cannot be read while it is being saved is reported, and watching goes on."""
    from grader.notebook.reading import NotebookError

    folder = notebooks.notebook_of(path) or resolve_submission(path)

    def once() -> int:
        try:
            return grade_once(grader, folder, exercises, verbose=verbose, **writers)
        except NotebookError as exc:
            click.echo(f"Error: {exc.text(grader.lang)}", err=True)
            return 2

    code = once()
    seen = snapshot_mtimes(folder)
    click.echo(f"watching {folder} for changes (Ctrl-C to stop)")
    try:
        while True:
            time.sleep(interval)
            now = snapshot_mtimes(folder)
            if now != seen:
                seen = now
                click.echo("\n--- change detected, grading again ---")
                code = once()
    except KeyboardInterrupt:
        return code


def check_path(path: str) -> None:
    """Refuse, with a usage error, a PATH that is neither a folder nor a notebook."""
    if notebooks.is_notebook_path(path):
        if not Path(path).is_file():
            raise UsageError(f"{path}: no such notebook")
        return
    if Path(path).is_file():
        raise UsageError(
            f"{path}: not a folder or a notebook (pass a folder holding dataset.py, lora.py, "
            "train.py, predict.py, or the lab's .ipynb)"
        )
    resolve_submission(path)


def submission_path(ctx: click.Context, param: click.Parameter, path: str) -> str:
    """PATH, checked as click checks a parameter: a folder or a notebook, else click's usage error."""
    try:
        check_path(path)
    except UsageError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
    return path


class UnreadableSubmission(click.ClickException):
    """PATH is there but cannot be read as a submission (a notebook that is not valid JSON): a usage error
    (exit 2) told in one message in the learner's language, without click's usage lines."""

    exit_code = 2


def read_notebook_first(path: str, lang: str) -> None:
    """A notebook that cannot be read stops here, before the grader starts."""
    from grader.notebook.reading import NotebookError, read_notebook

    notebook = notebooks.notebook_of(path)
    if notebook is None:
        return
    try:
        read_notebook(notebook, display_path(notebook))
    except NotebookError as exc:
        raise UnreadableSubmission(exc.text(lang)) from None


@click.command(
    epilog="Instructors grading a whole class: see grader --help.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.argument("path", type=click.Path(path_type=str), callback=submission_path)
@grading_options
@click.option("-v", "--verbose", is_flag=True, help="Show every check's detail.")
@click.option(
    "--watch", "watch_mode", is_flag=True, help="Grade again whenever a file in PATH is saved."
)
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False), help="Write the result as JSON."
)
@click.option(
    "--gradescope",
    "gradescope_path",
    type=click.Path(dir_okay=False),
    help="Write Gradescope's results.json.",
)
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), help="Write JUnit XML.")
@click.option(
    "--debug",
    is_flag=True,
    hidden=True,
    help="For the grader's developers: log in detail, keep the run folder, let the grader's own errors "
    "raise with their traceback.",
)
def main(
    path: str,
    exercises: tuple[str, ...],
    lang: str,
    device: str,
    sandbox: str,
    timeout: float,
    memory_mb: int,
    cache_dir: str | None,
    verbose: bool,
    watch_mode: bool,
    json_path: str | None,
    gradescope_path: str | None,
    junit_path: str | None,
    debug: bool = False,
) -> None:
    """Grade the submission folder PATH (solutions/, exercises/, or any folder with the four modules),
    or the lab notebook PATH (lab.ipynb: its %%writefile cells are the four modules; nothing in it runs).

    Exit code: 0 when every check passes, 1 when some fail, 2 for a usage error, 3 when the grader
    itself cannot run (no worker, a failing reference).
    """
    writers: dict[str, Any] = {
        "json_path": json_path,
        "gradescope_path": gradescope_path,
        "junit_path": junit_path,
    }
    from grader.notebook.reading import NotebookError

    read_notebook_first(path, lang)
    if debug:
        logging.basicConfig(
            level=logging.DEBUG, format="%(asctime)s %(name)s %(levelname)s: %(message)s"
        )
    try:
        grader = Grader(
            lang=lang,
            device=device,
            sandbox=sandbox,
            timeout=timeout,
            memory_mb=memory_mb,
            cache_dir=cache_dir,
            debug=debug,
        )
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    from grader.judge.reference import ReferenceFailure
    from grader.worker.handle import WorkerStartError

    try:
        with grader:
            if watch_mode:
                code = watch(grader, path, list(exercises) or None, verbose=verbose, **writers)
            else:
                code = grade_once(grader, path, list(exercises) or None, verbose=verbose, **writers)
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    except NotebookError as exc:  # changed between the first read and grading
        raise UnreadableSubmission(exc.text(lang)) from None
    except (
        WorkerStartError,
        ReferenceFailure,
    ) as exc:  # the grader's environment, not the submission
        click.echo(f"Error: the grader could not run: {exc}", err=True)
        sys.exit(EXIT_GRADER)
    except faults.GraderError as exc:  # the grader's own bug: said as its, with the log to send
        click.echo(
            "Error: "
            + messages.message("grader_error_exit", lang, error=str(exc), log=str(exc.log)),
            err=True,
        )
        sys.exit(EXIT_GRADER)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
