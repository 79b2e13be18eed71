"""Grade many attempt files: re-score against the key, keep each student's first attempt,
compute item statistics, report bad files by name."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from quiz import stats
from quiz.bank import Bank, load_bank
from quiz.files import write_json_atomic, write_text_atomic
from quiz.session import ATTEMPT_FORMAT


class AttemptFileError(ValueError):
    """An attempt file is unreadable, not JSON, or not an attempt at this quiz."""


@dataclass
class GradedAttempt:
    file: str
    student: str  # the recorded name, or the file name without .json when none was recorded
    named: bool  # False when the student was taken from the file name
    time: datetime
    answers: dict[str, str | None]
    items: dict[str, int]
    score: int
    max_score: int
    stored_total: int | None

    def to_dict(self) -> dict:
        return {
            "student": self.student,
            "named": self.named,
            "file": self.file,
            "time": self.time.isoformat(),
            "score": self.score,
            "max_score": self.max_score,
            "items": dict(self.items),
            "answers": dict(self.answers),
        }


@dataclass
class ClassQuizResult:
    quiz: str
    questions: list[str]
    counted: list[GradedAttempt]
    later: list[GradedAttempt]
    skipped: list[tuple[str, str]]
    item_stats: list[stats.ItemStat]
    cronbach_alpha: float | None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """See :func:`grade_attempts` for the layout."""
        return {
            "quiz": self.quiz,
            "questions": list(self.questions),
            "max_score": len(self.questions),
            "attempts": [a.to_dict() for a in self.counted],
            "later_attempts": [a.to_dict() for a in self.later],
            "skipped": [{"file": f, "error": e} for f, e in self.skipped],
            "item_stats": [s.to_dict() for s in self.item_stats],
            "cronbach_alpha": self.cronbach_alpha,
            "warnings": list(self.warnings),
        }


def _parse_time(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise AttemptFileError(f"{where}: 'time' must be an ISO 8601 date-time string")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AttemptFileError(f"{where}: 'time' {value!r} is not an ISO 8601 date-time") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def load_attempt(path: str | Path, bank: Bank) -> GradedAttempt:
    """Read one attempt record and re-score it from its answers (the stored total is ignored).

    Raises ``AttemptFileError`` with the file name (and line/column for broken JSON).
    """
    p = Path(path)
    where = str(p)
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as exc:
        raise AttemptFileError(f"{where}: cannot read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError:
        raise AttemptFileError(
            f"{where}: not a text file (not UTF-8), so not an attempt record"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AttemptFileError(
            f"{where}: broken JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict) or data.get("format") != ATTEMPT_FORMAT:
        raise AttemptFileError(
            f'{where}: not a quiz attempt record (no "format": "{ATTEMPT_FORMAT}")'
        )
    if data.get("quiz") != bank.quiz_id:
        raise AttemptFileError(
            f"{where}: attempt at another quiz ({data.get('quiz')!r}, expected {bank.quiz_id!r})"
        )
    answers = data.get("answers")
    if not isinstance(answers, dict):
        raise AttemptFileError(f"{where}: 'answers' must be an object {{question id: option id}}")
    for qid, oid in answers.items():
        if qid not in bank.ids:
            raise AttemptFileError(f"{where}: answer to unknown question {qid!r}")
        if oid is not None and oid not in [o.id for o in bank.question(qid).options]:
            raise AttemptFileError(f"{where}: answer {oid!r} to {qid} is not one of its option ids")
    student = data.get("student")
    if student is not None and not isinstance(student, str):
        raise AttemptFileError(f"{where}: 'student' must be a string or null")
    named = bool(student and student.strip())
    when = _parse_time(data.get("time"), where)
    items = {qid: int(answers.get(qid) == bank.question(qid).answer) for qid in bank.ids}
    stored = data.get("total")
    return GradedAttempt(
        file=where,
        student=student.strip() if named else p.stem,
        named=named,
        time=when,
        answers={qid: answers.get(qid) for qid in bank.ids},
        items=items,
        score=sum(items.values()),
        max_score=len(bank.ids),
        stored_total=stored if isinstance(stored, int) else None,
    )


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; a directory stands for the ``*.json`` files in it (sorted)."""
    out: list[Path] = []
    for item in paths:
        p = Path(item)
        out.extend(sorted(p.glob("*.json")) if p.is_dir() else [p])
    return out


def grade_attempts(paths: Sequence[str | Path], bank: Bank | None = None) -> ClassQuizResult:
    """Grade attempt files (directories stand for their ``*.json``) against ``bank`` (default: shipped).

    Every attempt is re-scored from its answers by option id. Each student's first attempt
    by ``time`` counts; later ones are listed apart. Bad files are skipped and listed.

    ``result.to_dict()`` returns::

        {
          "quiz": "mllm-part4",
          "questions": ["Q1", ..., "Q10"],
          "max_score": 10,
          "attempts": [            # counted (first) attempt per student, by student name
            {"student": str, "named": bool,   # named False: name taken from the file name
             "file": str, "time": ISO 8601 str,
             "score": int, "max_score": int,
             "items": {"Q1": 0 | 1, ...},      # every question; unanswered = 0
             "answers": {"Q1": option id | None, ...}}
          ],
          "later_attempts": [ same shape ],    # not counted
          "skipped": [{"file": str, "error": str}],
          "item_stats": [{"id": "Q1", "attempts": int,
                          "facility": float | None,          # percent
                          "discrimination": float | None}],  # percent; None if undefined
          "cronbach_alpha": float | None,       # percent; None if undefined
          "warnings": [str]                     # e.g. a stored total that differs from the re-score
        }

    Statistics use the counted attempts only.
    """
    bank = bank or load_bank()
    graded: list[GradedAttempt] = []
    skipped: list[tuple[str, str]] = []
    warnings: list[str] = []
    for p in expand_paths(paths):
        try:
            a = load_attempt(p, bank)
        except AttemptFileError as exc:
            skipped.append((str(p), str(exc)))
            continue
        if a.stored_total is not None and a.stored_total != a.score:
            warnings.append(
                f"{a.file}: stored total {a.stored_total} differs from the re-score {a.score}"
            )
        graded.append(a)

    graded.sort(key=lambda a: (a.student.casefold(), a.time, a.file))
    counted: list[GradedAttempt] = []
    later: list[GradedAttempt] = []
    seen: set[str] = set()
    for a in graded:
        key = a.student.casefold()
        (later if key in seen else counted).append(a)
        seen.add(key)

    matrix = [[a.items[q] for q in bank.ids] for a in counted]
    return ClassQuizResult(
        quiz=bank.quiz_id,
        questions=bank.ids,
        counted=counted,
        later=later,
        skipped=skipped,
        item_stats=stats.item_statistics(bank.ids, matrix),
        cronbach_alpha=stats.cronbach_alpha(matrix),
        warnings=warnings,
    )


def fmt_pct(value: float | None) -> str:
    """``57.7%`` or ``—`` when undefined."""
    return "—" if value is None else f"{value:.1f}%"


def format_report(result: ClassQuizResult) -> str:
    """Plain-text table of scores and item statistics."""
    rows = [("Student", "Score", "Time", "File")]
    rows += [
        (a.student, f"{a.score}/{a.max_score}", a.time.isoformat(), a.file) for a in result.counted
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    if result.later:
        lines += ["", "Later attempts (not counted):"]
        lines += [
            f"  {a.student}  {a.score}/{a.max_score}  {a.time.isoformat()}  {a.file}"
            for a in result.later
        ]
    lines += [
        "",
        f"Item statistics ({len(result.counted)} first attempts):",
        "Item  Facility  Discrimination",
    ]
    for s in result.item_stats:
        lines.append(f"{s.item:<4}  {fmt_pct(s.facility):>8}  {fmt_pct(s.discrimination):>14}")
    lines.append(
        f"Cronbach's alpha: {fmt_pct(result.cronbach_alpha)} (75% or more is satisfactory)"
    )
    return "\n".join(lines)


def to_csv(result: ClassQuizResult) -> str:
    """One row per attempt (counted and later) with per-question marks."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "counted", "time", "file", *result.questions, "score", "max_score"])
    for counted, attempts in ((True, result.counted), (False, result.later)):
        for a in attempts:
            w.writerow(
                [
                    a.student,
                    "yes" if counted else "no",
                    a.time.isoformat(),
                    a.file,
                    *(a.items[q] for q in result.questions),
                    a.score,
                    a.max_score,
                ]
            )
    return buf.getvalue()


def write_csv(result: ClassQuizResult, path: str | Path) -> None:
    write_text_atomic(path, to_csv(result))


def write_json(result: ClassQuizResult, path: str | Path) -> None:
    write_json_atomic(path, result.to_dict())
