"""``grader batch DIR`` and ``grader report OUT``: the instructor's commands for a whole class.

Plain functions do the work, and their signatures give every option's default:
:func:`run_batch_command` grades a class and writes its class files; :func:`run_report_command` writes the
class files again from the records already in OUT, grading nothing; :func:`write_class_files` writes them.
The click layer only parses: :func:`batch_options` declares the options of a batch run, and
:func:`class_files_options` those of the class files (both commands); the grading options are the learner's
own (:mod:`grader.options`). :mod:`grader.instructor` gathers the commands in one group.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from grader import batch as batch_mod
from grader.batch.cluster import ClusterAddressError, engine_for
from grader.options import grading_options
from grader.reports import class_report as report_mod
from grader.reports import similarity as sim
from grader.worker import limits

F = TypeVar("F", bound=Callable)
EXIT_OK, EXIT_START_FAILED, EXIT_INTERRUPTED = (
    0,
    3,
    130,
)  # 3: as grade, when the grader itself cannot run


class NoRecordsError(LookupError):
    """A folder holds no batch records (``students/*.json``) to write class files from."""


def _console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


# --------------------------------------------------------------------------- plain functions


def run_batch_command(
    batch_dir: str | Path,
    out: str | Path | None = None,
    *,
    jobs: int = 0,
    timeout: float = limits.CALL_TIMEOUT,
    memory_mb: int = limits.MEMORY_MB,
    submission_timeout: float = limits.SUBMISSION_TIMEOUT,
    sandbox: str = "auto",
    device: str = "cpu",
    lang: str = "en",
    exercises: tuple[str, ...] | None = None,
    cache_dir: str | None = None,
    force: bool = False,
    retry_failed: bool = False,
    progress: bool | None = None,
    cluster: str | None = None,
    cluster_tls_ca: str | None = None,
    cluster_tls_cert: str | None = None,
    cluster_tls_key: str | None = None,
    **class_files: Any,
) -> int:
    """Grade ``batch_dir`` into ``out`` (default ``<batch_dir>-graded``), write the class files
    (``class_files``: the keywords of :func:`write_class_files`), print a summary.

    ``cluster``: grade on a Dask cluster (``tcp://HOST:PORT``, ``tls://HOST:PORT`` with the ``cluster_tls_*``
    files or Dask's TLS configuration, or ``local:N``) instead of this machine's ``jobs`` slots.
    Returns the exit code: 0 when the batch ran (failed submissions are listed, not fatal), 3 when grading
    could not start or stopped part-way (a worker with another grader, the Dask scheduler lost: what was
    finished is on disk), 130 after Ctrl-C (finished results and the class files are on disk). Raises
    FileNotFoundError when ``batch_dir`` is not a folder, :class:`ClusterAddressError` for a ``cluster`` (or
    ``cluster_tls_*``) that cannot work.
    """
    console = _console()
    batch_dir = Path(batch_dir)
    out = Path(out) if out else batch_dir.with_name(batch_dir.name + "-graded")
    options = batch_mod.BatchOptions(
        jobs=jobs,
        timeout=timeout,
        memory_mb=memory_mb,
        submission_timeout=submission_timeout,
        sandbox=sandbox,
        device=device,
        lang=lang,
        exercises=tuple(exercises) if exercises else None,
        cache_dir=cache_dir,
        force=force,
        retry_failed=retry_failed,
    )
    engine = engine_for(
        cluster, options, tls_ca=cluster_tls_ca, tls_cert=cluster_tls_cert, tls_key=cluster_tls_key
    )
    if progress is None:
        progress = sys.stderr.isatty()
    try:
        summary = batch_mod.run_batch(batch_dir, out, options, progress=progress, engine=engine)
    except batch_mod.SlotStartError as exc:
        console.print(f"[red]error:[/] {exc}")
        return EXIT_START_FAILED
    except batch_mod.GradingStopped as exc:
        console.print(
            f"[red]error:[/] {exc}; what was graded is written to {out}/: run the same command again to "
            "grade the rest (finished submissions are kept)"
        )
        return EXIT_START_FAILED
    if summary.interrupted:
        console.print(
            "[yellow]interrupted:[/] finished results are on disk; run the same command again to "
            "grade the rest (unchanged submissions are skipped)."
        )
    class_summary = write_class_files(summary.records, out, **class_files)
    print_summary(summary, out, console, class_summary)
    return EXIT_INTERRUPTED if summary.interrupted else EXIT_OK


def run_report_command(out: str | Path, **class_files: Any) -> int:
    """Write the class files of ``out`` again from the records a batch left there, grading nothing: for
    another similarity threshold, quiz attempts or an LMS export added later (``class_files``: the keywords
    of :func:`write_class_files`). Returns 0; raises :class:`NoRecordsError` when ``out`` holds no records."""
    out = Path(out)
    records = batch_mod.load_records(out)
    if not records:
        raise NoRecordsError(
            f"{out}: no batch records in {out / 'students'} (grade the class first: "
            f"grader batch DIR --out {out})"
        )
    console = _console()
    console.print(
        f"[bold]{len(records)}[/] records in {out / 'students'}: class files written again, "
        "nothing graded"
    )
    gone = [r.student for r in records if r.folder and not Path(r.folder).is_dir()]
    if gone and class_files.get("similarity", True):
        console.print(
            f"  [dim]note:[/] the code of {len(gone)} submissions is no longer where it was graded; "
            "similarity leaves them out",
            markup=True,
        )
    class_summary = write_class_files(records, out, **class_files)
    print_problems(
        needs_a_look(batch_mod.BatchSummary(records=records).problems(), class_summary), console
    )
    print_written(out, console)
    return EXIT_OK


def write_class_files(
    records: list[batch_mod.Record],
    out: Path,
    *,
    quiz: str | Path | None = None,
    lms: str | None = None,
    lms_item: str = "VQA lab",
    similarity: bool = True,
    similarity_threshold: float = sim.DEFAULT_THRESHOLD,
    similarity_common_share: float = sim.DEFAULT_COMMON_SHARE,
    similar_pairs: int = sim.DEFAULT_TOP,
) -> report_mod.ClassSummary:
    """Similarity, quiz and the class outputs (grades.csv, similar-pairs.csv, report.html/json, LMS CSV)."""
    similar, note = None, None
    if similarity:
        folders: dict[str, str | Path] = {
            r.student: r.folder for r in records if r.folder and Path(r.folder).is_dir()
        }
        similar = sim.find_similar(
            folders,
            threshold=similarity_threshold,
            common_share=similarity_common_share,
            top=similar_pairs,
        )
    else:
        note = "similarity check turned off (--no-similarity)"
    quiz_data = None
    if quiz:
        from quiz.grading import grade_attempts

        quiz_data = grade_attempts([quiz]).to_dict()
    return report_mod.write_class_outputs(
        records,
        out,
        similar=similar,
        similarity_note=note,
        quiz=quiz_data,
        lms=lms,
        lms_item=lms_item,
    )


def needs_a_look(
    problems: list[tuple[str, str]], class_summary: report_mod.ClassSummary
) -> list[tuple[str, str]]:
    """``problems`` (student, reason) with the similar code the class files found, by student id."""
    flagged = dict(problems)
    for row in class_summary.students:
        if row.similar_to:
            similar = f"similar to {', '.join(sorted(row.similar_to))}"
            flagged[row.student] = (
                f"{flagged[row.student]}; {similar}" if row.student in flagged else similar
            )
    return sorted(flagged.items())


def print_summary(
    summary: batch_mod.BatchSummary,
    out: Path,
    console=None,
    class_summary: report_mod.ClassSummary | None = None,
) -> None:
    """The end of the run: counts, the submissions that need a look (with reasons), where the files are."""
    from rich.markup import escape

    console = console or _console()
    console.print(
        f"[bold]{len(summary.records)}[/] submissions: {len(summary.graded)} graded now, "
        f"{len(summary.reused)} unchanged (kept), {len(summary.failed)} not graded "
        f"({summary.seconds:.1f} s{', ' + escape(summary.where) if summary.where else ''})"
    )
    for note in summary.notes:
        console.print(f"  [dim]note:[/] {note}", markup=True)
    problems = summary.problems()
    if class_summary is not None:  # similarity is known only once the class files are written
        problems = needs_a_look(problems, class_summary)
    print_problems(problems, console)
    print_written(out, console)


def print_problems(problems: list[tuple[str, str]], console) -> None:
    """The submissions that need a look, one line each: the student and the first line of the reason."""
    if not problems:
        return
    console.print(f"[yellow]{len(problems)} need a look:[/]")
    for student, reason in problems:
        first = reason.splitlines()[0] if reason else ""
        console.print(
            f"  {first}" if first.startswith(student) else f"  {student}: {first}",
            markup=False,
            soft_wrap=True,
        )


def print_written(out: str | Path, console) -> None:
    """Where the results are."""
    written = (
        ", ".join(
            name
            for name in ("grades.csv", "report.html", "similar-pairs.csv")
            if (Path(out) / name).exists()
        )
        or "nothing yet"
    )
    console.print(
        f"results in {out}/: {written}, students/, feedback/, gradescope/",
        markup=False,
        soft_wrap=True,
    )


# --------------------------------------------------------------------------- the click layer

_RUN = inspect.signature(run_batch_command).parameters
_CLASS_FILES = inspect.signature(write_class_files).parameters


def _apply(decorators: list[Callable[[F], F]], fn: F) -> F:
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


def batch_options(fn: F) -> F:
    """Add the options of a batch run (``--out``, ``--jobs``, ``--submission-timeout``, ``--force``,
    ``--retry-failed``, ``--progress/--no-progress``, ``--cluster``, ``--cluster-tls-ca/-cert/-key``) to a
    click command."""
    return _apply(
        [
            click.option(
                "--out",
                "out",
                type=click.Path(file_okay=False),
                default=_RUN["out"].default,
                help="Where results go (default: <DIR>-graded).",
            ),
            click.option(
                "--jobs",
                "-j",
                type=click.IntRange(min=0),
                default=_RUN["jobs"].default,
                show_default=True,
                help="Submissions graded at once (0: the number of cores; with --cluster, the workers decide).",
            ),
            click.option(
                "--submission-timeout",
                type=click.FloatRange(min=1),
                default=_RUN["submission_timeout"].default,
                show_default=True,
                help="Seconds one whole submission may take before it is recorded as failed.",
            ),
            click.option(
                "--force", is_flag=True, help="Grade again even submissions that have not changed."
            ),
            click.option(
                "--retry-failed",
                is_flag=True,
                help="Grade again unchanged submissions recorded as failed (a timeout under load, say).",
            ),
            click.option(
                "--progress/--no-progress",
                default=_RUN["progress"].default,
                help="Show a progress bar (default: on a terminal).",
            ),
            *cluster_options(),
        ],
        fn,
    )


def cluster_options() -> list[Callable[[F], F]]:
    """``--cluster`` and ``--cluster-tls-ca/-cert/-key``: grade on a Dask cluster (:mod:`grader.batch.cluster`)."""
    tls_file = click.Path(exists=True, dir_okay=False)
    return [
        click.option(
            "--cluster",
            default=_RUN["cluster"].default,
            metavar="ADDRESS",
            help="Grade on a Dask cluster instead of --jobs slots here: a running scheduler "
            "(tcp://HOST:8786, tls://HOST:8786) or local:N (N worker processes on this machine).",
        ),
        click.option(
            "--cluster-tls-ca",
            type=tls_file,
            default=_RUN["cluster_tls_ca"].default,
            help="With a tls:// --cluster: the certificate authority's file (else Dask's TLS configuration).",
        ),
        click.option(
            "--cluster-tls-cert",
            type=tls_file,
            default=_RUN["cluster_tls_cert"].default,
            help="With a tls:// --cluster: this client's certificate.",
        ),
        click.option(
            "--cluster-tls-key",
            type=tls_file,
            default=_RUN["cluster_tls_key"].default,
            help="With a tls:// --cluster: this client's private key.",
        ),
    ]


def class_files_options(fn: F) -> F:
    """Add the options of the class files (``--quiz``, ``--lms``, ``--lms-item``, ``--similarity/--no-similarity``,
    ``--similarity-threshold``, ``--similarity-common-share``, ``--similar-pairs``) to a click command."""
    return _apply(
        [
            click.option(
                "--quiz",
                "quiz",
                type=click.Path(exists=True),
                default=_CLASS_FILES["quiz"].default,
                help="A folder of quiz attempt files to add quiz scores and item statistics.",
            ),
            click.option(
                "--lms",
                type=click.Choice(report_mod.LMS_FORMATS),
                default=_CLASS_FILES["lms"].default,
                help="Also write a gradebook import CSV for this LMS.",
            ),
            click.option(
                "--lms-item",
                default=_CLASS_FILES["lms_item"].default,
                show_default=True,
                help="The grade item's name in the LMS.",
            ),
            click.option(
                "--similarity/--no-similarity",
                default=_CLASS_FILES["similarity"].default,
                show_default=True,
                help="Compare the submissions' code and flag similar ones.",
            ),
            click.option(
                "--similarity-threshold",
                type=click.FloatRange(0, 1),
                default=_CLASS_FILES["similarity_threshold"].default,
                show_default=True,
                help="Flag pairs sharing at least this share of their distinctive code.",
            ),
            click.option(
                "--similarity-common-share",
                type=click.FloatRange(0, 1),
                default=_CLASS_FILES["similarity_common_share"].default,
                show_default=True,
                help="Passages in more than this share of the class are common knowledge, not evidence "
                f"(and always those in more than {sim.COMMON_MIN} submissions of a large class).",
            ),
            click.option(
                "--similar-pairs",
                type=click.IntRange(min=0),
                default=_CLASS_FILES["similar_pairs"].default,
                show_default=True,
                help="Most similar pairs shown side by side in report.html "
                "(every pair is in similar-pairs.csv).",
            ),
        ],
        fn,
    )


@click.command(
    "batch",
    short_help="Grade a whole class and write its class files.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.argument("batch_dir", metavar="DIR", type=click.Path(exists=True, file_okay=False))
@batch_options
@grading_options
@class_files_options
def batch_command(batch_dir: str, **options: Any) -> None:
    """Grade every submission in DIR in parallel (a subfolder, a .zip or a .ipynb per student; the name is the
    student id), then write the class files: grades.csv, report.html/json, similar-pairs.csv, --lms.

    A re-run grades only new or changed submissions; --cluster grades on a Dask cluster. Exit code: 0 when
    the batch ran (submissions that could not be graded are listed at the end), 2 for a usage error, 3 when
    grading could not start or stopped part-way (finished results are kept), 130 after Ctrl-C (finished
    results are kept).
    """
    try:
        code = run_batch_command(batch_dir, **options)
    except ClusterAddressError as exc:
        raise click.UsageError(str(exc)) from None
    sys.exit(code)


@click.command(
    "report",
    short_help="Write a graded class's files again from its records, grading nothing.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.argument("out", metavar="OUT", type=click.Path(exists=True, file_okay=False))
@class_files_options
def report_command(out: str, **options: Any) -> None:
    """Write the class files of OUT again (grades.csv, report.html/json, similar-pairs.csv, --lms) from the
    records grader batch left in OUT/students, grading nothing: for another similarity setting, or
    quiz attempts and an LMS export added later."""
    try:
        code = run_report_command(out, **options)
    except NoRecordsError as exc:
        raise click.BadParameter(str(exc), param_hint="'OUT'") from None
    sys.exit(code)
