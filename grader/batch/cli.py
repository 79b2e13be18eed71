"""``grade --batch DIR``: the instructor's command family for a whole class.

The plain function :func:`run_batch_command` does the work and its signature gives every option's
default; the click objects here only parse options, so the main ``grade`` command can reuse them:

* :data:`batch_command` — a standalone command (``python -m grader.batch.cli DIR --out OUT``);
* :func:`batch_options` — a decorator adding the batch-only options to another command.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import click

from grader import batch as batch_mod
from grader.batch.cluster import engine_for
from grader.reports import class_report as report_mod
from grader.reports import similarity as sim
from grader.judge import messages
from grader.worker import limits
from vqa.course import EXERCISES

EXIT_OK, EXIT_START_FAILED, EXIT_INTERRUPTED = 0, 3, 130  # 3: as grade, when the grader itself cannot run


def _console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def run_batch_command(batch_dir: str | Path, out: str | Path | None = None, *, jobs: int = 0,
                      timeout: float = limits.CALL_TIMEOUT, memory_mb: int = limits.MEMORY_MB,
                      submission_timeout: float = limits.SUBMISSION_TIMEOUT, sandbox: str = "auto",
                      device: str = "cpu", lang: str = "en", exercises: tuple[str, ...] | None = None,
                      cache_dir: str | None = None, force: bool = False, retry_failed: bool = False,
                      quiz: str | Path | None = None,
                      lms: str | None = None, lms_item: str = "VQA lab", similarity: bool = True,
                      similarity_threshold: float = sim.DEFAULT_THRESHOLD,
                      similarity_common_share: float = sim.DEFAULT_COMMON_SHARE, similar_pairs: int = sim.DEFAULT_TOP,
                      progress: bool | None = None, cluster: str | None = None, cluster_tls_ca: str | None = None,
                      cluster_tls_cert: str | None = None, cluster_tls_key: str | None = None) -> int:
    """Grade ``batch_dir`` into ``out`` (default ``<batch_dir>-graded``), write the class files, print a summary.

    ``cluster``: grade on a Dask cluster (``tcp://HOST:PORT``, ``tls://HOST:PORT`` with the ``cluster_tls_*``
    files or Dask's TLS configuration, or ``local:N``) instead of this machine's ``jobs`` slots.
    Returns the exit code: 0 when the batch ran (failed submissions are listed, not fatal), 2 for a
    missing folder or a bad ``cluster``, 3 when grading could not start or stopped part-way (a worker with
    another grader, the Dask scheduler lost: what was finished is on disk), 130 after Ctrl-C (finished
    results and the class files are on disk).
    """
    console = _console()
    batch_dir = Path(batch_dir)
    out = Path(out) if out else batch_dir.with_name(batch_dir.name + "-graded")
    options = batch_mod.BatchOptions(
        jobs=jobs, timeout=timeout, memory_mb=memory_mb, submission_timeout=submission_timeout, sandbox=sandbox,
        device=device, lang=lang, exercises=tuple(exercises) if exercises else None, cache_dir=cache_dir, force=force,
        retry_failed=retry_failed)
    if progress is None:
        progress = sys.stderr.isatty()
    try:
        engine = engine_for(cluster, options, tls_ca=cluster_tls_ca, tls_cert=cluster_tls_cert, tls_key=cluster_tls_key)
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    try:
        summary = batch_mod.run_batch(batch_dir, out, options, progress=progress, engine=engine)
    except FileNotFoundError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    except batch_mod.SlotStartError as exc:
        console.print(f"[red]error:[/] {exc}")
        return EXIT_START_FAILED
    except batch_mod.GradingStopped as exc:
        console.print(f"[red]error:[/] {exc}; what was graded is written to {out}/: run the same command again to "
                      "grade the rest (finished submissions are kept)")
        return EXIT_START_FAILED
    if summary.interrupted:
        console.print("[yellow]interrupted:[/] finished results are on disk; run the same command again to "
                      "grade the rest (unchanged submissions are skipped).")
    records = summary.records
    class_summary = write_class_files(records, out, quiz=quiz, lms=lms, lms_item=lms_item, similarity=similarity,
                                      threshold=similarity_threshold, common_share=similarity_common_share,
                                      top=similar_pairs)
    print_summary(summary, out, console, class_summary)
    return EXIT_INTERRUPTED if summary.interrupted else EXIT_OK


def write_class_files(records: list, out: Path, *, quiz=None, lms=None, lms_item="VQA lab", similarity=True,
                      threshold=sim.DEFAULT_THRESHOLD, common_share=sim.DEFAULT_COMMON_SHARE,
                      top=sim.DEFAULT_TOP) -> report_mod.ClassSummary:
    """Similarity, quiz and the class outputs (grades.csv, similar-pairs.csv, report.html/json, LMS CSV)."""
    similar, note = None, None
    if similarity:
        folders = {r.student: r.folder for r in records if r.folder and Path(r.folder).is_dir()}
        similar = sim.find_similar(folders, threshold=threshold, common_share=common_share, top=top)
    else:
        note = "similarity check turned off (--no-similarity)"
    quiz_data = None
    if quiz:
        from quiz.grading import grade_attempts

        quiz_data = grade_attempts([quiz]).to_dict()
    return report_mod.write_class_outputs(records, out, similar=similar, similarity_note=note, quiz=quiz_data,
                                          lms=lms, lms_item=lms_item)


def print_summary(summary: batch_mod.BatchSummary, out: Path, console=None,
                  class_summary: report_mod.ClassSummary | None = None) -> None:
    """The end of the run: counts, the submissions that need a look (with reasons), where the files are."""
    from rich.markup import escape

    console = console or _console()
    console.print(f"[bold]{len(summary.records)}[/] submissions: {len(summary.graded)} graded now, "
                  f"{len(summary.reused)} unchanged (kept), {len(summary.failed)} not graded "
                  f"({summary.seconds:.1f} s{', ' + escape(summary.where) if summary.where else ''})")
    for note in summary.notes:
        console.print(f"  [dim]note:[/] {note}", markup=True)
    problems = summary.problems()
    if class_summary is not None:  # similarity is known only once the class files are written
        flagged = dict(problems)
        for row in class_summary.students:
            if row.similar_to:
                similar = f"similar to {', '.join(sorted(row.similar_to))}"
                flagged[row.student] = f"{flagged[row.student]}; {similar}" if row.student in flagged else similar
        problems = sorted(flagged.items())
    if problems:
        console.print(f"[yellow]{len(problems)} need a look:[/]")
        for student, reason in problems:
            first = reason.splitlines()[0] if reason else ""
            console.print(f"  {first}" if first.startswith(student) else f"  {student}: {first}", markup=False,
                          soft_wrap=True)
    written = ", ".join(name for name in ("grades.csv", "report.html", "similar-pairs.csv")
                        if (Path(out) / name).exists()) or "nothing yet"
    console.print(f"results in {out}/: {written}, students/, feedback/, gradescope/", markup=False,
                  soft_wrap=True)


_DEFAULTS = inspect.signature(run_batch_command).parameters


def run_from_params(params: dict) -> int:
    """:func:`run_batch_command` from a click command's ``ctx.params`` (the ``grade`` command's names)."""
    names = ("jobs", "timeout", "memory_mb", "submission_timeout", "sandbox", "device", "lang", "cache_dir", "force",
             "retry_failed", "quiz", "lms", "lms_item", "similarity_threshold", "similarity_common_share",
             "similar_pairs", "progress", "cluster", "cluster_tls_ca", "cluster_tls_cert", "cluster_tls_key")
    kwargs = {k: params[k] for k in names if params.get(k) is not None}
    return run_batch_command(params["batch_dir"], params.get("out"), exercises=tuple(params.get("exercises") or ()),
                             similarity=not params.get("no_similarity", False), **kwargs)


batch_dir_option = click.option(
    "--batch", "batch_dir", type=click.Path(exists=True, file_okay=False), default=None,
    help="Grade every submission in this folder (a subfolder or a .zip per student; the name is the student id).")


def batch_options(fn):
    """Add the options only a batch needs (``--out``, ``--jobs``, ``--submission-timeout``, ``--force``,
    ``--retry-failed``, ``--quiz``, ``--lms``, ``--lms-item``, ``--similarity-threshold``,
    ``--similarity-common-share``, ``--similar-pairs``, ``--no-similarity``,
    ``--progress/--no-progress``, ``--cluster``, ``--cluster-tls-ca/-cert/-key``) to a click command."""
    decorators = [
        click.option("--out", "out", type=click.Path(file_okay=False), default=None,
                     help="Where results go (default: <DIR>-graded)."),
        click.option("--jobs", "-j", type=click.IntRange(min=0), default=_DEFAULTS["jobs"].default, show_default=True,
                     help="Submissions graded at once (0: the number of cores; with --cluster, the workers decide)."),
        click.option("--submission-timeout", type=click.FloatRange(min=1), default=_DEFAULTS["submission_timeout"].default,
                     show_default=True,
                     help="Seconds one whole submission may take before it is recorded as failed."),
        click.option("--force", is_flag=True, help="Grade again even submissions that have not changed."),
        click.option("--retry-failed", is_flag=True,
                     help="Grade again unchanged submissions recorded as failed (a timeout under load, say)."),
        click.option("--quiz", "quiz", type=click.Path(exists=True), default=None,
                     help="A folder of quiz attempt files to add quiz scores and item statistics."),
        click.option("--lms", type=click.Choice(report_mod.LMS_FORMATS), default=None,
                     help="Also write a gradebook import CSV for this LMS."),
        click.option("--lms-item", default=_DEFAULTS["lms_item"].default, show_default=True, help="The grade item's name in the LMS."),
        click.option("--similarity-threshold", type=click.FloatRange(0, 1),
                     default=_DEFAULTS["similarity_threshold"].default, show_default=True,
                     help="Flag pairs sharing at least this share of their distinctive code."),
        click.option("--similarity-common-share", type=click.FloatRange(0, 1),
                     default=_DEFAULTS["similarity_common_share"].default, show_default=True,
                     help="Passages in more than this share of the class are common knowledge, not evidence "
                          f"(and always those in more than {sim.COMMON_MIN} submissions of a large class)."),
        click.option("--similar-pairs", type=click.IntRange(min=0), default=_DEFAULTS["similar_pairs"].default,
                     show_default=True, help="Most similar pairs shown side by side in report.html "
                                             "(every pair is in similar-pairs.csv)."),
        click.option("--no-similarity", is_flag=True, help="Skip the similarity check."),
        click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal)."),
        click.option("--cluster", default=None, metavar="ADDRESS",
                     help="Grade on a Dask cluster instead of --jobs slots here: a running scheduler "
                          "(tcp://HOST:8786, tls://HOST:8786) or local:N (N worker processes on this machine)."),
        click.option("--cluster-tls-ca", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="With a tls:// --cluster: the certificate authority's file (else Dask's TLS configuration)."),
        click.option("--cluster-tls-cert", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="With a tls:// --cluster: this client's certificate."),
        click.option("--cluster-tls-key", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="With a tls:// --cluster: this client's private key."),
    ]
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


@click.command("batch", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("batch_dir", type=click.Path(exists=True, file_okay=False))
@batch_options
@click.option("--timeout", type=click.FloatRange(min=limits.MIN_CALL_TIMEOUT), default=_DEFAULTS["timeout"].default,
              show_default=True, help="Seconds per probe call (as grade --timeout).")
@click.option("--memory-mb", type=click.IntRange(min=limits.MIN_MEMORY_MB), default=_DEFAULTS["memory_mb"].default,
              show_default=True,
              help="Memory a worker may use on top of the imported libraries, MiB (as grade --memory-mb).")
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "none"]), default=_DEFAULTS["sandbox"].default,
              show_default=True)
@click.option("--device", default=_DEFAULTS["device"].default, show_default=True)
@click.option("--lang", type=click.Choice(messages.LANGS), default=_DEFAULTS["lang"].default, show_default=True)
@click.option("--exercise", "exercises", multiple=True, type=click.Choice(EXERCISES),
              help="Grade only these exercises (repeatable).")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Where the reference's results are cached.")
def batch_command(batch_dir, out, jobs, submission_timeout, force, retry_failed, quiz, lms, lms_item,
                  similarity_threshold, similarity_common_share, similar_pairs, no_similarity, progress, cluster,
                  cluster_tls_ca, cluster_tls_cert, cluster_tls_key, timeout, memory_mb, sandbox, device, lang,
                  exercises, cache_dir):
    """Grade every submission in BATCH_DIR (a subfolder or a .zip per student) in parallel."""
    code = run_batch_command(batch_dir, out, jobs=jobs, timeout=timeout, memory_mb=memory_mb,
                             submission_timeout=submission_timeout, sandbox=sandbox, device=device, lang=lang,
                             exercises=exercises or None, cache_dir=cache_dir, force=force,
                             retry_failed=retry_failed, quiz=quiz, lms=lms,
                             lms_item=lms_item, similarity=not no_similarity, similarity_threshold=similarity_threshold,
                             similarity_common_share=similarity_common_share, similar_pairs=similar_pairs,
                             progress=progress, cluster=cluster, cluster_tls_ca=cluster_tls_ca,
                             cluster_tls_cert=cluster_tls_cert, cluster_tls_key=cluster_tls_key)
    sys.exit(code)


if __name__ == "__main__":
    batch_command()
