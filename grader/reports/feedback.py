"""Per-student pages: the same messages and hints the learner sees from ``grade``, as Markdown and
HTML files an instructor can upload or mail, plus a Gradescope-style ``results.json``.

Everything reads the plain result dict (``GradeResult.to_dict()``) inside a batch record, so a page
can be rebuilt from ``students/<id>.json`` alone.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from grader.judge import messages
from grader.judge.flags import describe as describe_flag
from grader.judge.results import GradeResult, fmt_points
from grader.reports.writers.gradescope import to_gradescope


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The jinja2 environment for ``grader/reports/templates`` (HTML autoescaped, Markdown not)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "html.j2"), default_for_string=False
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["points"] = fmt_points
    env.filters["flag"] = describe_flag
    env.filters["md_quote"] = lambda text: "\n".join("> " + line for line in str(text).splitlines())
    return env


def page_context(record, lang: str | None = None) -> dict:
    """What the feedback templates show, from a batch record (``Record`` or its dict)."""
    data = record if isinstance(record, dict) else record.to_dict()
    result = data.get("result") or {}
    exercises = []
    for name, ex in (result.get("exercises") or {}).items():
        exercises.append({"name": name, **ex, "checks": list(ex.get("checks") or [])})
    lang = lang or result.get("lang") or messages.DEFAULT_LANG
    return {
        "student": data["student"],
        "status": data["status"],
        "reason": data.get("reason"),
        "graded_at": data.get("graded_at", ""),
        "score": result.get("score", 0),
        "lang": lang,
        "max_score": result.get("max_score", 100),
        "exercises": exercises,
        "flags": list(result.get("flags") or []),
        "t": lambda key: messages.message(f"feedback.{key}", lang),
        "all_passed": bool(exercises)
        and all(c.get("passed") for e in exercises for c in e["checks"]),
    }


def render_markdown(record, lang: str | None = None) -> str:
    """The learner's feedback as Markdown."""
    return environment().get_template("feedback.md.j2").render(**page_context(record, lang))


def render_html(record, lang: str | None = None) -> str:
    """The learner's feedback as one self-contained HTML page."""
    return environment().get_template("feedback.html.j2").render(**page_context(record, lang))


def gradescope_results(record) -> dict:
    """Gradescope's ``results.json`` for one student (one test per check, all visible)."""
    data = record if isinstance(record, dict) else record.to_dict()
    result = data.get("result")
    if data.get("status") != "graded" or not result:
        return {
            "score": 0,
            "output": f"Not graded: {data.get('reason') or 'unknown reason'}",
            "visibility": "visible",
            "stdout_visibility": "visible",
            "tests": [],
        }
    return to_gradescope(GradeResult.from_dict(result))


def write_student_files(record, out_dir: str | Path, lang: str | None = None) -> None:
    """Write ``feedback/<id>.md``, ``feedback/<id>.html`` and ``gradescope/<id>.json`` atomically."""
    from vqa.files import write_json_atomic, write_text_atomic

    out_dir = Path(out_dir)
    student = record["student"] if isinstance(record, dict) else record.student
    write_text_atomic(out_dir / "feedback" / f"{student}.md", render_markdown(record, lang))
    write_text_atomic(out_dir / "feedback" / f"{student}.html", render_html(record, lang))
    write_json_atomic(out_dir / "gradescope" / f"{student}.json", gradescope_results(record))
