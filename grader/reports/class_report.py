"""Class outputs from the batch records: ``grades.csv``, an LMS gradebook CSV and ``report.html``.

The numbers come from :func:`summarize` (plain data, also written as ``report.json``); the HTML is
one self-contained file (inline CSS, SVG and a little JS; nothing fetched) rendered with jinja2 from
``grader/reports/templates/report.html.j2``.

LMS exports (``--lms``), kept deliberately small:

* ``moodle``: ``ID number,<item>,Feedback`` — Moodle: Grades > Import > CSV file; map *ID number*
  to the user field *ID number*, the item column to the grade item, *Feedback* to its feedback.
* ``canvas``: ``Student,ID,SIS User ID,SIS Login ID,Section,<item>`` then a *Points Possible* row,
  as Canvas exports it — Canvas: Grades > Import; the student id goes in *SIS Login ID* (name the
  submission folders by login), *ID* is left empty for Canvas to match by login.
"""

from __future__ import annotations

import csv
import io
import re
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from grader.batch.records import FAILED, Record
from grader.judge import flags as flag_names
from grader.reports.feedback import environment, fmt_points
from grader.reports.similarity import SimilarityResult
from vqa.course import POINTS
from vqa.files import write_json_atomic, write_text_atomic

LMS_FORMATS = ("moodle", "canvas")
_NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?:e-?\d+)?")


@dataclass
class StudentRow:
    student: str
    status: str
    total: float
    max_score: float
    exercises: dict[str, float]
    flags: list[str]
    reason: str | None
    checks: list[dict]  # {exercise, status, name, title, score, max_score, passed, message, hint}
    similar_to: list[str] = field(default_factory=list)
    quiz: int | None = None

    @property
    def needs_look(self) -> bool:
        """A flag that needs an instructor's look (``not_graded`` among them; see grader.judge.flags)."""
        return any(flag_names.needs_look(f) for f in self.flags)


@dataclass
class ExerciseStat:
    name: str
    max_score: float
    mean: float
    full: int  # students with full marks
    zero: int
    graded: int
    # students whose exercise was not implemented, failed to load or imported the reference
    not_attempted: int = 0


@dataclass
class CheckStat:
    name: str
    title: str
    exercise: str
    max_score: float
    passed: int
    total: int

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass
class FailureStat:
    check: str
    title: str
    message: str
    hint: str
    students: list[str]

    @property
    def count(self) -> int:
        return len(self.students)


@dataclass
class ClassSummary:
    students: list[StudentRow]
    exercises: list[ExerciseStat]
    checks: list[CheckStat]
    failures: list[FailureStat]
    flags: dict[str, list[str]]  # flag (base name) -> students
    histogram: list[tuple[int, int, int]]  # (low, high, count) of total scores, in percent
    similar: list[dict] = field(
        default_factory=list
    )  # every pair above the threshold: Pair.to_dict()
    shown: list[dict] = field(default_factory=list)  # the top pairs with their code side by side
    clusters: list[dict] = field(default_factory=list)  # Cluster.to_dict(), largest first
    similarity: dict | None = None  # settings and counts of the similarity run
    similarity_note: str | None = None
    quiz: dict | None = None  # quiz.grading.ClassQuizResult.to_dict()
    generated: str = ""

    @property
    def graded(self) -> list[StudentRow]:
        return [s for s in self.students if s.status != FAILED]

    @property
    def not_graded(self) -> list[StudentRow]:
        return [s for s in self.students if s.status == FAILED]

    def stats(self) -> dict:
        totals = [s.total for s in self.students]
        return {
            "students": len(self.students),
            "graded": len(self.graded),
            "not_graded": len(self.not_graded),
            "mean": round(statistics.fmean(totals), 2) if totals else None,
            "median": round(statistics.median(totals), 2) if totals else None,
            "full_marks": sum(1 for s in self.students if s.max_score and s.total >= s.max_score),
            "max_score": max((s.max_score for s in self.students), default=100.0),
        }

    def to_dict(self) -> dict:
        return {
            "stats": self.stats(),
            "students": [asdict(s) for s in self.students],
            "exercises": [asdict(e) for e in self.exercises],
            "checks": [{**asdict(c), "rate": round(c.rate, 4)} for c in self.checks],
            "failures": [{**asdict(f), "count": f.count} for f in self.failures],
            "flags": self.flags,
            "histogram": self.histogram,
            "similar": self.similar,
            "clusters": self.clusters,
            "similarity": self.similarity,
            "similarity_note": self.similarity_note,
            "quiz": self.quiz,
            "generated": self.generated,
        }


def _exercise_names(records: list[Record]) -> list[str]:
    names = list(POINTS)
    for rec in records:
        for name in (rec.result or {}).get("exercises", {}):
            if name not in names:
                names.append(name)
    return names


def normalize_message(message: str) -> str:
    """Group messages that differ only in measured decimals (losses, learning rates)."""
    return _NUMBER.sub("…", (message or "").strip().splitlines()[0] if message else "")[:300]


def student_rows(records: list[Record]) -> list[StudentRow]:
    """One row per record: points per exercise, total, flags, every check."""
    names = _exercise_names(records)
    rows = []
    for rec in records:
        result = rec.result or {}
        exercises = result.get("exercises") or {}
        checks = []
        for ex_name, ex in exercises.items():
            for c in ex.get("checks") or []:
                checks.append(
                    {
                        "exercise": ex_name,
                        "status": ex.get("status", "graded"),
                        "name": c.get("name", ""),
                        "title": c.get("title") or c.get("name", ""),
                        "score": c.get("score", 0),
                        "max_score": c.get("max_score", 0),
                        "passed": bool(c.get("passed")),
                        "message": c.get("message", ""),
                        "hint": c.get("hint", ""),
                    }
                )
        points = {n: float(exercises[n].get("score", 0)) if n in exercises else 0.0 for n in names}
        rows.append(
            StudentRow(
                student=rec.student,
                status=rec.status,
                total=rec.score if rec.status != FAILED else 0.0,
                max_score=rec.max_score,
                exercises=points,
                flags=rec.flags,
                reason=rec.reason,
                checks=checks,
            )
        )
    return rows


def summarize(
    records: list[Record],
    *,
    similar: SimilarityResult | None = None,
    similarity_note: str | None = None,
    quiz: dict | None = None,
) -> ClassSummary:
    """Everything the report shows, as plain data."""
    rows = student_rows(records)
    names = _exercise_names(records)
    graded = [r for r in rows if r.status != FAILED]
    exercises = []
    for name in names:
        maxes = [
            float((rec.result or {}).get("exercises", {}).get(name, {}).get("max_score", 0))
            for rec in records
        ]
        max_score = max(maxes, default=0.0) or float(POINTS.get(name, 0))
        scores = [r.exercises.get(name, 0.0) for r in graded]
        skipped = sum(
            1
            for rec in records
            if (rec.result or {}).get("exercises", {}).get(name, {}).get("status", "graded")
            != "graded"
        )
        exercises.append(
            ExerciseStat(
                name,
                max_score,
                round(statistics.fmean(scores), 2) if scores else 0.0,
                sum(1 for s in scores if max_score and s >= max_score),
                sum(1 for s in scores if s == 0),
                len(scores),
                skipped,
            )
        )
    checks: dict[str, CheckStat] = {}
    failures: dict[tuple[str, str], FailureStat] = {}
    for row in graded:
        # an exercise that crashed or hung is a flag, not something to re-teach
        broken = {f.partition(":")[2] for f in row.flags if flag_names.misbehaved(f)}
        for c in row.checks:
            stat = checks.setdefault(
                c["name"], CheckStat(c["name"], c["title"], c["exercise"], c["max_score"], 0, 0)
            )
            stat.total += 1
            stat.passed += int(c["passed"])
            if not c["passed"] and c["status"] == "graded" and c["exercise"] not in broken:
                key = (c["name"], normalize_message(c["message"]))
                fail = failures.setdefault(
                    key, FailureStat(c["name"], c["title"], key[1], c["hint"], [])
                )
                fail.students.append(row.student)
    flags: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        for base in dict.fromkeys(f.partition(":")[0] for f in row.flags):
            flags[base].append(row.student)
    max_total = max((r.max_score for r in rows), default=100.0) or 100.0
    bins = [0] * 10
    for row in rows:
        bins[min(9, int(10 * row.total / max_total))] += 1
    histogram = [(10 * i, 10 * i + 10, n) for i, n in enumerate(bins)]
    pairs = [p.to_dict(with_code=True) for p in similar.pairs] if similar is not None else []
    by_name = {r.student: r for r in rows}
    similar_flag = flag_names.make("similar")
    for p in pairs:
        for me, other in ((p["left"], p["right"]), (p["right"], p["left"])):
            if me in by_name:
                by_name[me].similar_to.append(other)
                if similar_flag not in by_name[me].flags:
                    by_name[me].flags.append(similar_flag)
                    flags[similar_flag].append(me)
    if quiz:
        quiz_scores = {a["student"].casefold(): a["score"] for a in quiz.get("attempts", [])}
        for row in rows:
            row.quiz = quiz_scores.get(row.student.casefold())
    return ClassSummary(
        students=rows,
        exercises=exercises,
        checks=sorted(checks.values(), key=lambda c: (c.rate, c.name)),
        failures=sorted(failures.values(), key=lambda f: (-f.count, f.check, f.message)),
        flags=dict(flags),
        histogram=histogram,
        similar=[{k: v for k, v in p.items() if k != "code"} for p in pairs],
        shown=[p for p in pairs if p.get("code")],
        clusters=[c.to_dict() for c in similar.clusters] if similar is not None else [],
        similarity=similar.run() if similar is not None else None,
        similarity_note=similarity_note,
        quiz=quiz,
        generated=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    )


# --------------------------------------------------------------------------- CSV files


def grades_csv(summary: ClassSummary) -> str:
    """One row per student: each exercise's points, total, max, status, flags, reason (with a BOM for Excel)."""
    names = [e.name for e in summary.exercises]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    quiz = summary.quiz is not None
    writer.writerow(
        [
            "student",
            *names,
            "total",
            "max_score",
            *(["quiz"] if quiz else []),
            "status",
            "flags",
            "reason",
        ]
    )
    for row in summary.students:
        writer.writerow(
            [
                row.student,
                *(fmt_points(row.exercises.get(n, 0)) for n in names),
                fmt_points(row.total),
                fmt_points(row.max_score),
                *([row.quiz if row.quiz is not None else ""] if quiz else []),
                row.status,
                "; ".join(row.flags),
                (row.reason or "").splitlines()[0] if row.reason else "",
            ]
        )
    return "\ufeff" + buf.getvalue()


def _short_feedback(row: StudentRow) -> str:
    if row.status == FAILED:
        return (
            f"Not graded: {(row.reason or '').splitlines()[0] if row.reason else 'unknown reason'}"
        )
    parts = [f"{n} {fmt_points(p)}" for n, p in row.exercises.items()]
    failed = sum(1 for c in row.checks if not c["passed"])
    text = f"Score {fmt_points(row.total)}/{fmt_points(row.max_score)} ({', '.join(parts)}); {failed} checks failed"
    if row.flags:
        text += "; " + "; ".join(flag_names.describe(f) for f in row.flags)
    return text


def similar_pairs_csv(summary: ClassSummary) -> str:
    """Every pair above the similarity threshold, most similar first, with its cluster and per-file shares."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(
        [
            "left",
            "right",
            "similarity",
            "left_share",
            "right_share",
            "shared_fingerprints",
            "cluster",
            "files",
        ]
    )
    for p in summary.similar:
        files = "; ".join(f"{f['file']} {100 * f['similarity']:.0f}%" for f in p.get("files", []))
        writer.writerow(
            [
                p["left"],
                p["right"],
                f"{p['similarity']:.4f}",
                f"{p['left_share']:.4f}",
                f"{p['right_share']:.4f}",
                p.get("shared", ""),
                p.get("cluster", ""),
                files,
            ]
        )
    return "\ufeff" + buf.getvalue()


def lms_csv(summary: ClassSummary, lms: str, item: str = "VQA lab") -> str:
    """A gradebook import file for ``lms`` (``moodle`` or ``canvas``); see the module docstring."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    if lms == "moodle":
        writer.writerow(["ID number", item, "Feedback"])
        for row in summary.students:
            writer.writerow([row.student, fmt_points(row.total), _short_feedback(row)])
    elif lms == "canvas":
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", item])
        writer.writerow(
            ["    Points Possible", "", "", "", "", fmt_points(summary.stats()["max_score"])]
        )
        for row in summary.students:
            writer.writerow([row.student, "", "", row.student, "", fmt_points(row.total)])
    else:
        raise ValueError(f"unknown LMS {lms!r}; choose one of {', '.join(LMS_FORMATS)}")
    return buf.getvalue()


# --------------------------------------------------------------------------- HTML


def _svg_histogram(histogram: list[tuple[int, int, int]]) -> dict:
    top = max((n for _, _, n in histogram), default=0) or 1
    width, height, pad = 560, 180, 28
    bar_w = (width - 2 * pad) / len(histogram)
    bars = []
    for i, (lo, hi, n) in enumerate(histogram):
        h = (height - 2 * pad) * n / top
        bars.append(
            {
                "x": pad + i * bar_w + 2,
                "y": height - pad - h,
                "w": bar_w - 4,
                "h": h,
                "n": n,
                "label": f"{lo}–{hi}",
                "lx": pad + i * bar_w + bar_w / 2,
            }
        )
    return {"width": width, "height": height, "pad": pad, "bars": bars, "base": height - pad}


def render_html(summary: ClassSummary, *, title: str = "VQA lab — class report") -> str:
    """The class report as one self-contained HTML page."""
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            s=summary,
            stats=summary.stats(),
            title=title,
            hist=_svg_histogram(summary.histogram),
            needs_look=flag_names.needs_look,
            describe_flag=flag_names.describe,
            flag_label=flag_names.label,
        )
    )


def write_class_outputs(
    records: list[Record],
    out_dir: str | Path,
    *,
    similar: SimilarityResult | None = None,
    similarity_note: str | None = None,
    quiz: dict | None = None,
    lms: str | None = None,
    lms_item: str = "VQA lab",
) -> ClassSummary:
    """Write ``grades.csv``, ``report.html``, ``report.json``, ``similar-pairs.csv`` (when similarity ran) and
    (with ``lms``) ``lms-<lms>.csv``."""
    out_dir = Path(out_dir)
    summary = summarize(records, similar=similar, similarity_note=similarity_note, quiz=quiz)
    write_text_atomic(out_dir / "grades.csv", grades_csv(summary))
    if similar is not None:
        write_text_atomic(out_dir / "similar-pairs.csv", similar_pairs_csv(summary))
    write_json_atomic(out_dir / "report.json", summary.to_dict())
    write_text_atomic(out_dir / "report.html", render_html(summary))
    if lms:
        write_text_atomic(out_dir / f"lms-{lms}.csv", lms_csv(summary, lms, lms_item))
    return summary
