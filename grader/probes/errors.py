"""What went wrong in an implementation, as the contract's data for the judge: where, what, and the message."""

from __future__ import annotations

import os
import traceback
from pathlib import Path

from grader.worker.contract import CallKind, LearnerError, MessageData, MessageField, Reply
from vqa.course import is_stub_error


class LoadError(Exception):
    """The submission's module could not be loaded (missing file, syntax error, import error)."""


class ProbeError(TypeError):
    """A probe's own complaint about what the implementation returned, with its message as data."""

    def __init__(self, key: str, text: str, **fields: MessageField):
        super().__init__(text)
        self.msg = MessageData(key, fields)


def format_exception(exc: BaseException, folder: Path | None) -> LearnerError:
    """``exc`` described: a stub's NotImplementedError or another error, its type, first line and the learner's
    line it was raised from (else the last frame)."""
    # no source lookup: reading the grader's own files would trip the import guard
    tb = traceback.StackSummary.extract(traceback.walk_tb(exc.__traceback__), lookup_lines=False)
    where = None  # the learner's own line; none when no frame of theirs raised (a probe's complaint, say)
    folder_real = os.path.realpath(folder) if folder else None
    for frame in reversed(tb):
        if folder_real and os.path.realpath(frame.filename).startswith(folder_real + os.sep):
            where = f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
            break
    if where is None and tb and folder is None:
        frame = tb[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
    msg = None  # the message as data, for the judge to show in the learner's language
    if isinstance(exc, SystemExit):
        message = f"the code called sys.exit({exc.code!r})"
        msg = MessageData("sys_exit", {"code": repr(exc.code)[:200]})
    elif isinstance(exc, MemoryError):
        message = "ran out of memory (MemoryError): the worker's memory limit was reached"
        msg = MessageData("memory_error")
    else:
        text = str(exc).strip().splitlines()
        message = f"{type(exc).__name__}: {text[0][:500] if text else ''}".rstrip(": ")
        if type(exc) is ProbeError:
            message = f"TypeError: {exc.args[0][:500]}"
            msg = MessageData("type_error", {"text": exc.msg})
    return LearnerError(
        kind="not_implemented" if is_stub_error(exc) else "error",
        type=type(exc).__name__ if type(exc) is not ProbeError else "TypeError",
        message=message,
        where=where,
        msg=msg,
    )


def error_response(exc: BaseException, folder: Path | None) -> Reply:
    """The reply to a probe call that raised ``exc`` (the learner's code, or its module failing to load)."""
    if isinstance(exc, LoadError):
        return Reply(ok=False, kind="load_error", message=str(exc)[:2000])
    error = format_exception(exc, folder)
    kind: CallKind
    if isinstance(exc, MemoryError):
        kind = "memory"
    elif isinstance(exc, SystemExit):
        kind = "exit"
    else:
        kind = error.kind
    return Reply(ok=False, kind=kind, message=error.message, where=error.where, msg=error.msg)
