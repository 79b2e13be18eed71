"""``check()`` in a learner's notebook: grade the modules the ``%%writefile`` cells wrote and show the result
under the cell.

The grader runs in processes of its own, never in the kernel: this kernel's warm grading service
(:mod:`grader.service`), which the first ``check()`` starts and later ones reuse, so that a repeated check
pays for the learner's code only; or, where no service answers, ``python -m grader.cli … --json`` run for this
check alone. Either way the learner's code runs in the grader's worker as it does for ``grade``, and
importing this module brings in neither torch nor the judge. The result comes back as a :class:`CheckReport`,
shown as an HTML table where a notebook displays HTML (Jupyter, Colab) and as the ``grade`` command's text
elsewhere (``print``, a terminal).
"""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jinja2

from grader.judge import messages
from grader.judge.results import CheckResult, GradeResult, fmt_points
from vqa.course import EXERCISES, FILES, ROOT

LANG_ENV = "GRADER_LANG"  # the language check() speaks when not told (en, vi)
TEMPLATES = Path(__file__).resolve().parent / "templates"
EXIT_USAGE, EXIT_GRADER = 2, 3


@dataclass
class CheckReport:
    """What one ``check()`` found: the grade (``result``) or why the grader could not run (``error``)."""

    result: GradeResult | None
    lang: str = messages.DEFAULT_LANG
    error: str = ""
    exercise: str | None = None
    usage: bool = False  # the error is about what was passed (no such folder, a broken notebook), said as it is

    @property
    def score(self) -> float:
        return self.result.score if self.result else 0.0

    @property
    def max_score(self) -> float:
        return self.result.max_score if self.result else 0.0

    @property
    def passed(self) -> bool:
        return bool(self.result and self.result.passed)

    @property
    def checks(self) -> list[CheckResult]:
        """Every check, in the order graded."""
        return list(self.result.checks()) if self.result else []

    def check(self, name: str) -> CheckResult:
        """The check called ``name`` (``dataset.item_shapes``)."""
        return next(c for c in self.checks if c.name == name)

    # -- how a notebook, print() and a terminal show it
    def _repr_html_(self) -> str:
        return render_html(self)

    def __str__(self) -> str:
        return render_text(self)

    __repr__ = __str__

    def _ipython_display_(self) -> None:
        """Show the HTML (with the text for frontends without HTML), once per cell: ``check()`` shows it itself,
        and the same object as the cell's value is not shown a second time."""
        from IPython import get_ipython
        from IPython.display import display

        shell = get_ipython()
        count = getattr(shell, "execution_count", None)
        if count is not None and getattr(self, "_shown_in", None) == count:
            return
        self._shown_in = count
        display({"text/html": self._repr_html_(), "text/plain": str(self)}, raw=True)


# --------------------------------------------------------------------------- rendering


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["points"] = fmt_points
    return env


def _exercise_rows(result: GradeResult, lang: str) -> list[dict]:
    rows = []
    for name, ex in result.exercises.items():
        roots = [c for c in ex.checks if not c.passed and not c.skipped and not c.caused_by]
        if ex.status != "graded":
            status = ex.summary
        elif roots:
            status = f"{messages.message('start_with', lang)}: ✘ {roots[0].title}"
        else:
            status = messages.message("notebook.all_passed", lang)
        rows.append(
            {
                "name": name,
                "score": ex.score,
                "max_score": ex.max_score,
                "status": status,
                "graded": ex.status == "graded",
                "ok": ex.score == ex.max_score and ex.status == "graded",
                "checks": ex.checks,
            }
        )
    return rows


def render_html(report: CheckReport) -> str:
    """The report as one self-contained HTML fragment (its own style, readable on light and dark themes)."""
    lang = report.lang
    t = {key: messages.message(key, lang) for key in ("hint", "skipped", "points", "start_with")}
    t.update(
        {
            key: messages.message(f"notebook.{key}", lang)
            for key in ("col_check", "col_points", "col_found")
        }
    )
    context = {
        "lang": lang,
        "t": t,
        "error": _error_text(report),
        "exercises": [],
        "notes": [],
        "score": report.score,
        "max_score": report.max_score,
    }
    if report.result is not None:
        context.update(
            exercises=_exercise_rows(report.result, lang), notes=list(report.result.notes)
        )
    return _environment().get_template("check.html.j2").render(**context)


def _error_text(report: CheckReport) -> str:
    if not report.error:
        return ""
    return (
        report.error
        if report.usage
        else messages.message("notebook.grader_failed", report.lang, error=report.error)
    )


def render_text(report: CheckReport) -> str:
    """The report as ``grade`` prints it (no colours): for ``print()`` and frontends without HTML."""
    if report.result is None:
        return _error_text(report)
    from rich.console import Console

    from grader.reports.writers.terminal import render

    buffer = io.StringIO()
    render(
        report.result,
        Console(
            file=buffer,
            color_system=None,
            width=120,
            soft_wrap=True,
            highlight=False,
            force_jupyter=False,
        ),  # into the buffer, also inside a kernel
        verbose=False,
    )
    return buffer.getvalue().rstrip("\n")


# --------------------------------------------------------------------------- running the grader


def _grade(folder: str, exercise: str | None, lang: str, timeout: float | None) -> CheckReport:
    """Grade through this kernel's service (started by the first check), or in a process of its own where no
    service answers (or ``$GRADER_NO_SERVICE`` is set)."""
    from grader.service import client

    report = None if client.disabled() else _grade_served(folder, exercise, lang, timeout)
    return report if report is not None else _grade_process(folder, exercise, lang, timeout)


def _grade_served(
    folder: str, exercise: str | None, lang: str, timeout: float | None
) -> CheckReport | None:
    """Grade in this kernel's warm service; None when no service answered."""
    from grader.service import client, protocol
    from grader.service.owner import kernel_owner

    try:
        reply = client.grade(
            folder,
            [exercise] if exercise else None,
            lang=lang,
            settings=client.settings(),
            owner=kernel_owner(),
            timeout=timeout,
        )
    except TimeoutError:
        return CheckReport(None, lang, f"grading took longer than {timeout:g} s", exercise)
    if reply is None:
        return None
    if reply.status in (
        protocol.USAGE,
        protocol.NOTEBOOK,
        protocol.GRADER,
    ):  # the grader's own one-line message
        return CheckReport(
            None, lang, reply.message, exercise, usage=reply.status != protocol.GRADER
        )
    if (
        reply.status == protocol.FAULT
    ):  # the grader's own bug: said as `grade` says it, with the log to send
        error = messages.message("grader_error_exit", lang, error=reply.message, log=reply.log)
        return CheckReport(None, lang, error, exercise)
    assert reply.result is not None  # an ok reply carries the result (protocol.decode checks it)
    return CheckReport(not_written(GradeResult.from_dict(reply.result), folder), lang, "", exercise)


def _grade_process(
    folder: str, exercise: str | None, lang: str, timeout: float | None
) -> CheckReport:
    """Run ``grade FOLDER --json --no-service`` in its own process and read its result."""
    env = dict(os.environ)
    root = str(ROOT)  # the grader's own package, wherever the kernel runs
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with tempfile.TemporaryDirectory(prefix="grader-check-") as tmp:
        out = Path(tmp) / "result.json"
        command = [
            sys.executable,
            "-m",
            "grader.cli",
            str(folder),
            "--json",
            str(out),
            "--lang",
            lang,
            "--no-service",
        ]
        if exercise:
            command += ["-e", exercise]
        try:
            proc = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return CheckReport(None, lang, f"grading took longer than {timeout:g} s", exercise)
        # 3 with a result: the grader could not judge some check (those checks say so, with the log to send)
        if proc.returncode in (0, 1, EXIT_GRADER) and out.is_file():
            try:
                result = GradeResult.from_dict(json.loads(out.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                return CheckReport(None, lang, f"the result could not be read ({exc})", exercise)
            return CheckReport(not_written(result, folder), lang, "", exercise)
    text = (
        proc.stderr.strip() or proc.stdout.strip() or f"exit code {proc.returncode}"
    ).splitlines()
    lines = [line for line in text if line.strip()]
    if proc.returncode in (EXIT_USAGE, EXIT_GRADER):  # the grader's own one-line message
        error = (
            "\n".join(lines[-3:]).removeprefix("Error: ").removeprefix("the grader could not run: ")
        )
    else:
        error = "\n".join(lines[-12:])
    return CheckReport(None, lang, error, exercise, usage=proc.returncode == EXIT_USAGE)


def not_written(result: GradeResult, folder: str | os.PathLike) -> GradeResult:
    """Say "run its %%writefile cell" for an exercise whose module is not in the kernel's folder yet (the
    learner has not run that cell), instead of the grader's "cannot be loaded: …: missing"."""
    from grader.notebook.submission import notebook_in

    folder = Path(folder)
    if (
        not folder.is_dir() or notebook_in(folder) is not None
    ):  # a notebook graded: its own messages say it
        return result
    for name, ex in result.exercises.items():
        file = FILES.get(name)
        if file and ex.status == "load_error" and not (folder / file).exists():
            ex.summary = messages.message(
                "notebook.not_written", result.lang, file=file, exercise=name
            )
            for check_result in ex.checks:
                if not check_result.skipped:
                    check_result.message = ex.summary
    return result


def _show(report: CheckReport) -> None:
    """Show ``report`` under the running cell, or print it outside IPython."""
    shell = None
    if "IPython" in sys.modules:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:
        print(report)
        return
    from IPython.display import display

    display(report)


def check(
    exercise: str | None = None,
    folder: str | os.PathLike = ".",
    lang: str | None = None,
    *,
    timeout: float | None = None,
    show: bool = True,
) -> CheckReport:
    """Grade the ``%%writefile`` modules in ``folder`` (one exercise, or all four) and show the result.

    ``lang``: "en" or "vi" (default: ``$GRADER_LANG``, else English). ``folder`` may also be a ``.ipynb``.
    Returns the :class:`CheckReport` (``score``, ``max_score``, ``checks``); the learner's code runs in the
    grader's own process, not in this kernel."""
    lang = lang or os.environ.get(LANG_ENV) or messages.DEFAULT_LANG
    if lang not in messages.LANGS:
        raise ValueError(f"lang={lang!r}: choose one of {', '.join(messages.LANGS)}")
    if exercise is not None and exercise not in EXERCISES:
        raise ValueError(
            f"check({exercise!r}): no such exercise; choose one of {', '.join(EXERCISES)} "
            "(or check() for all four)"
        )
    report = _grade(str(folder), exercise, lang, timeout)
    if show:
        _show(report)
    return report
