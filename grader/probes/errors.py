"""What went wrong in an implementation, as plain data for the judge: where, what, and the message key."""

from __future__ import annotations

import os
import traceback
from pathlib import Path

from vqa.course import is_stub_error


class LoadError(Exception):
    """The submission's module could not be loaded (missing file, syntax error, import error)."""


class ProbeError(TypeError):
    """A probe's own complaint about what the implementation returned, with its message as data."""

    def __init__(self, key: str, text: str, **fields):
        super().__init__(text)
        self.msg = {"key": key, "fields": fields}


def format_exception(exc: BaseException, folder: Path | None) -> dict:
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
        msg = {"key": "sys_exit", "fields": {"code": repr(exc.code)[:200]}}
    elif isinstance(exc, MemoryError):
        message = "ran out of memory (MemoryError): the worker's memory limit was reached"
        msg = {"key": "memory_error", "fields": {}}
    else:
        text = str(exc).strip().splitlines()
        message = f"{type(exc).__name__}: {text[0][:500] if text else ''}".rstrip(": ")
        if type(exc) is ProbeError:
            message = f"TypeError: {exc.args[0][:500]}"
            msg = {"key": "type_error", "fields": {"text": exc.msg}}
    info = {"type": type(exc).__name__ if type(exc) is not ProbeError else "TypeError", "message": message,
            "where": where}
    if msg is not None:
        info["msg"] = msg
    return info


def error_response(exc: BaseException, folder: Path | None) -> dict:
    if isinstance(exc, LoadError):
        return {"ok": False, "kind": "load_error", "type": "LoadError", "message": str(exc)[:2000], "where": None}
    info = format_exception(exc, folder)
    kind = "error"
    if is_stub_error(exc):
        kind = "not_implemented"
    elif isinstance(exc, MemoryError):
        kind = "memory"
    elif isinstance(exc, SystemExit):
        kind = "exit"
    return {"ok": False, "kind": kind, **info}
