"""A batch *slot*: a long-lived judge process (``python -m grader.batch.slot --slot``) that keeps one
:class:`~grader.judge.grade.Grader` (one worker zygote, the reference loaded once) and grades the
submissions its parent sends, one JSON line each way. Runs in the slot process; imports no torch."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import TypedDict


class Reply(TypedDict, total=False):
    """One line a slot answers on its reply channel (JSON); the parent reads them in
    :meth:`grader.batch.scheduler.Slot.read_messages`."""

    ready: bool  # the first line: the slot can grade (or ``error`` says why not)
    id: int | None  # the request answered
    ok: bool  # graded (``result``), or the grader failed on the submission (``error``; ``log`` when it wrote one)
    result: dict
    error: str
    log: str
    seconds: float
    garbled: bool  # set by the parent: a line that could not be read, a grader fault (see ``garbled_reply``)


def fault_reply(exc: BaseException) -> Reply:
    """The answer for a grading that raised: the grader's fault, with the log a :class:`GraderError` wrote."""
    from grader.judge.faults import GraderError

    reply = Reply(
        ok=False, error=f"the grader failed on this submission: {type(exc).__name__}: {exc}"
    )
    if isinstance(exc, GraderError):
        reply["log"] = str(exc.log)
    return reply


def garbled_reply(line: bytes, log: str) -> Reply:
    """What the parent makes of a reply line it cannot read: a grader fault for the submission in flight."""
    shown = line[:80].decode("utf-8", "replace")
    return Reply(
        garbled=True,
        ok=False,
        log=log,
        error="the grader failed on this submission: its grading process "
        f"answered a line that cannot be read ({shown!r})",
    )


def default_engine(options: dict) -> GraderEngine:
    """The grading engine of a slot: one :class:`grader.judge.grade.Grader` (one worker zygote) for every submission."""
    return GraderEngine(options)


class GraderEngine:
    """Adapts :class:`grader.judge.grade.Grader` to the slot: ``warm()`` once, ``grade(folder) -> dict`` many times."""

    def __init__(self, options: dict):
        from grader.judge.grade import Grader

        self.exercises = options.get("exercises") or None
        self.grader = Grader(
            lang=options["lang"],
            device=options["device"],
            sandbox=options["sandbox"],
            timeout=options["timeout"],
            memory_mb=options["memory_mb"],
            cache_dir=options.get("cache_dir"),
        )

    def warm(self) -> None:
        """Start the worker and load (or compute) the reference now, not on the first student's clock."""
        self.grader.warm()

    def grade(self, folder: str) -> dict:
        return self.grader.grade(folder, self.exercises).to_dict()

    def close(self) -> None:
        self.grader.close()


def _load_factory(spec: str) -> Callable:
    import importlib

    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def slot_main(reply_fd: int) -> int:
    """Serve grading requests (JSON lines on stdin) and answer on ``reply_fd``; first line: options."""
    reply = os.fdopen(reply_fd, "w", encoding="utf-8", buffering=1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a slot stops
    options = json.loads(sys.stdin.readline())
    try:
        engine = _load_factory(options["engine"])(options)
        warm = getattr(engine, "warm", None)
        if warm:
            warm()
    except BaseException as exc:  # noqa: BLE001 - tell the parent in words, not a traceback only
        import traceback

        traceback.print_exc()
        reply.write(json.dumps(Reply(ready=False, error=f"{type(exc).__name__}: {exc}")) + "\n")
        return 1
    reply.write(json.dumps(Reply(ready=True)) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        start = time.perf_counter()
        try:
            answer = Reply(ok=True, result=engine.grade(request["folder"]))
        except BaseException as exc:  # noqa: BLE001 - the grader's fault, told to the parent with its traceback logged
            import traceback

            traceback.print_exc()
            answer = fault_reply(exc)
        answer["id"], answer["seconds"] = request["id"], round(time.perf_counter() - start, 3)
        reply.write(json.dumps(answer, allow_nan=False, default=str) + "\n")
    engine.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m grader.batch.slot", description="internal: a batch grading slot"
    )
    parser.add_argument("--slot", action="store_true", required=True)
    parser.add_argument("--reply-fd", type=int, required=True)
    args = parser.parse_args(argv)
    return slot_main(args.reply_fd)


if __name__ == "__main__":
    sys.exit(main())
