"""Inside the worker: the probe registry, the context a probe sees, and the request loop.

A probe is ``fn(ctx, **args) -> dict | (dict, {name: tensor})``.  It runs one
implementation (the reference or the submission, the same code for both) on a
fixture and returns plain data.  Exceptions from the implementation become a
structured error; the judge decides what they cost.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grader import protocol
from vqa.course import is_stub_error

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


class LoadError(Exception):
    """The submission's module could not be loaded (missing file, syntax error, import error)."""


def preload() -> None:
    """Import everything a probe needs, before any fork and before the guard is armed."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if os.environ.get("GRADER_WORKER_CUDA"):
        # importing bitsandbytes (peft does) queries the GPU, which initialises CUDA in this process: every
        # child forked afterwards could not use CUDA. The grading never needs it.
        sys.modules.setdefault("bitsandbytes", None)
    import numpy  # noqa: F401
    import PIL.Image  # noqa: F401
    import safetensors.torch  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401
    from transformers import BlipForQuestionAnswering, BlipProcessor  # noqa: F401
    import peft  # noqa: F401
    from peft import LoraConfig, PeftModel, get_peft_model  # noqa: F401
    import torch.utils.data  # noqa: F401

    import vqa.data  # noqa: F401
    import vqa.impl  # noqa: F401
    import vqa.tiny  # noqa: F401

    from grader import guard  # noqa: F401
    from grader.probes import common  # noqa: F401
    from grader.probes import dataset, lora, predict, setup, train  # noqa: F401
    from grader.probes import selftest  # noqa: F401


# --------------------------------------------------------------------------- context


class Context:
    """What a probe sees: which implementation, where the fixtures are, a fresh folder."""

    def __init__(self, config: dict):
        self.role: str = config["role"]
        self.folder = Path(config["folder"])
        self.artifacts = Path(config["artifacts"])
        self.scratch = Path(config["scratch"])
        self.device_name: str = config.get("device", "cpu")
        self._modules: dict[str, Any] = {}
        self._counter = 0

    @property
    def device(self):
        import torch

        return torch.device(self.device_name)

    def impl(self, exercise: str):
        """The implementation's module for ``exercise`` (loaded once, under a private name)."""
        if exercise in self._modules:
            module = self._modules[exercise]
            if isinstance(module, LoadError):
                raise module
            return module
        try:
            module = load_exercise(self.folder, exercise)
        except LoadError as exc:
            self._modules[exercise] = exc
            raise
        self._modules[exercise] = module
        return module

    def fresh_dir(self, stem: str) -> Path:
        self._counter += 1
        path = self.scratch / f"{stem}-{self._counter}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @staticmethod
    def seed(value: int = 0) -> None:
        import numpy as np
        import torch

        random.seed(value)
        np.random.seed(value)
        torch.manual_seed(value)


def load_exercise(folder: Path, exercise: str):
    from vqa import impl

    try:
        return impl.load_exercise(folder, exercise)
    except impl.ImplementationError as exc:
        raise LoadError(str(exc)) from None
    except BaseException as exc:  # noqa: BLE001 - module-level code of the submission
        if isinstance(exc, (KeyboardInterrupt,)):
            raise
        raise LoadError(_format_exception(exc, folder)["message"]) from exc


# --------------------------------------------------------------------------- plain data


def to_plain(value: Any, depth: int = 0) -> Any:
    """JSON-safe description of any value an implementation returned."""
    import torch

    if depth > 6:
        return repr(value)[:200]
    if value is None or isinstance(value, (bool, int, str)):
        return value if not isinstance(value, str) else value[:2000]
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, torch.Tensor):
        if value.numel() == 1:
            return to_plain(value.detach().cpu().item(), depth + 1)
        return {"tensor": list(value.shape), "dtype": str(value.dtype).replace("torch.", "")}
    if isinstance(value, dict):
        return {str(k)[:200]: to_plain(v, depth + 1) for k, v in list(value.items())[:200]}
    if isinstance(value, (list, tuple)):
        return [to_plain(v, depth + 1) for v in list(value)[:500]]
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return to_plain(value.item(), depth + 1)
    except Exception:  # noqa: BLE001
        pass
    return {"repr": repr(value)[:200], "type": type(value).__name__}


def _pack(tensors: dict) -> bytes:
    import torch
    from safetensors.torch import save

    if not tensors:
        return b""
    clean = {}
    for name, tensor in tensors.items():
        t = tensor.detach().cpu()
        if t.dtype in (torch.bfloat16, torch.float16):
            t = t.float()
        clean[name] = t.contiguous().clone()
    return save(clean)


# --------------------------------------------------------------------------- errors


def _format_exception(exc: BaseException, folder: Path | None) -> dict:
    # no source lookup: reading the grader's own files would trip the import guard
    tb = traceback.StackSummary.extract(traceback.walk_tb(exc.__traceback__), lookup_lines=False)
    where = None
    folder_real = os.path.realpath(folder) if folder else None
    for frame in reversed(tb):
        if folder_real and os.path.realpath(frame.filename).startswith(folder_real + os.sep):
            where = f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
            break
    if where is None and tb:
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


class ProbeError(TypeError):
    """A probe's own complaint about what the implementation returned, with its message as data."""

    def __init__(self, key: str, text: str, **fields):
        super().__init__(text)
        self.msg = {"key": key, "fields": fields}


def _error_response(exc: BaseException, ctx: Context) -> dict:
    if isinstance(exc, LoadError):
        return {"ok": False, "kind": "load_error", "type": "LoadError", "message": str(exc)[:2000], "where": None}
    info = _format_exception(exc, ctx.folder)
    kind = "error"
    if is_stub_error(exc):
        kind = "not_implemented"
    elif isinstance(exc, MemoryError):
        kind = "memory"
    elif isinstance(exc, SystemExit):
        kind = "exit"
    return {"ok": False, "kind": kind, **info}


# --------------------------------------------------------------------------- loop


def serve(sock, config: dict) -> None:
    import torch

    torch.set_num_threads(1)
    ctx = Context(config)
    guard = None
    if config.get("guard"):
        from grader.guard import ImportGuard

        guard = ImportGuard(config["guard"]["blocked_dirs"], config["guard"]["allowed_dirs"])
        guard.arm()
    send, recv = protocol.send, protocol.recv
    while True:
        try:
            request, _blob = recv(sock)
        except protocol.ChannelClosed:
            return
        op = request.get("op")
        if op == "bye":
            send(sock, {"ok": True})
            return
        if op == "ping":
            send(sock, {"ok": True, "pid": os.getpid()})
            continue
        spec = PROBES.get(request.get("probe", ""))
        if spec is None:
            send(sock, {"ok": False, "kind": "internal", "message": f"unknown probe {request.get('probe')!r}"})
            continue
        if guard is not None:
            guard.active = spec.exercise
        start = time.perf_counter()
        blob = b""
        try:
            result = spec.fn(ctx, **request.get("args", {}))
            data, tensors = result if isinstance(result, tuple) else (result, {})
            blob = _pack(tensors)
            response = {"ok": True, "data": data}
            json.dumps(response)  # fail here, not half-way through a send
        except BaseException as exc:  # noqa: BLE001 - includes SystemExit and KeyboardInterrupt from student code
            blob = b""
            if guard is not None:
                guard.armed = False  # formatting the traceback reads the grader's own source
            response = _error_response(exc, ctx)
            exc = None
            if guard is not None:
                guard.armed = True
        response["seconds"] = round(time.perf_counter() - start, 4)
        if guard is not None:
            response["violations"] = guard.take(spec.exercise)
            guard.active = None
        sys.stdout.flush()
        sys.stderr.flush()
        send(sock, response, blob)
