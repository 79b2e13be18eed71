"""Checks: pytest tests that compare the submission's probe results with the reference's.

Each check is a plain test function with ``@points(n)``; titles, hints and the messages a check fails
with (keys and named fields) live in ``grader/judge/hints.toml``.  The ``probes`` fixture (:class:`Probes`)
comes from the grader's pytest plugin: ``probes.student(plan.ONE_EPOCH)`` is the learner's
:class:`~grader.worker.contract.OneEpochResult`, read by its attributes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

import numpy as np
import pytest

from catalog import DEFAULT_LANG
from grader.judge.messages import Msg, where
from grader.worker.contract import LearnerError, MessageData, ProbeCall, encode
from vqa.course import stub_sentence

if TYPE_CHECKING:
    from numpy.typing import NDArray

R = TypeVar("R")


class Probes(Protocol):
    """What a check is given: the learner's and the reference's results of each probe call (and the tensors
    beside them). Asking for the learner's result of a call that failed (the code raised, crashed, timed out)
    fails the check with what went wrong."""

    def has(self, call: ProbeCall[Any]) -> bool: ...

    def student(self, call: ProbeCall[R]) -> R: ...

    def student_tensors(self, call: ProbeCall[Any]) -> dict[str, NDArray[Any]]: ...

    def reference(self, call: ProbeCall[R]) -> R: ...

    def reference_tensors(self, call: ProbeCall[Any]) -> dict[str, NDArray[Any]]: ...


def points(value: float):
    """Declare how many points a check is worth (sets an attribute, nothing else)."""

    def mark(fn):
        fn.points = value
        return fn

    return mark


def depends_on(*checks: str, when: tuple[str, ...] = ()):
    """Declare the checks (of the same exercise) whose failure explains this one's: when one of them fails
    too, this check's feedback says "follows from" it instead of its own hint. ``when``: only for failures
    with these message keys (what those checks' mistakes can cause); the check's other failures are its own.
    Sets attributes only."""

    def mark(fn):
        fn.depends_on = tuple(checks)
        fn.depends_when = tuple(when)
        return fn

    return mark


class CheckFailed(AssertionError):
    pass


def _message(message, fields) -> Msg:
    return message if isinstance(message, Msg) else Msg(message, **fields)


def fail(message: Msg | str, /, *, cause: str | None = None, **fields: Any) -> NoReturn:
    """Fail the check with message ``message`` (a key of hints.toml, or a :class:`Msg`) and its fields.
    ``cause``: the identity of the learner's exception behind the failure (see :func:`cause_of`), by which
    the judge tells one mistake seen by several checks from several mistakes."""
    msg = _message(message, fields)
    exc = pytest.fail.Exception(msg.render(DEFAULT_LANG), pytrace=False)
    exc.grader_msg = msg  # type: ignore[attr-defined]  # the plugin renders it in the learner's language
    exc.grader_cause = cause  # type: ignore[attr-defined]
    raise exc


def cause_of(kind: str, message: str, where: str | None) -> str:
    """One exception of the learner's code, as the worker described it: its kind, text and place. A name that
    is not defined is one mistake wherever it is used (the fix is an import or a definition), so its place is
    left out."""
    place = "" if message.startswith("NameError:") else (where or "")
    return "|".join((kind, message, place))


def raised(what: Msg | str, error: LearnerError) -> NoReturn:
    """Fail the check because the learner's code raised ``error`` (the worker's description) in ``what``."""
    fail(
        "raised",
        what=what,
        error=error_text(error),
        cause=cause_of(error.kind, error.message, error.where),
    )


def skip(message: Msg | str, /, **fields: Any) -> NoReturn:
    """Skip the check (it is not scored), saying why."""
    msg = _message(message, fields)
    exc = pytest.skip.Exception(msg.render(DEFAULT_LANG), allow_module_level=False)
    exc.grader_msg = msg  # type: ignore[attr-defined]
    raise exc


def expect(condition: object, message: Msg | str, /, **fields: Any) -> None:
    if not condition:
        fail(message, **fields)


def message_of(data: MessageData | None) -> Msg | None:
    """A message the worker sent as data, as a :class:`Msg`; None when there is none or its key is unknown (the
    plain text then stands)."""
    return Msg.from_dict(encode(data)) if data is not None else None


def error_text(error: LearnerError) -> Msg | str:
    """The submission's error, as a message (what it raised, and where)."""
    if error.kind == "not_implemented":
        return Msg("not_implemented_detail", detail=stub_sentence(error.message))
    text = message_of(error.msg) or error.message
    if error.where:
        return Msg("error_at", text=text, where=where(error.where))
    return text


def shape(value) -> str:
    return "[" + ", ".join(str(v) for v in value) + "]"


def plain(value, digits: int = 6):
    """A number as a learner reads it: ``0.108966`` rather than ``np.float32(0.10896612)``; other values as they are."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    return value


def first_difference(
    got: np.ndarray, expected: np.ndarray, atol: float = 0.0, rtol: float = 0.0
) -> Msg:
    g, e = got.reshape(-1), expected.reshape(-1)
    if atol or rtol:
        bad = ~np.isclose(g.astype(np.float64), e.astype(np.float64), atol=atol, rtol=rtol)
    else:
        bad = g != e
    idx = int(np.argmax(bad))
    where = np.unravel_index(idx, got.shape) if got.shape else ()
    return Msg(
        "first_difference",
        index=list(map(int, where)),
        got=repr(plain(g[idx])),
        expected=repr(plain(e[idx])),
        count=int(bad.sum()),
        size=bad.size,
    )


def compare_tensor(name, got, expected, *, atol: float = 0.0, rtol: float = 0.0) -> Msg | None:
    """None when equal (or allclose), else a message like ``labels: got shape [1, 8], expected [8]``."""
    if expected is None:
        return Msg("tensor_missing", name=name)
    if got is None:
        return Msg("tensor_missing", name=name)
    if got.shape != expected.shape:
        return Msg("tensor_shape", name=name, got=shape(got.shape), expected=shape(expected.shape))
    if atol or rtol:
        if got.dtype.kind not in "fiub" or not np.allclose(
            got.astype(np.float64), expected.astype(np.float64), atol=atol, rtol=rtol
        ):
            return Msg(
                "tensor_values", name=name, difference=first_difference(got, expected, atol, rtol)
            )
    elif not np.array_equal(got, expected):
        return Msg("tensor_values", name=name, difference=first_difference(got, expected))
    return None


def close(a, b, rel: float = 1e-4, abs_: float = 1e-6) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=abs_)
    except (TypeError, ValueError):
        return False


def as_number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail("not_a_number", what=what, value=value)
    return float(value)


def cuda_check(fn):
    """Mark a check that runs on CUDA: listed only with ``--device cuda``, skipped when CUDA is not there."""
    fn.cuda = True
    return fn
