"""The result model every writer reads (terminal, JSON, Gradescope, JUnit, ...)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from catalog import DEFAULT_LANG

# Whether an exercise was graded check by check, or why not: its file still holds the stub, cannot be loaded, or
# imports the reference (then one line, the summary, says so).
ExerciseStatus = Literal["graded", "not_implemented", "load_error", "imports_reference"]


@dataclass
class CheckResult:
    name: str  # "<exercise>.<check>", stable across runs
    score: float
    max_score: float
    passed: bool
    message: str = ""  # what was expected and what was got
    hint: str = ""
    title: str = ""
    output: str = ""  # the submission's captured output for this check's probe (truncated)
    # not run here (a CUDA check without CUDA): not passed, not failed, worth nothing
    skipped: bool = False
    caused_by: str = ""  # a failed check whose failure explains this one's (its hint then says so)
    # the grader failed on this check: not judged, worth nothing here (0/0)
    grader_error: bool = False

    def to_dict(self) -> dict:
        data = asdict(self)
        for name in (
            "skipped",
            "caused_by",
            "grader_error",
        ):  # only the checks they concern carry these fields
            if not data[name]:
                del data[name]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> CheckResult:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class ExerciseResult:
    name: str
    checks: list[CheckResult] = field(default_factory=list)
    status: ExerciseStatus = "graded"
    summary: str = ""  # one line when the exercise could not be graded check by check

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 4)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), 4)

    def to_dict(self) -> dict:
        return {
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status,
            "summary": self.summary,
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, name: str, data: dict) -> ExerciseResult:
        return cls(
            name=name,
            checks=[CheckResult.from_dict(c) for c in data.get("checks", [])],
            status=data.get("status", "graded"),
            summary=data.get("summary", ""),
        )


@dataclass
class GradeResult:
    exercises: dict[str, ExerciseResult] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    versions: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # sandbox fallbacks and the like
    submission: str = ""
    execution_time: float = 0.0
    lang: str = DEFAULT_LANG

    @property
    def score(self) -> float:
        return round(sum(e.score for e in self.exercises.values()), 4)

    @property
    def max_score(self) -> float:
        return round(sum(e.max_score for e in self.exercises.values()), 4)

    @property
    def passed(self) -> bool:
        return all(c.passed or c.skipped for e in self.exercises.values() for c in e.checks)

    @property
    def grader_failed(self) -> bool:
        """Whether the grader itself failed on some check (those are not judged: the grade is incomplete)."""
        return any(c.grader_error for c in self.checks())

    def checks(self):
        for exercise in self.exercises.values():
            yield from exercise.checks

    def to_dict(self, *, timings: bool = True) -> dict:
        data = {
            "score": self.score,
            "max_score": self.max_score,
            "exercises": {name: ex.to_dict() for name, ex in self.exercises.items()},
            "flags": list(self.flags),
            "versions": dict(self.versions),
            "notes": list(self.notes),
            "submission": self.submission,
            "lang": self.lang,
        }
        if timings:
            data["execution_time"] = self.execution_time
        return data

    @classmethod
    def from_dict(cls, data: dict) -> GradeResult:
        return cls(
            exercises={
                name: ExerciseResult.from_dict(name, ex)
                for name, ex in data.get("exercises", {}).items()
            },
            flags=list(data.get("flags", [])),
            versions=dict(data.get("versions", {})),
            notes=list(data.get("notes", [])),
            submission=data.get("submission", ""),
            execution_time=float(data.get("execution_time", 0.0)),
            lang=data.get("lang", DEFAULT_LANG),
        )


def fmt_points(value: float | None) -> str:
    """``25`` for whole numbers, ``12.5`` otherwise."""
    value = float(value or 0)
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")
