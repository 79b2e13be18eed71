"""The grader's own faults: written to a log a learner can send to their instructor, never scored as the
learner's failure. :func:`write_log` is used for a check the grader could not judge (see
:func:`grader.judge.verdicts.report_faults`) and for a grading run that failed as a whole (``grade`` exits 3)."""

from __future__ import annotations

import logging
import os
import traceback
from datetime import datetime, timezone
from pathlib import Path

logger = logging.getLogger(__name__)


class GraderError(RuntimeError):
    """The grader failed as a whole on a submission (its own bug, not the learner's code); ``log`` is the file
    that holds the traceback, for the learner to send to their instructor."""

    def __init__(self, message: str, log: Path):
        super().__init__(message)
        self.log = log


def write_log(log_dir: Path, title: str, sections: dict[str, str]) -> Path:
    """Write ``title`` and each named section to a new file in ``log_dir``; return its path."""
    log_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = log_dir / f"grader-error-{stamp}-{os.getpid()}.log"
    n = 1
    while path.exists():
        n += 1
        path = log_dir / f"grader-error-{stamp}-{os.getpid()}-{n}.log"
    text = [title, *(f"--- {name}\n{body.rstrip()}" for name, body in sections.items())]
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    logger.error("%s; log written to %s", title, path)
    return path


def traceback_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))
