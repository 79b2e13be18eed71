"""Verdicts: from the probes' results and the checks' outcomes to what the learner reads. Each exercise's
status (graded, cannot be loaded, imports the reference, not implemented), each check's message and a hint
for what was observed, root causes ("follows from"), the learner's prints once per exercise, and the
grader's own faults (checks it could not judge). Plain functions; the judge (:mod:`grader.judge.grade`)
calls them in order."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from catalog import DEFAULT_LANG
from grader.judge import flags as flag_names
from grader.judge import messages
from grader.judge.faults import write_log
from grader.judge.results import CheckResult, ExerciseResult, GradeResult
from grader.judge.session import GraderPlugin, Status
from grader.worker import guard
from grader.worker.contract import learner_errors
from grader.worker.handle import CallResult
from vqa.course import stub_task

logger = logging.getLogger(__name__)
OUTPUT_LIMIT = 2000


def exercise_statuses(
    folder: Path,
    exercises: list[str],
    calls: dict[str, list[CallResult]],
    lang: str,
    output_limit: int,
) -> tuple[dict[str, Status], list[str]]:
    """Whether each exercise can be graded check by check (its file loads and stands on its own), and the flags
    its calls raised (timeouts, crashes, cut output, ...)."""
    statuses: dict[str, Status] = {}
    flags: list[str] = []
    for exercise in exercises:
        results = calls[exercise]
        static = guard.scan_source(folder / f"{exercise}.py")
        dynamic = sorted({v for r in results for v in r.violations})
        load = next((r for r in results if r.kind == "load_error"), None)
        if static or dynamic:
            what = " and ".join(static or sorted({v.split()[-1].split("/")[-1] for v in dynamic}))
            detail = "; ".join(([f"imports {s}" for s in static] + dynamic)[:3])
            statuses[exercise] = Status(
                "imports_reference",
                messages.message(
                    "imports_reference", lang, file=f"{exercise}.py", what=what, detail=detail
                ),
            )
            flags.append(flag_names.make("imports_reference", exercise))
        elif load is not None:
            statuses[exercise] = Status(
                "load_error",
                f"{exercise}.py {messages.message('load_error', lang)}: {load.message}",
            )
            flags.append(flag_names.make("load_error", exercise))
        else:
            statuses[exercise] = Status()
        for name in call_flags(results, exercise, output_limit):
            if name not in flags:
                flags.append(name)
    return statuses, flags


def call_flags(results: list[CallResult], exercise: str, output_limit: int) -> list[str]:
    """The flags an exercise's probe calls raise: how the worker ended (timeout, crash, ...), output cut."""
    raised = []
    for r in results:
        if r.kind in flag_names.WORKER_KINDS:
            raised.append(flag_names.make(r.kind, exercise))
        if r.output_bytes > output_limit:
            raised.append(flag_names.make("output_truncated", exercise))
    return raised


@dataclass
class Evidence:
    """What the checks' outcomes say beyond pass and fail, by check name."""

    symptom_roots: dict[str, str] = field(default_factory=dict)  # the check a symptom belongs to
    depends: dict[str, list[str]] = field(
        default_factory=dict
    )  # the declared dependencies that apply to a failure
    causes: dict[str, str] = field(default_factory=dict)  # the learner's exception behind a failure
    faults: dict[str, str] = field(
        default_factory=dict
    )  # the grader's own traceback: the check was not judged


def check_results(
    plugin: GraderPlugin, exercises: list[str], lang: str
) -> tuple[dict[str, ExerciseResult], Evidence]:
    """One :class:`CheckResult` per check run, in order, each failure with its message and the hint for what
    was observed: the error's hint when the learner's code raised, a symptom's hint, else the check's own."""
    results = {exercise: ExerciseResult(exercise) for exercise in exercises}
    evidence = Evidence()
    for name, exercise, pts in plugin.order:
        outcome = plugin.outcomes.get(name)
        title, hint = messages.check_text(name, lang)
        if outcome is not None and outcome.fault:
            evidence.faults[name] = outcome.fault
            results[exercise].checks.append(
                CheckResult(
                    name=name,
                    score=0.0,
                    max_score=0.0,
                    passed=False,
                    title=title,
                    grader_error=True,
                    message=messages.message("grader_error_check", lang, points=int(pts)),
                )
            )
            continue
        passed = bool(outcome and outcome.passed)
        skipped = bool(outcome and outcome.skipped)
        if (
            not passed and outcome and outcome.cause
        ):  # the learner's code raised: a hint for that error only
            evidence.causes[name] = outcome.cause
            hint = messages.error_hint(outcome.cause, lang)
        elif not passed and outcome and outcome.msg is not None:
            when = plugin.depends_when.get(name)
            evidence.depends[name] = (
                [] if when and outcome.msg.key not in when else plugin.depends.get(name, [])
            )
            symptom = messages.symptom(outcome.msg)
            hint = symptom.get(lang) or symptom.get(DEFAULT_LANG) or hint
            root = symptom.get("root")
            if root and root != name:
                evidence.symptom_roots[name] = root
        message = (
            ""
            if passed
            else (outcome.text(lang) if outcome else messages.message("check_not_run", lang))
        )
        results[exercise].checks.append(
            CheckResult(
                name=name,
                score=pts if passed else 0.0,
                max_score=pts,
                passed=passed,
                message=message,
                hint="" if passed or skipped else hint,
                title=title,
                skipped=skipped,
            )
        )
    return results, evidence


def root_causes(
    checks: list[CheckResult],
    depends: dict[str, list[str]],
    lang: str,
    symptom_roots: dict[str, str] | None = None,
    causes: dict[str, str] | None = None,
) -> None:
    """Point each failed check whose failure another failed check explains at that check, from evidence: a
    check that failed on an exception of the learner's code follows from the first check that failed on the
    same exception (one mistake seen by several checks) and from nothing else; a check that failed on a value
    follows from the check its symptom belongs to, one it declares it depends on, or the first that observed
    the very same thing (the same message). Its hint then says "follows from …" instead of sending the
    learner after a second bug. Points do not change."""
    failed = {c.name: c for c in checks if not c.passed and not c.skipped and not c.grader_error}
    causes = causes or {}
    first_with: dict[str, CheckResult] = {}  # by the exception, or by the very same observed value
    for check in checks:
        if check.name not in failed:
            continue
        cause = causes.get(check.name)
        if cause is None:
            candidates = [(symptom_roots or {}).get(check.name), *depends.get(check.name, ())]
            root = next(
                (
                    failed[d]
                    for d in candidates
                    if d in failed and d != check.name and failed[d].caused_by != check.name
                ),
                None,
            )
            if root is None and check.message:
                root = first_with.setdefault(f"message|{check.message}", check)
        else:
            root = first_with.setdefault(cause, check)
        if root is None or root is check:
            continue
        root = failed.get(root.caused_by, root)
        check.caused_by = root.name
        check.hint = messages.message("follows_from", lang, check=root.title)


def exercise_output(calls: list[CallResult]) -> str:
    """What the learner's code printed during an exercise's probe calls, each distinct text once, the end kept."""
    texts = list(dict.fromkeys(call.output.strip("\n") for call in calls if call.output.strip()))
    return "\n".join(texts)[-OUTPUT_LIMIT:]


def attach_output(ex: ExerciseResult, calls: list[CallResult]) -> None:
    """The learner's own prints, once per exercise, with its first failed check."""
    shown = next(
        (c for c in ex.checks if not c.passed and not c.skipped and not c.grader_error), None
    )
    if shown is not None:
        shown.output = exercise_output(calls)


def summarise(ex: ExerciseResult, status: Status, calls: list[CallResult], lang: str) -> list[str]:
    """Say in one line why an exercise is not graded check by check (it cannot be loaded, imports the
    reference, or is still the stub); return the flags that raises."""
    if status.kind != "graded":
        ex.status, ex.summary = status.kind, status.summary
        return []
    errors: list[dict] = []
    for r in calls:
        if not r.ok:
            errors.append({"kind": r.kind, "message": r.message})
        else:
            errors.extend({"kind": e.kind, "message": e.message} for e in learner_errors(r.data))
    if not (
        ex.checks
        and not any(c.passed for c in ex.checks)
        and errors
        and all(e.get("kind") == "not_implemented" for e in errors)
    ):
        return []
    ex.status = "not_implemented"
    ex.summary = f"{messages.message('not_implemented', lang)}: {stub_task(errors[0].get('message', ''), lang)}"
    for check in ex.checks:
        if not check.skipped and not check.grader_error:
            check.message = ex.summary
    return [flag_names.make("not_implemented", ex.name)]


def report_faults(
    grade: GradeResult, faults: dict[str, str], log_dir: Path, context: str = ""
) -> Path:
    """Write the grader's own faults to a log the learner can send to their instructor, flag them, and say so in
    the result's notes (in the learner's language); return the log's path."""
    sections = {f"check {name}": text for name, text in faults.items()}
    sections["versions"] = str(grade.versions)
    if context:
        sections["worker log (end)"] = context
    path = write_log(
        log_dir, f"the grader failed on {len(faults)} checks of {grade.submission}", sections
    )
    for exercise in sorted({name.split(".", 1)[0] for name in faults}):
        grade.flags.append(flag_names.make("grader_error", exercise))
    grade.notes.append(
        messages.message("grader_error_note", grade.lang, count=len(faults), log=str(path))
    )
    return path
