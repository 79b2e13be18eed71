"""Batch options and the record of one student (``students/<id>.json``): what the batch knows, on disk."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Final, Literal

from catalog import DEFAULT_LANG
from grader.batch import archive
from grader.batch.fingerprint import grader_fingerprint
from grader.judge import flags as flag_names
from grader.worker import limits
from vqa.course import TOTAL_POINTS

RECORD_FORMAT = "vqa-batch-record/1"
# failed: not graded (a timeout, an unreadable file); the reason says why
RecordStatus = Literal["graded", "failed"]
GRADED: Final = "graded"
FAILED: Final = "failed"


@dataclass
class BatchOptions:
    """How to grade a batch; the limits mirror ``grade``'s own options."""

    jobs: int = 0  # 0: the number of cores
    timeout: float = limits.CALL_TIMEOUT  # per probe call (``grade --timeout``)
    # per worker child, on top of the imported libraries (``grade --memory-mb``)
    memory_mb: int = limits.MEMORY_MB
    submission_timeout: float = limits.SUBMISSION_TIMEOUT  # whole submission, enforced by the batch
    # a slot's start-up (the first one may compute the reference)
    start_timeout: float = limits.START_TIMEOUT
    sandbox: str = "auto"
    device: str = "cpu"
    lang: str = DEFAULT_LANG
    exercises: tuple[str, ...] | None = None
    cache_dir: str | None = None
    force: bool = False  # grade again even when nothing changed
    # grade again the submissions recorded as failed (timeouts, unreadable)
    retry_failed: bool = False
    limits: archive.Limits = field(default_factory=archive.Limits)
    # module:factory building the grading engine in a slot (GRADER_BATCH_ENGINE: a stand-in for tests)
    engine: str = field(
        default_factory=lambda: os.environ.get(
            "GRADER_BATCH_ENGINE", "grader.batch.slot:default_engine"
        )
    )

    def resolved_jobs(self) -> int:
        return self.jobs if self.jobs > 0 else max(1, os.cpu_count() or 1)

    def key(self) -> str:
        """What makes two gradings comparable: options that change scores, and the grader's code."""
        digest = hashlib.sha256()
        digest.update(
            json.dumps(
                {
                    "exercises": sorted(self.exercises) if self.exercises else None,
                    "device": self.device,
                    "timeout": self.timeout,
                    "memory_mb": self.memory_mb,
                    "lang": self.lang,
                    "engine": self.engine,
                },
                sort_keys=True,
            ).encode()
        )
        digest.update(grader_fingerprint().encode())
        return digest.hexdigest()[:16]


@dataclass
class Record:
    """What the batch knows about one student: written to ``students/<id>.json``."""

    student: str
    source: str
    status: RecordStatus
    reason: str | None = None
    content_hash: str | None = None
    options_key: str | None = None
    folder: str | None = None  # the code that was graded (for similarity and side-by-side views)
    seconds: float = 0.0
    graded_at: str = ""
    result: dict | None = None
    # the grader failed on this submission (its fault, not the learner's): why
    grader_error: str | None = None
    grader_log: str | None = None  # the file that tells it, when there is one
    format: str = RECORD_FORMAT

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Record:
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def score(self) -> float:
        return float((self.result or {}).get("score") or 0.0)

    @property
    def max_score(self) -> float:
        return float((self.result or {}).get("max_score") or TOTAL_POINTS)

    @property
    def flags(self) -> list[str]:
        flags = list((self.result or {}).get("flags") or [])
        if self.grader_error:
            flags.insert(0, flag_names.make("grader_error"))
        if self.status == FAILED:
            flags.insert(0, flag_names.make("not_graded"))
        return flags


@dataclass
class BatchSummary:
    """The outcome of one run."""

    records: list[Record]
    graded: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # duplicates, ignored files
    interrupted: bool = False
    seconds: float = 0.0
    where: str = ""  # where it was graded, when not on this machine ("on a 2-worker Dask cluster at tcp://…")

    def problems(self) -> list[tuple[str, str]]:
        """(student, reason) for every submission that failed or raised a flag that needs a look (see
        grader.judge.flags)."""
        out = []
        for rec in self.records:
            if rec.status == FAILED:
                out.append((rec.student, rec.reason or "not graded"))
                continue
            bad = [f for f in rec.flags if flag_names.needs_look(f)]
            if bad:
                out.append((rec.student, "flagged: " + ", ".join(bad)))
        return out


def utc_now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def record_path(out_dir: Path, student: str) -> Path:
    return out_dir / "students" / f"{student}.json"


def load_record(path: Path) -> Record | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        return None
    return Record.from_dict(data)


def load_records(out_dir: str | Path, students: Iterable[str] | None = None) -> list[Record]:
    """Records on disk (all of them, or those of ``students``), sorted by student id."""
    out_dir = Path(out_dir)
    if students is None:
        paths = sorted((out_dir / "students").glob("*.json"))
    else:
        paths = [record_path(out_dir, s) for s in sorted(students)]
    return [r for r in (load_record(p) for p in paths) if r is not None]
