"""The learner's view: per exercise, each check with ✔/✘ and points; for a failure what was expected,
what was got, and the hint; then one score line, ``Points X/Y`` (GitHub Classroom's form)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from catalog import DEFAULT_LANG
from grader.judge import messages
from grader.judge.results import GradeResult, fmt_points


def points_line(result: GradeResult, lang: str = DEFAULT_LANG) -> str:
    """The one score line, last: ``Points X/Y`` (GitHub Classroom's form), ``Điểm X/Y`` in Vietnamese."""
    return f"{messages.message('points', lang)} {fmt_points(result.score)}/{fmt_points(result.max_score)}"


def render(result: GradeResult, console: Console | None = None, *, verbose: bool = False) -> None:
    console = console or Console(highlight=False, soft_wrap=True)
    lang = result.lang
    for note in result.notes:
        console.print(
            f"[yellow]{escape(messages.message('sandbox_fallback', lang))}: {escape(note)}[/]"
        )
    for name, ex in result.exercises.items():
        pts = f"{fmt_points(ex.score)}/{fmt_points(ex.max_score)}"
        if ex.status != "graded":
            console.print(f"[bold red]✘ {name}[/] [dim]{pts}[/]  {escape(ex.summary)}")
            continue
        colour = "green" if ex.score == ex.max_score else "red"
        roots = [c for c in ex.checks if not c.passed and not c.skipped and not c.caused_by]
        lead = (
            f"  [yellow]{escape(messages.message('start_with', lang))}: ✘ {escape(roots[0].title)}[/]"
            if roots
            else ""
        )
        console.print(f"[bold {colour}]{name}[/] [dim]{pts}[/]{lead}")
        for check in ex.checks:
            if check.grader_error:
                console.print(f"  [yellow]⚠ {escape(check.title)}[/]")
                console.print(f"      [yellow]{escape(check.message)}[/]")
                continue
            if check.skipped:
                console.print(
                    f"  [dim]– {escape(check.title)} ({escape(messages.message('skipped', lang))}: "
                    f"{escape(check.message)})[/]"
                )
                continue
            mark = "[green]✔[/]" if check.passed else "[red]✘[/]"
            console.print(
                f"  {mark} {escape(check.title)} [dim]({fmt_points(check.score)}/{fmt_points(check.max_score)})[/]"
            )
            if not check.passed or verbose:
                if check.message:
                    console.print(f"      {escape(check.message)}")
                if check.hint and not check.passed and check.caused_by:
                    console.print(f"      [yellow]↳ {escape(check.hint)}[/]")
                elif check.hint and not check.passed:
                    console.print(
                        f"      [cyan]{escape(messages.message('hint', lang))}:[/] {escape(check.hint)}"
                    )
                if check.output and (verbose or not check.passed):
                    tail = check.output.strip().splitlines()[-5:]
                    console.print(f"      [dim]{escape(messages.message('output', lang))}:[/]")
                    for line in tail:
                        console.print(f"        [dim]{escape(line[:200])}[/]")
    if verbose and result.flags:
        console.print(f"[dim]flags: {', '.join(result.flags)}[/]")
    console.print(points_line(result, lang), style="bold", markup=False)
