"""The probe registry: a probe module registers its functions with :func:`probe`; the worker's request
loop (:mod:`grader.probes.serve`) looks them up in :data:`PROBES`. This module imports no probe.

A probe is ``fn(ctx, **args) -> dict | (dict, {name: tensor})``.  It runs one implementation (the
reference or the submission, the same code for both) on a fixture and returns plain data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

PROBES: dict[str, "ProbeSpec"] = {}


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    exercise: str | None
    fn: Callable[..., Any]


def probe(name: str, exercise: str | None):
    """Register a probe function under ``name`` for ``exercise`` (None: set-up, reference only)."""

    def wrap(fn):
        PROBES[name] = ProbeSpec(name, exercise, fn)
        return fn

    return wrap
