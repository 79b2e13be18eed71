"""The fingerprint of everything that decides grades: a record graded by other code or fixtures is graded
again. The same fingerprint keys the reference cache (grader.judge.reference.fingerprint)."""

from __future__ import annotations

from grader.judge.reference import fingerprint


def grader_fingerprint() -> str:
    """A hash of the checks, probes, plan, verdicts, messages, the course kit and the reference."""
    return fingerprint()[:16]
