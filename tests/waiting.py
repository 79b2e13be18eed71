"""Waiting for an event in a test: a predicate polled until it holds. The bound only keeps a broken run from
hanging the suite; no outcome depends on how fast the machine is."""

from __future__ import annotations

import time
from collections.abc import Callable

HANG_GUARD = 300.0  # seconds: far beyond any healthy wait here


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = HANG_GUARD) -> None:
    """Return as soon as ``predicate()`` holds; fail naming ``what`` if it never does within the hang guard."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"waited {timeout:g} s for {what}")
        time.sleep(0.02)
