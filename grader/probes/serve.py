"""The worker child's request loop, and the zygote's preload (every library and probe imported once,
before any fork and before the import guard is armed)."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from typing import Any

from grader.probes.context import Context
from grader.probes.errors import error_response
from grader.probes.plain import pack
from grader.probes.registry import PROBES, ProbeSpec
from grader.worker import protocol
from grader.worker.contract import Reply, encode


def preload() -> None:
    """Import everything a probe needs, before any fork and before the guard is armed."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if os.environ.get("GRADER_WORKER_CUDA"):
        # importing bitsandbytes (peft does) queries the GPU, which initialises CUDA in this process: every
        # child forked afterwards could not use CUDA. The grading never needs it.
        sys.modules.setdefault("bitsandbytes", None)  # type: ignore[arg-type]  # None: the import fails
    import numpy  # noqa: F401
    import peft  # noqa: F401
    import PIL.Image  # noqa: F401
    import safetensors.torch  # noqa: F401
    import torch  # noqa: F401
    import torch.utils.data  # noqa: F401
    import transformers  # noqa: F401
    from peft import LoraConfig, PeftModel, get_peft_model  # noqa: F401
    from transformers import BlipForQuestionAnswering, BlipProcessor  # noqa: F401

    import vqa.data  # noqa: F401
    import vqa.impl  # noqa: F401
    import vqa.tiny  # noqa: F401
    from grader.probes import (  # noqa: F401
        common,  # noqa: F401
        dataset,
        lora,
        predict,
        selftest,  # noqa: F401
        setup,
        train,
    )
    from grader.worker import guard  # noqa: F401


def serve(sock, config: dict) -> None:
    import torch

    torch.set_num_threads(1)
    ctx = Context(config)
    guard = None
    if config.get("guard"):
        from grader.worker.guard import ImportGuard

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
        spec = PROBES.get(request.get("probe", ""))
        if spec is None:
            send(
                sock,
                encode(
                    Reply(
                        ok=False, kind="internal", message=f"unknown probe {request.get('probe')!r}"
                    )
                ),
            )
            continue
        if guard is not None:
            guard.active = spec.exercise
        start = time.perf_counter()
        blob = b""
        try:
            result = spec.fn(ctx, **request.get("args", {}))
            data, tensors = result if isinstance(result, tuple) else (result, {})
            reply = Reply(ok=True, kind="ok", data=_encoded(spec, data))
            blob = pack(tensors)
        except (
            protocol.ProtocolError
        ) as exc:  # the probe's result is not what the contract says: the grader's bug
            blob = b""
            reply = Reply(ok=False, kind="internal", message=f"probe {spec.probe.name}: {exc}")
        except BaseException as exc:  # noqa: BLE001 - includes SystemExit and KeyboardInterrupt from student code
            blob = b""
            if guard is not None:
                guard.armed = False  # formatting the traceback reads the grader's own source
            reply = error_response(exc, ctx.folder)
            del exc
            if guard is not None:
                guard.armed = True
        violations = guard.take(spec.exercise) if guard is not None else []
        if guard is not None:
            guard.active = None
        reply = dataclasses.replace(
            reply, seconds=round(time.perf_counter() - start, 4), violations=violations
        )
        sys.stdout.flush()
        sys.stderr.flush()
        send(sock, encode(reply), blob)


def _encoded(spec: ProbeSpec, data: object) -> dict[str, Any]:
    """A probe's result as JSON data, after making sure it is the type the contract declares for the probe."""
    if not isinstance(data, spec.probe.result):
        raise protocol.ProtocolError(
            f"returned a {type(data).__name__}, not a {spec.probe.result.__name__}"
        )
    encoded: dict[str, Any] = encode(data)
    json.dumps(encoded)  # fail here, not half-way through a send
    return encoded
