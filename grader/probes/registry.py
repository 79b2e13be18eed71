"""The probe registry: a probe module registers its functions with :func:`probe`; the worker's request
loop (:mod:`grader.probes.serve`) looks them up in :data:`PROBES`. This module imports no probe.

A probe is ``fn(ctx, **args) -> result | (result, {name: tensor})``, its result the dataclass the contract
(:mod:`grader.worker.contract`) declares for it. It runs one implementation (the reference or the submission,
the same code for both) on a fixture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from grader.worker.contract import Probe

R = TypeVar("R")
Tensors = dict[str, Any]  # torch tensors by name, sent as safetensors beside the result
ProbeFn = Callable[..., R | tuple[R, Tensors]]

PROBES: dict[str, ProbeSpec] = {}


@dataclass(frozen=True)
class ProbeSpec:
    probe: Probe[Any]
    exercise: str | None
    fn: Callable[..., Any]


def probe(spec: Probe[R], exercise: str | None) -> Callable[[ProbeFn[R]], ProbeFn[R]]:
    """Register a probe function as ``spec`` (its name and result type) for ``exercise`` (None: set-up,
    reference only)."""

    def wrap(fn: ProbeFn[R]) -> ProbeFn[R]:
        PROBES[spec.name] = ProbeSpec(spec, exercise, fn)
        return fn

    return wrap
