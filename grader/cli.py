"""``grade PATH``: the learner's command, a thin click layer over :class:`grader.judge.grade.Grader`, whose
signature gives the options' defaults. PATH is a folder or a notebook (``lab.ipynb``, graded through
:mod:`grader.notebook.submission`). ``grade --batch DIR`` hands over to :mod:`grader.batch.cli` and
``grade bundle ...`` to :mod:`grader.bundles.cli`. Runs in the judge process: no torch."""

from __future__ import annotations

import inspect
import sys
import time
from pathlib import Path

import click

from grader.batch import cli as batch_cli
from grader.bundles.cli import BundleAwareCommand
from grader.judge import messages
from grader.judge.grade import Grader, UsageError, display_path, resolve_submission
from grader.judge.results import GradeResult
from grader.notebook import submission as notebooks
from grader.worker import limits
from vqa.course import EXERCISES

_DEFAULTS = inspect.signature(Grader).parameters


def write_outputs(result: GradeResult, *, json_path=None, gradescope_path=None, junit_path=None) -> None:
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


def watch(grader: Grader, path, exercises, *, verbose=False, interval: float = 1.0, **writers) -> int:
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
        raise UsageError(f"{path}: not a folder or a notebook (pass a folder holding dataset.py, lora.py, "
                         "train.py, predict.py, or the lab's .ipynb)")
    resolve_submission(path)


@click.command(cls=BundleAwareCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("path", required=False, type=click.Path(path_type=str))
@batch_cli.batch_dir_option
@batch_cli.batch_options
@click.option("--exercise", "-e", "exercises", multiple=True, type=click.Choice(EXERCISES),
              help="Grade only this exercise (repeatable).")
@click.option("--lang", type=click.Choice(messages.LANGS), default=_DEFAULTS["lang"].default, show_default=True,
              help="Language of titles, hints and messages.")
@click.option("-v", "--verbose", is_flag=True, help="Show every check's detail.")
@click.option("--watch", "watch_mode", is_flag=True, help="Grade again whenever a file in PATH is saved.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default=_DEFAULTS["device"].default, show_default=True,
              help="Also run the train and predict checks on CUDA when it is there (worth no points: "
                   "the score is the cpu's).")
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "none"]), default=_DEFAULTS["sandbox"].default,
              show_default=True,
              help="Run the worker under bubblewrap (no network, read-only system).")
@click.option("--timeout", type=click.FloatRange(min=limits.MIN_CALL_TIMEOUT), default=_DEFAULTS["timeout"].default,
              show_default=True,
              help="Seconds allowed per probe call.")
@click.option("--memory-mb", type=click.IntRange(min=limits.MIN_MEMORY_MB), default=_DEFAULTS["memory_mb"].default,
              show_default=True,
              help="Memory a worker may use on top of the imported libraries (MiB).")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Where the reference's results are cached (default: the user cache folder).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the result as JSON.")
@click.option("--gradescope", "gradescope_path", type=click.Path(dir_okay=False),
              help="Write Gradescope's results.json.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), help="Write JUnit XML.")
def main(path, batch_dir, exercises, lang, verbose, watch_mode, device, sandbox, timeout, memory_mb, cache_dir,
         json_path, gradescope_path, junit_path, **batch_params):
    """Grade the submission folder PATH (solutions/, exercises/, or any folder with the four modules),
    or the lab notebook PATH (lab.ipynb: its %%writefile cells are the four modules; nothing in it runs).

    Exit code: 0 when every check passes, 1 when some fail, 2 for a usage error, 3 when the grader
    itself cannot run (no worker, a failing reference).

    \b
    Instructors: grade --batch DIR grades a whole class (see the batch options below);
    grade bundle gradescope OUT.zip | grade bundle github-classroom DIR write autograders for those platforms.
    """
    if batch_dir:
        sys.exit(batch_cli.run_from_params(click.get_current_context().params))
    if path is None:
        raise click.UsageError("give a submission folder PATH, or --batch DIR")
    writers = dict(json_path=json_path, gradescope_path=gradescope_path, junit_path=junit_path)
    from grader.notebook.reading import NotebookError, read_notebook

    try:
        check_path(path)
        grader = Grader(lang=lang, device=device, sandbox=sandbox, timeout=timeout, memory_mb=memory_mb,
                        cache_dir=cache_dir)
    except UsageError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    notebook = notebooks.notebook_of(path)
    if notebook is not None:
        try:  # a notebook that cannot be read stops here, before the grader starts
            read_notebook(notebook, display_path(notebook))
        except NotebookError as exc:
            click.echo(f"Error: {exc.text(lang)}", err=True)
            sys.exit(2)
    from grader.worker.handle import WorkerStartError
    from grader.judge.reference import ReferenceFailure

    try:
        with grader:
            if watch_mode:
                code = watch(grader, path, list(exercises) or None, verbose=verbose, **writers)
            else:
                code = grade_once(grader, path, list(exercises) or None, verbose=verbose, **writers)
    except UsageError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except NotebookError as exc:  # changed between the first read and grading
        click.echo(f"Error: {exc.text(lang)}", err=True)
        sys.exit(2)
    except (WorkerStartError, ReferenceFailure) as exc:  # the grader's environment, not the submission
        click.echo(f"Error: the grader could not run: {exc}", err=True)
        sys.exit(3)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
