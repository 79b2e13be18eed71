"""Checks: pytest tests that compare the submission's probe results with the reference's.

Each check is a plain test function with ``@points(n)``; titles and hints live in
``grader/hints.toml``.  The ``probes`` fixture comes from the grader's pytest plugin.
"""

from __future__ import annotations

import math

import numpy as np
import pytest


def points(value: float):
    """Declare how many points a check is worth (sets an attribute, nothing else)."""

    def mark(fn):
        fn.points = value
        return fn

    return mark


class CheckFailed(AssertionError):
    pass


def fail(message: str):
    pytest.fail(message, pytrace=False)


def expect(condition: bool, message: str) -> None:
    if not condition:
        fail(message)


def error_text(error: dict) -> str:
    if not isinstance(error, dict):
        return str(error)
    if error.get("kind") == "not_implemented":
        first = str(error.get("message", "")).split(". ")[0].replace("NotImplementedError: ", "")
        return f"not implemented yet: {first}"
    text = str(error.get("message", "error"))
    if error.get("where"):
        text += f" (at {error['where']})"
    return text


def section(data: dict, name: str, what: str):
    """``data[name]``, failing the check with the submission's error when that part raised."""
    value = data.get(name) if isinstance(data, dict) else None
    if isinstance(value, dict) and "error" in value and len(value) == 1:
        fail(f"{what} raised: {error_text(value['error'])}")
    if value is None:
        fail(f"{what}: no result")
    return value


def shape(value) -> str:
    return "[" + ", ".join(str(v) for v in value) + "]"


def first_difference(got: np.ndarray, expected: np.ndarray, atol: float = 0.0, rtol: float = 0.0) -> str:
    g, e = got.reshape(-1), expected.reshape(-1)
    if atol or rtol:
        bad = ~np.isclose(g.astype(np.float64), e.astype(np.float64), atol=atol, rtol=rtol)
    else:
        bad = g != e
    idx = int(np.argmax(bad))
    where = np.unravel_index(idx, got.shape) if got.shape else ()
    return (f"first difference at index {list(map(int, where))}: got {g[idx]!r}, expected {e[idx]!r} "
            f"({int(bad.sum())} of {bad.size} values differ)")


def compare_tensor(name: str, got, expected, *, atol: float = 0.0, rtol: float = 0.0) -> str | None:
    """None when equal (or allclose), else a message like ``labels: got shape [1, 8], expected [8]``."""
    if got is None:
        return f"{name}: missing"
    if got.shape != expected.shape:
        return f"{name}: got shape {shape(got.shape)}, expected {shape(expected.shape)}"
    if atol or rtol:
        if got.dtype.kind not in "fiub" or not np.allclose(got.astype(np.float64), expected.astype(np.float64),
                                                          atol=atol, rtol=rtol):
            return f"{name}: values differ, {first_difference(got, expected, atol, rtol)}"
    elif not np.array_equal(got, expected):
        return f"{name}: values differ, {first_difference(got, expected)}"
    return None


def close(a, b, rel: float = 1e-4, abs_: float = 1e-6) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=abs_)
    except (TypeError, ValueError):
        return False


def as_number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(f"{what} should return a number (a Python float); got {value!r:.120}")
    return float(value)
